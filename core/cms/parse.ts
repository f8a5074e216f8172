/**
 * Readers for the CMS structures smimepost consumes: ContentInfo,
 * SignedData and SignerInfo (RFC 5652 5), EnvelopedData and RecipientInfo
 * (RFC 5652 6), AuthEnvelopedData (RFC 5083 2.1). They only take the
 * structure apart; verify, decrypt and inspect give it meaning.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import {
  AsnError,
  childrenOf,
  DerReader,
  parseTlv,
  readOctets,
  readOid,
  readSmallInt,
  Tag,
  type Tlv,
} from "./der.ts";
import { readIssuerSerial } from "./certificate.ts";
import { Oid } from "./oids.ts";
import type { CmsKind } from "./types.ts";

/**
 * Runs `read`, turning malformed ASN.1 into one-line E_CMS errors.
 * @throws SmimeError E_CMS
 */
export function readCms<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof AsnError) {
      throw new SmimeError("E_CMS", `Cannot read ${what}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

const kindByOid: Record<string, CmsKind> = {
  [Oid.signedData]: "signed-data",
  [Oid.envelopedData]: "enveloped-data",
  [Oid.authEnvelopedData]: "auth-enveloped-data",
};

/**
 * The kind and content of a ContentInfo (RFC 5652 3).
 * @throws AsnError when malformed, SmimeError E_UNSUPPORTED for other kinds
 */
export function readContentInfo(der: Uint8Array): { kind: CmsKind; content: Tlv } {
  const r = new DerReader(parseTlv(der));
  const type = readOid(r.next(Tag.oid, "contentType"));
  const kind = kindByOid[type];
  if (!kind) {
    throw new SmimeError("E_UNSUPPORTED", `Cannot read CMS: unsupported content type ${type}`);
  }
  const content = new DerReader(r.next(0xa0, "content")).next(Tag.sequence, "content");
  return { kind, content };
}

/** A SignerIdentifier or RecipientIdentifier: issuer and serial, or SKI. */
export type CmsIdentifier =
  | { issuer: Tlv; serial: Uint8Array; subjectKeyIdentifier?: undefined }
  | { subjectKeyIdentifier: Uint8Array; issuer?: undefined; serial?: undefined };

/** One SignerInfo, taken apart (RFC 5652 5.3). */
export interface SignerInfoParts {
  sid: CmsIdentifier;
  digestAlgorithm: Tlv;
  /** The [0] IMPLICIT signedAttrs element, as encoded. */
  signedAttrs?: Tlv;
  signatureAlgorithm: Tlv;
  signature: Uint8Array;
}

/** A SignedData, taken apart (RFC 5652 5.1). */
export interface SignedDataParts {
  digestAlgorithms: Tlv[];
  eContentType: string;
  /** Absent when detached. */
  eContent?: Uint8Array;
  /** The certificates of the CertificateChoices that are plain X.509. */
  certificates: Uint8Array[];
  signerInfos: SignerInfoParts[];
}

/** SignerInfos read from one SignedData; real mail has one, rarely two or three. */
export const MAX_SIGNERS = 64;

/** Takes a SignedData SEQUENCE apart. */
export function readSignedData(tlv: Tlv): SignedDataParts {
  const r = new DerReader(tlv);
  readSmallInt(r.next(Tag.integer, "version"));
  const digestAlgorithms = childrenOf(r.next(Tag.set, "digestAlgorithms"));
  const encap = r.enter(Tag.sequence, "encapContentInfo");
  const eContentType = readOid(encap.next(Tag.oid, "eContentType"));
  const wrapped = encap.optional(0xa0);
  const eContent = wrapped ? readOctetString(new DerReader(wrapped).next()) : undefined;
  const certSet = r.optional(0xa0);
  // Other CertificateChoices (attribute certificates, other) are skipped.
  const certificates = certSet
    ? childrenOf(certSet).filter((c) => c.tag === Tag.sequence).map((c) => c.raw)
    : [];
  r.optional(0xa1); // crls
  const infos = childrenOf(r.next(Tag.set, "signerInfos"));
  if (infos.length > MAX_SIGNERS) {
    throw new AsnError(`${infos.length} SignerInfos (at most ${MAX_SIGNERS} are read)`);
  }
  const signerInfos = infos.map(readSignerInfo);
  return { digestAlgorithms, eContentType, eContent, certificates, signerInfos };
}

/**
 * The encapsulated content of a SignedData SEQUENCE, or undefined when
 * detached, read without touching certificates or SignerInfos (so without
 * verifying anything: for `decrypt`, which prints the inner entity only).
 */
export function readEncapsulatedContent(tlv: Tlv): Uint8Array | undefined {
  const r = new DerReader(tlv);
  readSmallInt(r.next(Tag.integer, "version"));
  r.next(Tag.set, "digestAlgorithms");
  const encap = r.enter(Tag.sequence, "encapContentInfo");
  readOid(encap.next(Tag.oid, "eContentType"));
  const wrapped = encap.optional(0xa0);
  return wrapped ? readOctetString(new DerReader(wrapped).next()) : undefined;
}

/** OCTET STRING content, primitive or constructed. */
function readOctetString(tlv: Tlv): Uint8Array {
  if ((tlv.tag & 0xdf) !== Tag.octetString) throw new AsnError("expected an OCTET STRING");
  return readOctets(tlv);
}

function readIdentifier(tlv: Tlv): CmsIdentifier {
  if (tlv.tag === Tag.sequence) return readIssuerSerial(tlv);
  // subjectKeyIdentifier [0] IMPLICIT OCTET STRING (RFC 5652 5.3, 6.2.1)
  if ((tlv.tag & 0xdf) === 0x80) return { subjectKeyIdentifier: readOctets(tlv) };
  throw new AsnError(`unknown identifier choice (tag 0x${tlv.tag.toString(16)})`);
}

function readSignerInfo(tlv: Tlv): SignerInfoParts {
  const r = new DerReader(tlv);
  readSmallInt(r.next(Tag.integer, "SignerInfo version"));
  const sid = readIdentifier(r.next(undefined, "sid"));
  const digestAlgorithm = r.next(Tag.sequence, "digestAlgorithm");
  const signedAttrs = r.optional(0xa0);
  const signatureAlgorithm = r.next(Tag.sequence, "signatureAlgorithm");
  const signature = readOctetString(r.next(undefined, "signature"));
  return { sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature };
}

/** One attribute of a SET OF Attribute: type and its values. */
export function readAttributes(set: Tlv): { type: string; values: Tlv[] }[] {
  return childrenOf(set).map((attr) => {
    const r = new DerReader(attr);
    const type = readOid(r.next(Tag.oid, "attribute type"));
    return { type, values: childrenOf(r.next(Tag.set, "attribute values")) };
  });
}

/** An AlgorithmIdentifier: its OID and its parameters, if any. */
export function readAlgorithm(tlv: Tlv): { oid: string; params?: Tlv } {
  const r = new DerReader(tlv);
  const oid = readOid(r.next(Tag.oid, "algorithm"));
  const params = r.done ? undefined : r.next();
  return { oid, params: params && params.tag !== Tag.null ? params : undefined };
}

/** A KeyTransRecipientInfo (RFC 5652 6.2.1). */
export interface KeyTransRecipient {
  type: "ktri";
  rid: CmsIdentifier;
  keyEncryptionAlgorithm: Tlv;
  encryptedKey: Uint8Array;
}

/** A KeyAgreeRecipientInfo (RFC 5652 6.2.2) with an ephemeral originator key. */
export interface KeyAgreeRecipient {
  type: "kari";
  /** OriginatorPublicKey: algorithm and the public key bits; absent for static keys. */
  originatorKey?: { algorithm: Tlv; publicKey: Uint8Array };
  ukm?: Uint8Array;
  keyEncryptionAlgorithm: Tlv;
  recipients: { rid: CmsIdentifier; encryptedKey: Uint8Array }[];
}

/** Any RecipientInfo: the two we handle, or the tag of another choice. */
export type RecipientParts = KeyTransRecipient | KeyAgreeRecipient | { type: "other"; tag: number };

function readRecipientInfo(tlv: Tlv): RecipientParts {
  if (tlv.tag === Tag.sequence) {
    const r = new DerReader(tlv);
    readSmallInt(r.next(Tag.integer, "KeyTransRecipientInfo version"));
    const rid = readIdentifier(r.next(undefined, "rid"));
    const keyEncryptionAlgorithm = r.next(Tag.sequence, "keyEncryptionAlgorithm");
    const encryptedKey = readOctetString(r.next(undefined, "encryptedKey"));
    return { type: "ktri", rid, keyEncryptionAlgorithm, encryptedKey };
  }
  if (tlv.tag !== 0xa1) return { type: "other", tag: tlv.tag };
  const r = new DerReader(tlv);
  readSmallInt(r.next(Tag.integer, "KeyAgreeRecipientInfo version"));
  const originator = new DerReader(r.next(0xa0, "originator")).next(undefined, "originator");
  let originatorKey: KeyAgreeRecipient["originatorKey"];
  if (originator.tag === 0xa1) {
    const o = new DerReader(originator);
    const algorithm = o.next(Tag.sequence, "originatorKey algorithm");
    const bits = o.next(Tag.bitString, "originatorKey publicKey");
    if (bits.value[0] !== 0) throw new AsnError("originator key has unused bits");
    originatorKey = { algorithm, publicKey: bits.value.subarray(1) };
  }
  const ukmTlv = r.optional(0xa1);
  const ukm = ukmTlv ? readOctetString(new DerReader(ukmTlv).next()) : undefined;
  const keyEncryptionAlgorithm = r.next(Tag.sequence, "keyEncryptionAlgorithm");
  const recipients = childrenOf(r.next(Tag.sequence, "recipientEncryptedKeys")).map((rek) => {
    const k = new DerReader(rek);
    const id = k.next(undefined, "rid");
    // rKeyId [0] IMPLICIT RecipientKeyIdentifier { subjectKeyIdentifier, ... }
    const rid: CmsIdentifier = id.tag === 0xa0
      ? { subjectKeyIdentifier: readOctets(new DerReader(id).next(Tag.octetString, "rKeyId")) }
      : readIssuerSerial(id);
    return { rid, encryptedKey: readOctetString(k.next(undefined, "encryptedKey")) };
  });
  return { type: "kari", originatorKey, ukm, keyEncryptionAlgorithm, recipients };
}

/** EnvelopedData (RFC 5652 6.1) or AuthEnvelopedData (RFC 5083 2.1), taken apart. */
export interface EnvelopeParts {
  recipientInfos: RecipientParts[];
  contentEncryptionAlgorithm: Tlv;
  /** Absent when the content was detached. */
  encryptedContent?: Uint8Array;
  /** AuthEnvelopedData only: the [1] authAttrs element and the MAC. */
  authAttrs?: Tlv;
  mac?: Uint8Array;
}

/** Takes an EnvelopedData or AuthEnvelopedData SEQUENCE apart. */
export function readEnvelope(tlv: Tlv, kind: CmsKind): EnvelopeParts {
  const r = new DerReader(tlv);
  readSmallInt(r.next(Tag.integer, "version"));
  r.optional(0xa0); // originatorInfo
  const recipientInfos = childrenOf(r.next(Tag.set, "recipientInfos")).map(readRecipientInfo);
  const eci = r.enter(Tag.sequence, "encryptedContentInfo");
  readOid(eci.next(Tag.oid, "contentType"));
  const contentEncryptionAlgorithm = eci.next(Tag.sequence, "contentEncryptionAlgorithm");
  const ec = eci.done ? undefined : eci.next();
  if (ec && (ec.tag & 0xdf) !== 0x80) throw new AsnError("bad encryptedContent tag");
  const parts: EnvelopeParts = {
    recipientInfos,
    contentEncryptionAlgorithm,
    encryptedContent: ec ? readOctets(ec) : undefined,
  };
  if (kind === "auth-enveloped-data") {
    parts.authAttrs = r.optional(0xa1);
    parts.mac = readOctetString(r.next(undefined, "mac"));
  }
  return parts;
}
