/**
 * The rules a certificate must meet to sign as, or encrypt to, an address
 * (RFC 8550 section 4). Pure: no I/O, the time is a parameter.
 *
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import { type Purpose, unknownCriticalExtension, usageProblem } from "../trust/mod.ts";
import { type CertInfo, isoDate, parseCertificate } from "./cert_info.ts";

export type { Purpose };

/** One reason a certificate can't be used. */
export interface Finding {
  /** One line, without address or file: the caller adds those. */
  text: string;
  code: ErrorCode;
  /**
   * "validity" (expired, not yet valid) and "self-signed" are waived by
   * --allow-invalid-cert; a self-signed certificate among the trust anchors
   * needs no waiver.
   */
  kind: "fatal" | "validity" | "self-signed";
}

/** Findings and warnings for one certificate, purpose and time. */
export interface Assessment {
  findings: Finding[];
  warnings: string[];
}

/** The largest RSA modulus used: what OpenSSL 3 handles (OPENSSL_RSA_MAX_MODULUS_BITS). */
export const MAX_RSA_BITS = 16384;

/**
 * Checks a parsed certificate for one address and purpose.
 *
 * @param info the parsed certificate
 * @param address normalised address (see normaliseAddress)
 * @param purpose "sign" or "encrypt"
 * @param now the time to check validity at
 */
export function assessCertificate(
  info: CertInfo,
  address: string,
  purpose: Purpose,
  now: Date,
): Assessment {
  const findings: Finding[] = [];
  const warnings: string[] = [];
  const fatal = (text: string, code: ErrorCode = "E_CERT_INVALID") =>
    findings.push({ text, code, kind: "fatal" });

  if (info.keyKind === "other") {
    fatal(
      `${info.keyAlgorithm} keys are not supported (RSA and EC P-256/384/521 are)`,
      "E_UNSUPPORTED",
    );
  } else if (info.keyKind === "rsa" && info.rsaBits > MAX_RSA_BITS) {
    fatal(`${info.keyAlgorithm} key is too large (${MAX_RSA_BITS} bits at most)`, "E_UNSUPPORTED");
  } else if (info.keyKind === "rsa" && info.rsaBits < 1024) {
    fatal(`${info.keyAlgorithm} key is too weak (1024 bits at least, 2048 recommended)`);
  } else if (info.keyKind === "rsa" && info.rsaBits < 2048) {
    warnings.push(`${info.keyAlgorithm} key is weak (legacy); use 2048 bits or more`);
  }
  if (!info.emails.includes(address)) {
    const holder = info.emails.length > 0 ? info.emails.join(", ") : "no e-mail address";
    fatal(`certificate is for ${holder}, not "${address}"`);
  }
  if (info.isCa) fatal("certificate is a CA certificate (basicConstraints cA=true), not a user's");
  const usage = usageProblem(info, purpose);
  if (usage) fatal(usage);
  const critical = unknownCriticalExtension(info);
  if (critical) fatal(`certificate has an unknown critical extension ${critical}`);
  if (info.repeatedExtension) fatal(`certificate repeats extension ${info.repeatedExtension}`);
  const legacy = (text: string, kind: Finding["kind"] = "validity") =>
    findings.push({ text, code: "E_CERT_INVALID", kind });
  if (now.getTime() > info.notAfter.getTime()) {
    legacy(`certificate expired on ${isoDate(info.notAfter)}`);
  }
  if (now.getTime() < info.notBefore.getTime()) {
    legacy(`certificate is not valid before ${isoDate(info.notBefore)}`);
  }
  if (info.isSelfIssued && !info.isCa) legacy("certificate is self-signed", "self-signed");
  return { findings, warnings };
}

/**
 * Lists every reason `cert` can't be used for `purpose` by `address` at
 * `now`, legacy ones (expired, not yet valid, self-signed) included. Empty
 * when it can. Pure; the chain is not checked here.
 *
 * @param cert DER certificate
 * @param address the address it should carry (compared whole, case-insensitively)
 * @param purpose "sign" or "encrypt"
 * @param now the time to check validity at
 * @returns one-line reasons, without address or file
 * @throws {SmimeError} E_CERT_INVALID when `cert` is not a certificate
 */
export function certificateProblems(
  cert: Uint8Array,
  address: string,
  purpose: Purpose,
  now: Date,
): string[] {
  const info = parseCertificate(cert, "certificate");
  const normal = address.trim().toLowerCase();
  return assessCertificate(info, normal, purpose, now).findings.map((f) => f.text);
}
