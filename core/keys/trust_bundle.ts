/**
 * A trust bundle's anchors for e-mail. A plain certificate is an anchor, as
 * in OpenSSL's `-CAfile`. A `-----BEGIN TRUSTED CERTIFICATE-----` block
 * (what `openssl x509 -trustout` and p11-kit's `trust extract
 * --format=openssl-bundle` write) carries OpenSSL's trust settings, and they
 * decide as `openssl verify -purpose smimesign` does (x509_trust.c,
 * obj_trust): rejected for emailProtection or anyExtendedKeyUsage, not an
 * anchor; a trust list with neither, not an anchor for e-mail; a trust list
 * with one of them, or no lists, an anchor.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import { AsnError, contextTag, DerReader, parseTlv, readOid, Tag } from "../cms/der.ts";
import { Oid } from "../cms/oids.ts";
import { parseCertificate } from "../cms/certificate.ts";
import { readBundle } from "./pem.ts";

/** What a certificate's OpenSSL trust settings say about e-mail. */
export type EmailTrust =
  | { isAnchor: true }
  | { isAnchor: false; reason: string };

/** A trust bundle read for e-mail: its anchors, and a line for each certificate refused. */
export interface TrustBundle {
  anchors: Uint8Array[];
  /** One line per certificate whose trust settings keep it from being an anchor. */
  warnings: string[];
}

/** Real trust settings are a few dozen bytes; hostile ones are not read past this. */
const MAX_AUX_BYTES = 16 * 1024;

const EMAIL_OIDS = new Set<string>([Oid.emailProtection, Oid.anyExtendedKeyUsage]);

const PURPOSE_NAMES: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth",
  "1.3.6.1.5.5.7.3.2": "clientAuth",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  [Oid.emailProtection]: "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
  [Oid.anyExtendedKeyUsage]: "anyExtendedKeyUsage",
};

/**
 * Reads a trust bundle (`--trust`, SMIMEPOST_TRUST, `trust` in the config
 * file) into anchors for e-mail, honouring the trust settings of `TRUSTED
 * CERTIFICATE` blocks.
 *
 * @param bytes file contents, PEM or one DER certificate
 * @param file the path, named in warnings and errors
 * @throws {SmimeError} E_CERT_INVALID when the file is truncated, damaged,
 *   holds no certificate, or none of its certificates is an anchor for e-mail
 */
export function loadTrustBundle(bytes: Uint8Array, file: string): TrustBundle {
  const anchors: Uint8Array[] = [];
  const warnings: string[] = [];
  const refused: string[] = [];
  readBundle(bytes, file).forEach(({ der, aux }, i) => {
    const trust = emailTrustOf(aux);
    if (trust.isAnchor) {
      anchors.push(der);
      return;
    }
    const subject = subjectOf(der, i);
    refused.push(subject);
    warnings.push(`trust bundle ${file}: ${subject} ${trust.reason}; not an anchor`);
  });
  if (anchors.length === 0) {
    throw new SmimeError(
      "E_CERT_INVALID",
      `Cannot read ${file}: no certificate in it is trusted for e-mail ` +
        `(OpenSSL trust settings refuse ${refused.join("; ")})`,
    );
  }
  return { anchors, warnings };
}

/**
 * Whether OpenSSL trust settings (X509_CERT_AUX, RFC-less: OpenSSL's own
 * x509_cert_aux template) make a certificate an anchor for e-mail.
 * Damaged or oversized settings are hostile input: not an anchor.
 *
 * @param aux the bytes after the certificate, or undefined when none
 */
export function emailTrustOf(aux: Uint8Array | undefined): EmailTrust {
  if (aux === undefined) return { isAnchor: true };
  let lists: { trust?: string[]; reject?: string[] };
  try {
    if (aux.length > MAX_AUX_BYTES) throw new AsnError(`over ${MAX_AUX_BYTES} bytes`);
    lists = readAux(aux);
  } catch (err) {
    if (!(err instanceof AsnError)) throw err;
    return { isAnchor: false, reason: `has damaged trust settings (${err.message})` };
  }
  const rejected = lists.reject?.find((oid) => EMAIL_OIDS.has(oid));
  if (rejected) {
    return {
      isAnchor: false,
      reason: `is marked not trusted for e-mail (reject ${nameOf(rejected)})`,
    };
  }
  if (lists.trust && !lists.trust.some((oid) => EMAIL_OIDS.has(oid))) {
    const named = lists.trust.slice(0, 4).map(nameOf);
    if (lists.trust.length > 4) named.push(`${lists.trust.length - 4} more`);
    const purposes = named.join(", ") || "no purpose";
    return {
      isAnchor: false,
      reason: `is marked not trusted for e-mail (trusted for ${purposes} only)`,
    };
  }
  return { isAnchor: true };
}

/**
 * X509_CERT_AUX ::= SEQUENCE {
 *   trust SEQUENCE OF OBJECT IDENTIFIER OPTIONAL,
 *   reject [0] IMPLICIT SEQUENCE OF OBJECT IDENTIFIER OPTIONAL,
 *   alias UTF8String OPTIONAL, keyid OCTET STRING OPTIONAL,
 *   other [1] IMPLICIT SEQUENCE OF AlgorithmIdentifier OPTIONAL }
 */
function readAux(aux: Uint8Array): { trust?: string[]; reject?: string[] } {
  const outer = parseTlv(aux);
  if (outer.tag !== Tag.sequence) throw new AsnError("not a SEQUENCE");
  const reader = new DerReader(outer);
  const trust = reader.optional(Tag.sequence);
  const reject = reader.optional(contextTag(0, true));
  reader.optional(Tag.utf8String);
  reader.optional(Tag.octetString);
  reader.optional(contextTag(1, true));
  if (!reader.done) throw new AsnError("unexpected element after the trust settings");
  return {
    trust: trust && new DerReader(trust, 2).rest().map(readOid),
    reject: reject && new DerReader(reject, 2).rest().map(readOid),
  };
}

function nameOf(oid: string): string {
  return PURPOSE_NAMES[oid] ?? oid;
}

function subjectOf(der: Uint8Array, index: number): string {
  try {
    return parseCertificate(der).subject || `certificate ${index + 1} (empty subject)`;
  } catch {
    return `certificate ${index + 1}`;
  }
}
