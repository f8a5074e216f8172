/**
 * The few X.509 fields CMS needs (RFC 5280 4.1): issuer and serial for
 * IssuerAndSerialNumber, subject for messages, the public key, the subject
 * key identifier and the e-mail addresses. Parsed with the local BER reader
 * and cached per certificate buffer.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import {
  AsnError,
  bytesEqual,
  childrenOf,
  DerReader,
  parseTlv,
  readOctets,
  readOid,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { curveByOid, Oid } from "./oids.ts";
import { formatName } from "./names.ts";

/** What CMS uses of a certificate. Byte fields are views into `der`. */
export interface CertificateInfo {
  der: Uint8Array;
  /** The issuer Name, as encoded. */
  issuer: Uint8Array;
  /** The serialNumber INTEGER's content octets. */
  serial: Uint8Array;
  /** The subject Name, as encoded. */
  subjectDer: Uint8Array;
  /** Subject as RFC 4514 text. */
  subject: string;
  /** SubjectPublicKeyInfo, as encoded. */
  spki: Uint8Array;
  keyType: "rsa" | "ec" | "other";
  /** WebCrypto curve name for EC keys. */
  curve?: string;
  /** The subjectKeyIdentifier extension value, when present. */
  subjectKeyIdentifier?: Uint8Array;
  /** rfc822Name SANs and subject emailAddress values, lower-cased. */
  emailAddresses: string[];
}

const cache = new WeakMap<Uint8Array, CertificateInfo>();

/**
 * Parses the CMS-relevant fields of a DER certificate.
 * @throws SmimeError E_CERT_INVALID when it is not a certificate
 */
export function parseCertificate(der: Uint8Array, what = "certificate"): CertificateInfo {
  let info = cache.get(der);
  if (info) return info;
  try {
    info = parse(der);
  } catch (err) {
    if (!(err instanceof AsnError)) throw err;
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${what}: ${err.message}`, { cause: err });
  }
  cache.set(der, info);
  return info;
}

function parse(der: Uint8Array): CertificateInfo {
  const cert = new DerReader(parseTlv(der));
  const tbs = cert.enter(Tag.sequence, "tbsCertificate");
  tbs.optional(0xa0); // version
  const serial = tbs.next(Tag.integer, "serialNumber").value;
  tbs.next(Tag.sequence, "signature");
  const issuer = tbs.next(Tag.sequence, "issuer").raw;
  tbs.next(Tag.sequence, "validity");
  const subjectTlv = tbs.next(Tag.sequence, "subject");
  const spkiTlv = tbs.next(Tag.sequence, "subjectPublicKeyInfo");
  const alg = new DerReader(spkiTlv).enter(Tag.sequence, "algorithm");
  const keyOid = readOid(alg.next(Tag.oid, "algorithm"));
  const curveTlv = alg.optional(Tag.oid);
  const keyType = keyOid === Oid.rsaEncryption
    ? "rsa"
    : keyOid === Oid.ecPublicKey
    ? "ec"
    : "other";
  tbs.optional(0x81);
  tbs.optional(0x82);
  const extensions = tbs.optional(0xa3);
  const info: CertificateInfo = {
    der,
    issuer,
    serial,
    subjectDer: subjectTlv.raw,
    subject: formatName(subjectTlv),
    spki: spkiTlv.raw,
    keyType,
    emailAddresses: emailsInName(subjectTlv),
  };
  if (keyType === "ec" && curveTlv) info.curve = curveByOid[readOid(curveTlv)];
  if (extensions) readExtensions(extensions, info);
  info.emailAddresses = [...new Set(info.emailAddresses)];
  return info;
}

function readExtensions(wrapper: Tlv, info: CertificateInfo): void {
  const list = new DerReader(wrapper).next(Tag.sequence, "extensions");
  for (const ext of childrenOf(list)) {
    const r = new DerReader(ext);
    const id = readOid(r.next(Tag.oid, "extnID"));
    r.optional(Tag.boolean);
    const extnValue = r.next(Tag.octetString, "extnValue").value;
    if (id !== Oid.subjectKeyIdentifier && id !== Oid.subjectAltName) continue;
    const value = parseTlv(extnValue);
    if (id === Oid.subjectKeyIdentifier && value.tag === Tag.octetString) {
      info.subjectKeyIdentifier = readOctets(value);
    } else if (id === Oid.subjectAltName && value.tag === Tag.sequence) {
      // GeneralName rfc822Name is [1] IMPLICIT IA5String (RFC 5280 4.2.1.6).
      for (const name of childrenOf(value)) {
        if (name.tag === 0x81) {
          info.emailAddresses.push(new TextDecoder().decode(name.value).toLowerCase());
        }
      }
    }
  }
}

function emailsInName(name: Tlv): string[] {
  const out: string[] = [];
  for (const rdn of childrenOf(name)) {
    for (const atv of childrenOf(rdn)) {
      const r = new DerReader(atv);
      if (readOid(r.next(Tag.oid, "attribute type")) === Oid.emailAddress) {
        out.push(new TextDecoder().decode(r.next().value).toLowerCase());
      }
    }
  }
  return out;
}

/** INTEGER content without redundant leading zero octets, for comparing. */
function normaliseSerial(serial: Uint8Array): Uint8Array {
  let i = 0;
  while (i < serial.length - 1 && serial[i] === 0 && (serial[i + 1]! & 0x80) === 0) i++;
  return serial.subarray(i);
}

/** True when an IssuerAndSerialNumber names `cert`. */
export function matchesIssuerSerial(
  cert: CertificateInfo,
  issuer: Uint8Array,
  serial: Uint8Array,
): boolean {
  return bytesEqual(cert.issuer, issuer) &&
    bytesEqual(normaliseSerial(cert.serial), normaliseSerial(serial));
}

/** Reads an IssuerAndSerialNumber SEQUENCE (RFC 5652 10.2.4). */
export function readIssuerSerial(tlv: Tlv): { issuer: Tlv; serial: Uint8Array } {
  const r = new DerReader(tlv);
  const issuer = r.next(Tag.sequence, "issuer");
  const serial = r.next(Tag.integer, "serialNumber").value;
  return { issuer, serial };
}

/** Hex of a serial INTEGER, as `openssl x509 -serial` prints it. */
export function serialHex(serial: Uint8Array): string {
  return toHex(normaliseSerial(serial)).toUpperCase();
}
