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

/** What the key layer knows about one certificate: the CMS parser's details. */
export type CertInfo = CertificateDetails;

/**
 * Parses one DER certificate.
 *
 * @param der the certificate
 * @param file named in the error
 * @throws {SmimeError} E_CERT_INVALID when it is not a certificate
 */
export function parseCertificate(der: Uint8Array, file: string): CertInfo {
  try {
    return parseCertificateDetails(der, file);
  } catch (err) {
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: not a valid X.509 certificate`, {
      cause: err,
    });
  }
}

/** `YYYY-MM-DD` in UTC, the form every date in a message takes. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
