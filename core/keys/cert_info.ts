/**
 * The facts the key checks need about an X.509 certificate: names,
 * addresses, dates, key type and size, and the usage extensions. Read by
 * the CMS layer's certificate parser (core/cms/certificate.ts), so there is
 * one X.509 parser and no ASN.1 library on the signing path.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import {
  type CertificateDetails,
  KEY_USAGE_BITS,
  type KeyUsageBit,
  parseCertificateDetails,
} from "../cms/certificate.ts";

export { KEY_USAGE_BITS, type KeyUsageBit };

/** What the key layer knows about one certificate. */
export interface CertInfo {
  der: Uint8Array;
  /** The subject Name, as encoded (for chain building). */
  subjectDer: Uint8Array;
  /** The issuer Name, as encoded (for chain building). */
  issuerDer: Uint8Array;
  /** SubjectPublicKeyInfo, as encoded. */
  spki: Uint8Array;
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

/**
 * Parses one DER certificate.
 *
 * @param der the certificate
 * @param file named in the error
 * @throws {SmimeError} E_CERT_INVALID when it is not a certificate
 */
export function parseCertificate(der: Uint8Array, file: string): CertInfo {
  let d: CertificateDetails;
  try {
    d = parseCertificateDetails(der, file);
  } catch (err) {
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: not a valid X.509 certificate`, {
      cause: err,
    });
  }
  return {
    der,
    subjectDer: d.subjectDer,
    issuerDer: d.issuer,
    spki: d.spki,
    subject: d.subject,
    issuer: d.issuerText,
    notBefore: d.notBefore,
    notAfter: d.notAfter,
    emails: d.emails,
    keyUsage: d.keyUsage,
    extKeyUsage: d.extKeyUsage,
    isCa: d.isCa,
    pathLen: d.pathLen,
    keyKind: d.keyKind,
    keyAlgorithm: d.keyAlgorithm,
    rsaBits: d.rsaBits,
    isSelfIssued: d.isSelfIssued,
  };
}

/** `YYYY-MM-DD` in UTC, the form every date in a message takes. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
