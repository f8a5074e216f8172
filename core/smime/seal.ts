/**
 * The sign and encrypt stages. Each stage hands the next a distinct type, so
 * a message that was to be signed can't reach delivery unsigned without a
 * type error: a signed or encrypted entity carries a brand that only
 * {@link signEntity} and {@link encryptEntity} put on it, so an object
 * literal can't claim to be one.
 *
 * @module
 */
import { bytesEqual, type ByteSource, concatBytes, joinSource, prefixSource } from "../bytes.ts";
import { envelope } from "../cms/encrypt.ts";
import { signedData } from "../cms/sign.ts";
import type {
  CipherName,
  DigestName,
  EncryptOptions,
  EncryptRecipient,
  RsaSignaturePadding,
  SigningIdentity,
} from "../cms/types.ts";
import type { HeaderField } from "../message/mod.ts";
import { base64Length, describeUnsafeBytes, serializeHeaders } from "../message/mod.ts";
import { SmimeError } from "../errors.ts";
import { type Der, sizeOf } from "../cms/der.ts";
import {
  multipartSignedEntity,
  multipartSignedSource,
  pkcs7MimeEntity,
  pkcs7MimeSource,
} from "./entity.ts";

/** A canonical MIME entity that nothing has sealed: the input to signing. */
export interface PlainEntity {
  readonly stage: "plain";
  /** Content headers + CRLF + body, canonical (RFC 8551 3.1). */
  readonly entity: Uint8Array;
  /**
   * The same bytes made piece by piece: for an entity over
   * {@link STREAM_ABOVE}, an opaque signature and encryption read them
   * through, so it need never be built.
   */
  readonly source?: ByteSource;
}

declare const sealedBrand: unique symbol;

/** A signed MIME entity: opaque application/pkcs7-mime or multipart/signed. */
export interface SignedEntity {
  readonly stage: "signed";
  /** The entity; a large one is built on first read. */
  readonly entity: Uint8Array;
  readonly detached: boolean;
  readonly digest: DigestName;
  /**
   * The same bytes made piece by piece, for a large entity (over
   * {@link STREAM_ABOVE}): encryption, or delivery when it is the last
   * stage, reads them through without building the entity.
   */
  readonly source?: ByteSource;
  /** Type-only: made by signEntity() alone. */
  readonly [sealedBrand]: "signed";
}

/** An encrypted MIME entity; `signed` tells whether a signature is inside. */
export interface EncryptedEntity {
  readonly stage: "encrypted";
  /** The entity; a large one is built on first read. */
  readonly entity: Uint8Array;
  /**
   * The same bytes made piece by piece, for a large entity (over
   * {@link STREAM_ABOVE}): delivery reads them through (the AES-CBC and the
   * base64 are made again as they are read), so the sealed message is
   * never built whole.
   */
  readonly source?: ByteSource;
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
  /** The message's file name or "<stdin>", for a refusal. */
  source?: string;
}

/**
 * Entities larger than this are read through as pieces (`source`) between
 * the stages rather than built whole; smaller ones are built, which costs
 * less CPU than streaming them (a 19 KB message is the common case).
 */
export const STREAM_ABOVE = 1 << 20;

/**
 * Entities built behind the head of their message in one buffer (see the
 * `head` parameters below), with that head: {@link messageBytes} then hands
 * out the buffer instead of copying a 95 MB entity into a new one.
 */
const framed = new WeakMap<Uint8Array, Uint8Array>();

/** Builds an entity behind `head` in one buffer and remembers it; returns the entity. */
function frame(whole: Uint8Array, head: Uint8Array | undefined): Uint8Array {
  if (!head) return whole;
  const entity = whole.subarray(head.length);
  framed.set(entity, head);
  return entity;
}

/**
 * Signs a canonical entity: opaque (the default, survives relays that rewrite
 * bodies) or detached as multipart/signed (readable without S/MIME).
 *
 * @param head the message head ({@link messageHead}) when this entity is the
 *   last stage: a small entity is built behind it, so the message costs no
 *   extra copy. A large one (over {@link STREAM_ABOVE}), last stage or
 *   not, comes with a `source` and is built only if `entity` is read.
 * @throws {SmimeError} E_MESSAGE when detached and the entity is not 7bit
 *   data (a byte over 127, a NUL, a line over 998 octets)
 */
