/**
 * The sign and encrypt stages. Each stage hands the next a distinct type, so
 * a message that was to be signed can't reach delivery unsigned without a
 * type error: a signed or encrypted entity carries a brand that only
 * {@link signEntity} and {@link encryptEntity} put on it, so an object
 * literal can't claim to be one.
 *
 * @module
 */
import { encrypt, sign } from "../cms/mod.ts";
import type {
  CipherName,
  DigestName,
  EncryptOptions,
  EncryptRecipient,
  RsaSignaturePadding,
  SigningIdentity,
} from "../cms/types.ts";
import type { HeaderField } from "../message/mod.ts";
import { concatBytes, serializeHeaders } from "../message/mod.ts";
import { multipartSignedEntity, pkcs7MimeEntity } from "./entity.ts";

/** A canonical MIME entity that nothing has sealed: the input to signing. */
export interface PlainEntity {
  readonly stage: "plain";
  /** Content headers + CRLF + body, canonical (RFC 8551 3.1). */
  readonly entity: Uint8Array;
}

declare const sealedBrand: unique symbol;

/** A signed MIME entity: opaque application/pkcs7-mime or multipart/signed. */
export interface SignedEntity {
  readonly stage: "signed";
  readonly entity: Uint8Array;
  readonly detached: boolean;
  readonly digest: DigestName;
  /** Type-only: made by signEntity() alone. */
  readonly [sealedBrand]: "signed";
}

/** An encrypted MIME entity; `signed` tells whether a signature is inside. */
export interface EncryptedEntity {
  readonly stage: "encrypted";
  readonly entity: Uint8Array;
  readonly signed: boolean;
  readonly cipher: CipherName;
  /** Type-only: made by encryptEntity() alone. */
  readonly [sealedBrand]: "encrypted";
}

/** What may leave the tool. */
export type SealedEntity = PlainEntity | SignedEntity | EncryptedEntity;

/** Options of the sign stage. */
export interface SignStageOptions {
  detached: boolean;
  digest?: DigestName;
  rsaPadding?: RsaSignaturePadding;
}

/**
 * Signs a canonical entity: opaque (the default, survives relays that rewrite
 * bodies) or detached as multipart/signed (readable without S/MIME).
 */
export async function signEntity(
  plain: PlainEntity,
  signer: SigningIdentity,
  options: SignStageOptions,
): Promise<SignedEntity> {
  const digest = options.digest ?? "SHA-256";
  const der = await sign(plain.entity, signer, {
    detached: options.detached,
    digest,
    rsaPadding: options.rsaPadding,
  });
  const entity = options.detached
    ? multipartSignedEntity(plain.entity, der, digest)
    : pkcs7MimeEntity(der, "signed-data");
  return { stage: "signed", entity, detached: options.detached, digest } as SignedEntity;
}

/**
 * Encrypts an entity, signed or not, to the given DER certificates (each
 * alone or with its own RSA key transport).
 */
export async function encryptEntity(
  inner: PlainEntity | SignedEntity,
  recipients: (Uint8Array | EncryptRecipient)[],
  options: EncryptOptions,
): Promise<EncryptedEntity> {
  const cipher = options.cipher ?? "aes-256-cbc";
  const { der, kind } = await encrypt(inner.entity, recipients, { ...options, cipher });
  return {
    stage: "encrypted",
    entity: pkcs7MimeEntity(der, kind),
    signed: inner.stage === "signed",
    cipher,
  } as EncryptedEntity;
}

const MIME_VERSION = new TextEncoder().encode("MIME-Version: 1.0\r\n");

/**
 * The bytes of a finished message: the outer header fields (which never
 * contain Bcc), MIME-Version, then the sealed entity. CRLF throughout.
 */
export function messageBytes(outer: readonly HeaderField[], sealed: SealedEntity): Uint8Array {
  return concatBytes([serializeHeaders([...outer]), MIME_VERSION, sealed.entity]);
}
