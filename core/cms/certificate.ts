/**
 * The few X.509 fields CMS needs (RFC 5280 4.1): issuer and serial for
 * IssuerAndSerialNumber, subject for messages, the public key, the subject
 * key identifier and the e-mail addresses; and, for the key checks, the
 * validity, key type and size and the usage extensions
 * ({@link parseCertificateDetails}). Parsed with the local BER reader and
 * cached per certificate buffer.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { SmimeError } from "../errors.ts";
import {
  AsnError,
  childrenOf,
  DerReader,
  parseTlv,
  readOctets,
  readOid,
  readSmallInt,
  readTime,
  Tag,
  type Tlv,
  toHex,
} from "./der.ts";
import { curveByOid, Oid } from "./oids.ts";
import { formatName, namesMatch } from "./names.ts";

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

// ------------------------------------------------------------ key checks

/** keyUsage bit names, RFC 5280 4.2.1.3, in bit order. */
export const KEY_USAGE_BITS = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;

/** One keyUsage bit name. */
export type KeyUsageBit = typeof KEY_USAGE_BITS[number];

/** {@link CertificateInfo} plus what the key checks need (RFC 5280 4.1, 4.2.1). */
export interface CertificateDetails extends CertificateInfo {
  /** Issuer as RFC 4514 text. */
  issuerText: string;
  /** The OID of the algorithm the issuer signed it with (the outer signatureAlgorithm). */
  signatureOid: string;
  notBefore: Date;
  notAfter: Date;
  /**
   * rfc822Name SANs, then subject emailAddress values; lower-cased, no
   * duplicates. The same set as `emailAddresses`, SANs first.
   */
  emails: string[];
  /** Named bits of keyUsage, or undefined when the extension is absent. */
  keyUsage?: Set<KeyUsageBit>;
  /** extendedKeyUsage OIDs, or undefined when the extension is absent. */
  extKeyUsage?: string[];
  /** basicConstraints cA. */
  isCa: boolean;
  /** basicConstraints pathLenConstraint; undefined when absent (no limit). */
  pathLen?: number;
  /** "rsa", "ec" on a named curve we support, or "other". */
  keyKind: "rsa" | "ec" | "other";
  /** e.g. "RSA-2048", "EC P-256", "Ed25519". */
  keyAlgorithm: string;
  /** RSA modulus size in bits, 0 for other keys. */
  rsaBits: number;
  /** Subject and issuer names are the same (see {@link namesMatch}). */
  isSelfIssued: boolean;
  /** The X.509 version: 1, 2 or 3. */
  version: number;
  /** Every extension's parsed value, by OID (the first, when one repeats). */
  extensions: Map<string, Tlv>;
  /** OIDs of the extensions marked critical. */
  criticalExtensions: Set<string>;
  /** An extension OID that appears twice (RFC 5280 4.2 forbids it). */
  repeatedExtension?: string;
}

/** Names of key types we don't use, for messages. */
const keyTypeNames: Record<string, string> = {
  "1.2.840.10040.4.1": "DSA",
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
  [Oid.rsassaPss]: "RSASSA-PSS",
};

/** Curves seen in the field that we do not support, named for messages. */
const otherCurveNames: Record<string, string> = {
  "1.2.840.10045.3.1.1": "P-192",
  "1.3.132.0.33": "P-224",
  "1.3.132.0.10": "secp256k1",
  "1.3.36.3.3.2.8.1.1.7": "brainpoolP256r1",
  "1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
  "1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
};

const detailsCache = new WeakMap<Uint8Array, CertificateDetails>();

/**
 * Parses a DER certificate for the key checks: everything
 * {@link parseCertificate} reads, and the validity, key and usage
 * extensions. Stricter than {@link parseCertificate}: the signature fields
 * must be there and the extensions it reads must be well formed.
 * @throws SmimeError E_CERT_INVALID when it is not a certificate
 */