export async function signEntity(
  plain: PlainEntity,
  signer: SigningIdentity,
  options: SignStageOptions,
  head?: Uint8Array,
): Promise<SignedEntity> {
  const digest = options.digest ?? "SHA-256";
  if (options.detached) assertSevenBit(plain.entity, options.source ?? "message");
  const isLarge = (plain.source ? plain.source.size : plain.entity.length) > STREAM_ABOVE;
  // Opaque: a large content goes into the SignedData read through from its
  // source. Detached: it goes into the entity as it is, so it is built.
  const content = isLarge && !options.detached ? plain.source ?? plain.entity : plain.entity;
  const der = await signedData(content, signer, {
    detached: options.detached,
    digest,
    rsaPadding: options.rsaPadding,
  });
  if (isLarge) {
    const source = options.detached
      ? multipartSignedSource(plain.entity, der, digest)
      : pkcs7MimeSource(der, "signed-data");
    return builtWhenRead({ stage: "signed", detached: options.detached, digest }, source) as
      & SignedEntity
      & { source: ByteSource };
  }
  const entity = frame(
    options.detached
      ? multipartSignedEntity(plain.entity, der, digest, head)
      : pkcs7MimeEntity(der, "signed-data", head),
    head,
  );
  return { stage: "signed", entity, detached: options.detached, digest } as SignedEntity;
}

/**
 * multipart/signed carries the signed entity as it is (RFC 8551 3.1.2): a
 * relay that downgrades 8bit or wraps a line over 998 octets changes it and
 * the signature breaks. The canonical form makes it 7-bit; this is the last
 * check before a signature is made over it.
 */
function assertSevenBit(entity: Uint8Array, source: string): void {
  const fault = describeUnsafeBytes(entity);
  if (fault === undefined) return;
  throw new SmimeError(
    "E_MESSAGE",
    `${source}: cannot sign detached (multipart/signed): the signed part has ${fault}, ` +
      `which a relay may change`,
  );
}

/**
 * Encrypts an entity, signed or not, to the given DER certificates (each
 * alone or with its own RSA key transport).
 *
 * @param head the message head ({@link messageHead}): a small entity is
 *   built behind it, so the message costs no extra copy; a large one (over
 *   {@link STREAM_ABOVE}) comes with a `source` and is built only if
 *   `entity` is read
 */
export async function encryptEntity(
  inner: PlainEntity | SignedEntity,
  recipients: (Uint8Array | EncryptRecipient)[],
  options: EncryptOptions,
  head?: Uint8Array,
): Promise<EncryptedEntity> {
  const cipher = options.cipher ?? "aes-256-cbc";
  const content = inner.source && inner.source.size > STREAM_ABOVE ? inner.source : inner.entity;
  const { der, kind } = await envelope(content, recipients, { ...options, cipher });
  const signed = inner.stage === "signed";
  if (isLargeDer(der)) {
    return builtWhenRead({ stage: "encrypted", signed, cipher }, pkcs7MimeSource(der, kind)) as
      & EncryptedEntity
      & { source: ByteSource };
  }
  return {
    stage: "encrypted",
    entity: frame(pkcs7MimeEntity(der, kind, head), head),
    signed,
    cipher,
  } as EncryptedEntity;
}

/** True when the base64 of `der` alone is over {@link STREAM_ABOVE}: its entity is streamed. */
function isLargeDer(der: Der): boolean {
  return base64Length(sizeOf(der)) > STREAM_ABOVE;
}

/** `fields` with `source`, and an `entity` that builds it (once) only when read. */
function builtWhenRead<F extends object>(
  fields: F,
  source: ByteSource,
): F & { readonly entity: Uint8Array; readonly source: ByteSource } {
  let built: Uint8Array | undefined;
  return Object.defineProperty({ ...fields, source }, "entity", {
    get: () => built ??= joinSource(source),
    enumerable: true,
  }) as F & { readonly entity: Uint8Array; readonly source: ByteSource };
}

const MIME_VERSION = new TextEncoder().encode("MIME-Version: 1.0\r\n");

/** What comes before the sealed entity: the outer header fields, then MIME-Version. */
export function messageHead(outer: readonly HeaderField[]): Uint8Array {
  return concatBytes([serializeHeaders([...outer]), MIME_VERSION]);
}

/**
 * The bytes of a finished message: the outer header fields (which never
 * contain Bcc), MIME-Version, then the sealed entity. CRLF throughout.
 * An entity that was built behind this very head is handed out in place.
 */
export function messageBytes(outer: readonly HeaderField[], sealed: SealedEntity): Uint8Array {
  return messageBytesAfter(messageHead(outer), sealed);
}

/**
 * The finished message piece by piece, when its entity is streamed (a large
 * one comes with a `source`): the head, then the entity's pieces. Undefined
 * for an entity held whole: {@link messageBytesAfter} gives that message.
 */
export function messageSource(head: Uint8Array, sealed: SealedEntity): ByteSource | undefined {
  if (sealed.stage === "plain" || !sealed.source) return undefined;
  return prefixSource(head, sealed.source);
}

/** {@link messageBytes} with the head already made ({@link messageHead}). */
export function messageBytesAfter(head: Uint8Array, sealed: SealedEntity): Uint8Array {
  const entity = sealed.entity;
  const builtBehind = framed.get(entity);
  if (builtBehind && entity.byteOffset >= head.length && bytesEqual(builtBehind, head)) {
    return new Uint8Array(
      entity.buffer,
      entity.byteOffset - head.length,
      head.length + entity.length,
    );
  }
  return concatBytes([head, entity]);
}
