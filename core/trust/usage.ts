/**
 * What a certificate's keyUsage and extendedKeyUsage allow (RFC 5280
 * 4.2.1.3, 4.2.1.12; RFC 8550 4.4): an end entity signing or encrypting
 * mail, and a CA issuing certificates for S/MIME.
 *
 * @module
 */

import type { CertificateDetails } from "../cms/certificate.ts";
import { Oid } from "../cms/oids.ts";

/** What an end-entity certificate is being used for. */
export type Purpose = "sign" | "encrypt";

/**
 * Whether an extendedKeyUsage, if there is one, lets the certificate serve
 * e-mail. An end entity needs emailProtection itself: OpenSSL ("unsuitable
 * certificate purpose") and NSS (SEC_ERROR_INADEQUATE_CERT_TYPE) both refuse
 * a signer whose only usage is anyExtendedKeyUsage, so its mail would fail
 * at every recipient. On a CA, anyExtendedKeyUsage passes.
 */
function ekuAllowsEmail(cert: CertificateDetails, endEntity: boolean): boolean {
  const eku = cert.extKeyUsage;
  return eku === undefined ||
    eku.some((o) => o === Oid.emailProtection || (!endEntity && o === Oid.anyExtendedKeyUsage));
}

/**
 * Why `cert` may not be used for `purpose`, or undefined when it may.
 * Signing needs digitalSignature or nonRepudiation; RSA key transport
 * keyEncipherment, ECDH keyAgreement; an extendedKeyUsage, when present,
 * must include emailProtection.
 */
export function usageProblem(cert: CertificateDetails, purpose: Purpose): string | undefined {
  const ku = cert.keyUsage;
  if (ku !== undefined) {
    if (purpose === "sign" && !ku.has("digitalSignature") && !ku.has("nonRepudiation")) {
      return "keyUsage does not allow signing (no digitalSignature or nonRepudiation)";
    }
    const needed = cert.keyKind === "ec" ? "keyAgreement" : "keyEncipherment";
    // A key of a kind not supported is refused for that; what it may encrypt with is moot.
    if (purpose === "encrypt" && cert.keyKind !== "other" && !ku.has(needed)) {
      return `keyUsage does not allow encryption (no ${needed})`;
    }
  }
  if (!ekuAllowsEmail(cert, true)) return "extendedKeyUsage does not include emailProtection";
  return undefined;
}

/**
 * Why `ca` may not issue the certificates below it on an S/MIME path, or
 * undefined when it may: basicConstraints cA (a version 1 self-signed
 * trust anchor, which has no extensions, counts as a CA, as in OpenSSL),
 * keyCertSign when keyUsage is present, emailProtection when
 * extendedKeyUsage is present (OpenSSL's S/MIME purpose checks CAs too).
 */
export function caProblem(ca: CertificateDetails, isAnchor: boolean): string | undefined {
  const name = `"${ca.subject}"`;
  const legacyRoot = isAnchor && ca.version === 1 && ca.isSelfIssued;
  if (!ca.isCa && !legacyRoot) {
    return `${name} is not a CA certificate (basicConstraints cA is not set)`;
  }
  if (ca.keyUsage && !ca.keyUsage.has("keyCertSign")) {
    return `CA certificate ${name} may not sign certificates (no keyCertSign)`;
  }
  if (!ekuAllowsEmail(ca, false)) {
    return `CA certificate ${name} is restricted to other uses than e-mail (extendedKeyUsage)`;
  }
  return undefined;
}