export function parseCertificateDetails(
  der: Uint8Array,
  what = "certificate",
): CertificateDetails {
  let details = detailsCache.get(der);
  if (details) return details;
  const info = parseCertificate(der, what);
  try {
    details = { ...info, ...readDetails(der) };
  } catch (err) {
    if (!(err instanceof AsnError)) throw err;
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${what}: ${err.message}`, { cause: err });
  }
  detailsCache.set(der, details);
  return details;
}

function readDetails(der: Uint8Array): Omit<CertificateDetails, keyof CertificateInfo> {
  const cert = new DerReader(parseTlv(der));
  const tbs = cert.enter(Tag.sequence, "tbsCertificate");
  const signatureOid = readOid(
    new DerReader(cert.next(Tag.sequence, "signatureAlgorithm")).next(
      Tag.oid,
      "signature algorithm",
    ),
  );
  cert.next(Tag.bitString, "signatureValue");
  end(cert, "certificate");
  const versionTlv = tbs.optional(0xa0);
  const version = versionTlv
    ? readSmallInt(new DerReader(versionTlv).next(Tag.integer, "version")) + 1
    : 1;
  tbs.next(Tag.integer, "serialNumber");
  new DerReader(tbs.next(Tag.sequence, "signature")).next(Tag.oid, "signature algorithm");
  const issuer = checkName(tbs.next(Tag.sequence, "issuer"));
  const validity = tbs.enter(Tag.sequence, "validity");
  const notBefore = readTime(validity.next(undefined, "notBefore"));
  const notAfter = readTime(validity.next(undefined, "notAfter"));
  end(validity, "validity");
  const subject = checkName(tbs.next(Tag.sequence, "subject"));
  const spki = tbs.next(Tag.sequence, "subjectPublicKeyInfo");
  tbs.optional(0x81);
  tbs.optional(0x82);
  const wrapper = tbs.optional(0xa3);
  end(tbs, "tbsCertificate");
  const { values: exts, critical, repeated } = wrapper ? readExtensionList(wrapper) : {
    values: new Map<string, Tlv>(),
    critical: new Set<string>(),
    repeated: undefined,
  };
  const basic = exts.get(Oid.basicConstraints);
  const constraints = basic ? readBasicConstraints(basic) : { isCa: false };
  const ku = exts.get(Oid.keyUsage);
  const eku = exts.get(Oid.extKeyUsage);
  const san = exts.get(Oid.subjectAltName);
  const emails = [...(san ? sanEmails(san) : []), ...emailsInName(subject)];
  return {
    issuerText: formatName(issuer),
    signatureOid,
    notBefore,
    notAfter,
    emails: [...new Set(emails)],
    keyUsage: ku ? readKeyUsage(ku) : undefined,
    extKeyUsage: eku
      ? childrenOf(expect(eku, Tag.sequence, "extKeyUsage")).map(readOid)
      : undefined,
    ...constraints,
    ...readKeyType(spki),
    isSelfIssued: namesMatch(subject, issuer),
    version,
    extensions: exts,
    criticalExtensions: critical,
    ...(repeated ? { repeatedExtension: repeated } : {}),
  };
}

/** A Name: SEQUENCE OF SET OF { type OID, value }. */
function checkName(name: Tlv): Tlv {
  for (const rdn of childrenOf(name)) {
    const atvs = childrenOf(expect(rdn, Tag.set, "a name"));
    if (atvs.length === 0) throw new AsnError("empty RelativeDistinguishedName");
    for (const atv of atvs) {
      const r = new DerReader(expect(atv, Tag.sequence, "a name"));
      readOid(r.next(Tag.oid, "attribute type"));
      r.next(undefined, "attribute value");
      end(r, "a name attribute");
    }
  }
  return name;
}

function end(r: DerReader, what: string): void {
  if (!r.done) throw new AsnError(`unexpected data at the end of ${what}`);
}

function expect(tlv: Tlv, tag: number, what: string): Tlv {
  if (tlv.tag !== tag) throw new AsnError(`${what} is malformed`);
  return tlv;
}

/** The parsed value of the first extension of each type, and which are critical. */
function readExtensionList(
  wrapper: Tlv,
): { values: Map<string, Tlv>; critical: Set<string>; repeated?: string } {
  const values = new Map<string, Tlv>();
  const critical = new Set<string>();
  let repeated: string | undefined;
  const list = new DerReader(wrapper).next(Tag.sequence, "extensions");
  for (const ext of childrenOf(list)) {
    const r = new DerReader(ext);
    const id = readOid(r.next(Tag.oid, "extnID"));
    const flag = r.optional(Tag.boolean);
    const value = r.next(Tag.octetString, "extnValue").value;
    end(r, "an extension");
    if (flag && flag.value.some((b) => b !== 0)) critical.add(id);
    if (values.has(id)) repeated ??= id;
    else values.set(id, parseTlv(value));
  }
  return { values, critical, repeated };
}

function sanEmails(san: Tlv): string[] {
  // GeneralName rfc822Name is [1] IMPLICIT IA5String (RFC 5280 4.2.1.6).
  return childrenOf(expect(san, Tag.sequence, "subjectAltName"))
    .filter((name) => name.tag === 0x81)
    .map((name) => new TextDecoder().decode(name.value).toLowerCase());
}

function readKeyUsage(tlv: Tlv): Set<KeyUsageBit> {
  const v = expect(tlv, Tag.bitString, "keyUsage").value;
  if (v.length === 0 || v[0]! > 7) throw new AsnError("keyUsage is malformed");
  const bytes = v.subarray(1);
  const set = new Set<KeyUsageBit>();
  KEY_USAGE_BITS.forEach((name, i) => {
    if (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) set.add(name);
  });
  return set;
}

function readBasicConstraints(tlv: Tlv): { isCa: boolean; pathLen?: number } {
  const r = new DerReader(expect(tlv, Tag.sequence, "basicConstraints"));
  const ca = r.optional(Tag.boolean);
  const len = r.optional(Tag.integer)?.value;
  end(r, "basicConstraints");
  const isCa = ca !== undefined && ca.value.some((b) => b !== 0);
  if (len === undefined) return { isCa };
  if (len.length === 0 || (len[0]! & 0x80) !== 0) {
    throw new AsnError("basicConstraints pathLenConstraint is malformed");
  }
  // Beyond 2^48 there is no limit in practice.
  if (len.length > 6) return { isCa };
  let pathLen = 0;
  for (const b of len) pathLen = pathLen * 256 + b;
  return { isCa, pathLen };
}

function readKeyType(spki: Tlv): Pick<CertificateDetails, "keyKind" | "keyAlgorithm" | "rsaBits"> {
  const r = new DerReader(spki);
  const alg = r.enter(Tag.sequence, "algorithm");
  const oid = readOid(alg.next(Tag.oid, "algorithm"));
  const key = r.next(Tag.bitString, "subjectPublicKey");
  end(r, "subjectPublicKeyInfo");
  if (oid === Oid.rsaEncryption) {
    const bits = rsaModulusBits(key);
    return { keyKind: "rsa", keyAlgorithm: `RSA-${bits}`, rsaBits: bits };
  }
  if (oid === Oid.ecPublicKey) {
    const params = alg.optional(Tag.oid);
    const curveOid = params ? readOid(params) : "";
    const curve = curveByOid[curveOid];
    if (curve) return { keyKind: "ec", keyAlgorithm: `EC ${curve}`, rsaBits: 0 };
    const name = otherCurveNames[curveOid] ?? (curveOid || "(explicit parameters)");
    return { keyKind: "other", keyAlgorithm: `EC curve ${name}`, rsaBits: 0 };
  }
  return { keyKind: "other", keyAlgorithm: keyTypeNames[oid] ?? `key type ${oid}`, rsaBits: 0 };
}

/** Size of an RSAPublicKey's modulus (RFC 8017 A.1.1); 0 when it can't be read. */
function rsaModulusBits(key: Tlv): number {
  let modulus: Uint8Array;
  try {
    if (key.value.length === 0) return 0;
    const rsa = expect(parseTlv(key.value.subarray(1)), Tag.sequence, "RSAPublicKey");
    const r = new DerReader(rsa);
    modulus = r.next(Tag.integer, "modulus").value;
    r.next(Tag.integer, "publicExponent");
    end(r, "RSAPublicKey");
  } catch (err) {
    if (err instanceof AsnError) return 0;
    throw err;
  }
  let i = 0;
  while (i < modulus.length && modulus[i] === 0) i++;
  const first = modulus[i] ?? 0;
  return first === 0 ? 0 : (modulus.length - i - 1) * 8 + Math.floor(Math.log2(first)) + 1;
}
