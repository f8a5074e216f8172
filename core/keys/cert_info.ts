/**
 * Parses an X.509 certificate into the facts the key checks need: names,
 * addresses, dates, key type and size, and the usage extensions.
 *
 * @module
 */

import * as pkijs from "pkijs";
import * as asn1js from "asn1js";
import { SmimeError } from "../errors.ts";
import { toBuffer } from "./pem.ts";

/** What the key layer knows about one certificate. */
export interface CertInfo {
  der: Uint8Array;
  /** pkijs view, kept for name comparison and signature checks. */
  cert: pkijs.Certificate;
  /** RFC 4514 text. */
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** rfc822Name SANs and subject emailAddress values, lower-cased. */
  emails: string[];
  /** Named bits of keyUsage, or undefined when the extension is absent. */
  keyUsage?: Set<KeyUsageBit>;
  /** extendedKeyUsage OIDs, or undefined when the extension is absent. */
  extKeyUsage?: string[];
  isCa: boolean;
  pathLen?: number;
  /** "rsa", "ec" (supported) or the name of another key type. */
  keyKind: "rsa" | "ec" | "other";
  /** e.g. "RSA-2048", "EC P-256", "Ed25519". */
  keyAlgorithm: string;
  /** RSA modulus size in bits, 0 for other keys. */
  rsaBits: number;
  /** Subject and issuer names are the same. */
  isSelfIssued: boolean;
}

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

const NAME_ATTRS: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.42": "GN",
  "1.2.840.113549.1.9.1": "emailAddress",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
};

const KEY_TYPES: Record<string, string> = {
  "1.2.840.10040.4.1": "DSA",
  "1.3.101.110": "X25519",
  "1.3.101.111": "X448",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
};

const CURVES: Record<string, string> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
  "1.3.132.0.35": "P-521",
};

const EMAIL_ATTR = "1.2.840.113549.1.9.1";

/** Formats a name as RFC 4514 text (most significant RDN last). */
export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => {
      const key = NAME_ATTRS[tv.type] ?? tv.type;
      const value = String(tv.value.valueBlock.value ?? "");
      return `${key}=${value.replace(/([,+"\\<>;])/g, "\\$1")}`;
    })
    .reverse()
    .join(",");
}

/**
 * Parses one DER certificate.
 *
 * @param der the certificate
 * @param file named in the error
 * @throws {SmimeError} E_CERT_INVALID when it is not a certificate
 */
export function parseCertificate(der: Uint8Array, file: string): CertInfo {
  let cert: pkijs.Certificate;
  try {
    cert = pkijs.Certificate.fromBER(toBuffer(der));
  } catch (err) {
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: not a valid X.509 certificate`, {
      cause: err,
    });
  }
  const ext = (oid: string) => cert.extensions?.find((e) => e.extnID === oid)?.parsedValue;
  const basic = ext("2.5.29.19") as pkijs.BasicConstraints | undefined;
  const eku = ext("2.5.29.37") as pkijs.ExtKeyUsage | undefined;
  return {
    der,
    cert,
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    emails: emailsOf(cert, ext("2.5.29.17") as pkijs.AltName | undefined),
    keyUsage: keyUsageOf(ext("2.5.29.15") as asn1js.BitString | undefined),
    extKeyUsage: eku?.keyPurposes,
    isCa: basic?.cA === true,
    pathLen: typeof basic?.pathLenConstraint === "number" ? basic.pathLenConstraint : undefined,
    ...keyTypeOf(cert.subjectPublicKeyInfo),
    isSelfIssued: cert.subject.isEqual(cert.issuer),
  };
}

function emailsOf(cert: pkijs.Certificate, san: pkijs.AltName | undefined): string[] {
  const emails: string[] = [];
  for (const name of san?.altNames ?? []) {
    if (name.type === 1 && typeof name.value === "string") emails.push(name.value.toLowerCase());
  }
  for (const tv of cert.subject.typesAndValues) {
    if (tv.type === EMAIL_ATTR) emails.push(String(tv.value.valueBlock.value).toLowerCase());
  }
  return [...new Set(emails)];
}

function keyUsageOf(bits: asn1js.BitString | undefined): Set<KeyUsageBit> | undefined {
  if (bits === undefined) return undefined;
  const bytes = bits.valueBlock.valueHexView;
  const set = new Set<KeyUsageBit>();
  KEY_USAGE_BITS.forEach((name, i) => {
    if (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) set.add(name);
  });
  return set;
}

function keyTypeOf(
  spki: pkijs.PublicKeyInfo,
): Pick<CertInfo, "keyKind" | "keyAlgorithm" | "rsaBits"> {
  const oid = spki.algorithm.algorithmId;
  if (oid === "1.2.840.113549.1.1.1") {
    const rsa = spki.parsedKey as pkijs.RSAPublicKey | undefined;
    const modulus = rsa?.modulus.valueBlock.valueHexView ?? new Uint8Array();
    let i = 0;
    while (i < modulus.length && modulus[i] === 0) i++;
    const first = modulus[i] ?? 0;
    const bits = first === 0 ? 0 : (modulus.length - i - 1) * 8 + Math.floor(Math.log2(first)) + 1;
    return { keyKind: "rsa", keyAlgorithm: `RSA-${bits}`, rsaBits: bits };
  }
  if (oid === "1.2.840.10045.2.1") {
    const params = spki.algorithm.algorithmParams;
    const curveOid = params instanceof asn1js.ObjectIdentifier ? params.valueBlock.toString() : "";
    const curve = CURVES[curveOid];
    if (curve) return { keyKind: "ec", keyAlgorithm: `EC ${curve}`, rsaBits: 0 };
    return { keyKind: "other", keyAlgorithm: `EC curve ${curveOid || "(explicit)"}`, rsaBits: 0 };
  }
  return { keyKind: "other", keyAlgorithm: KEY_TYPES[oid] ?? `key type ${oid}`, rsaBits: 0 };
}

/** `YYYY-MM-DD` in UTC, the form every date in a message takes. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
