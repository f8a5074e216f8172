/**
 * Certificate path building and checking (RFC 5280 section 6, the parts
 * that matter for S/MIME): leaf -> intermediates -> one of the trust
 * anchors, each signature checked, each CA valid at the time and allowed to
 * issue. No revocation checking.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { parseTlv } from "../cms/der.ts";
import { namesMatch } from "../cms/names.ts";
import { type CertInfo, isoDate } from "./cert_info.ts";
import { bytesEqual } from "./private_key.ts";

/** The result of {@link checkChain}. */
export type ChainResult = { ok: true; path: CertInfo[] } | { ok: false; reason: string };

const MAX_DEPTH = 8;
const x509Cache = new WeakMap<CertInfo, X509Certificate>();

function x509(info: CertInfo): X509Certificate {
  let cert = x509Cache.get(info);
  if (!cert) {
    cert = new X509Certificate(info.der);
    x509Cache.set(info, cert);
  }
  return cert;
}

/** True when `issuer`'s key made `subject`'s signature. */
export function isSignedBy(subject: CertInfo, issuer: CertInfo): boolean {
  try {
    return x509(subject).verify(x509(issuer).publicKey);
  } catch {
    return false;
  }
}

/**
 * Finds a path from `leaf` to one of `anchors`. Every certificate in
 * `anchors` is trusted as it is (it need not be self-signed); `pool` holds
 * candidate intermediates.
 *
 * @param leaf the end-entity certificate
 * @param pool intermediates from the key file, p12 or trust bundle
 * @param anchors the trust anchors
 * @param now the time CA certificates must be valid at
 * @returns the path (leaf first, anchor last) or the reason there is none
 */
export function checkChain(
  leaf: CertInfo,
  pool: CertInfo[],
  anchors: CertInfo[],
  now: Date,
): ChainResult {
  const reasons: string[] = [];
  const path = extend([leaf], pool, anchors, now, reasons);
  if (path) return { ok: true, path };
  return {
    ok: false,
    reason: reasons[0] ??
      `issuer "${leaf.issuerText}" is not among the intermediates or trust anchors`,
  };
}

function extend(
  path: CertInfo[],
  pool: CertInfo[],
  anchors: CertInfo[],
  now: Date,
  reasons: string[],
): CertInfo[] | undefined {
  const current = path[path.length - 1]!;
  if (anchors.some((a) => bytesEqual(a.der, current.der))) return path;
  if (path.length > MAX_DEPTH) {
    reasons.push("chain is too long");
    return undefined;
  }
  const candidates = [...anchors, ...pool].filter((c) =>
    namesMatch(parseTlv(c.subjectDer), parseTlv(current.issuer)) &&
    !path.some((p) => bytesEqual(p.der, c.der))
  );
  if (candidates.length === 0) {
    reasons.push(`issuer "${current.issuerText}" is not among the intermediates or trust anchors`);
  }
  for (const issuer of candidates) {
    const problem = issuerProblem(current, issuer, path.length - 1, now);
    if (problem) {
      reasons.push(problem);
      continue;
    }
    if (anchors.some((a) => bytesEqual(a.der, issuer.der))) return [...path, issuer];
    const found = extend([...path, issuer], pool, anchors, now, reasons);
    if (found) return found;
  }
  return undefined;
}

// `below` counts the non-self-issued CA certificates under `issuer`, for pathLen.
function issuerProblem(
  subject: CertInfo,
  issuer: CertInfo,
  below: number,
  now: Date,
): string | undefined {
  const name = `"${issuer.subject}"`;
  if (!isSignedBy(subject, issuer)) {
    return `signature on "${subject.subject}" does not verify with the key of ${name}`;
  }
  if (now > issuer.notAfter) return `CA certificate ${name} expired on ${isoDate(issuer.notAfter)}`;
  if (now < issuer.notBefore) {
    return `CA certificate ${name} is not valid before ${isoDate(issuer.notBefore)}`;
  }
  if (!issuer.isCa) return `${name} is not a CA certificate (basicConstraints cA is not set)`;
  if (issuer.keyUsage && !issuer.keyUsage.has("keyCertSign")) {
    return `CA certificate ${name} may not sign certificates (no keyCertSign)`;
  }
  if (issuer.pathLen !== undefined && below > issuer.pathLen) {
    return `CA certificate ${name} allows ${issuer.pathLen} intermediates below it, not ${below}`;
  }
  return undefined;
}
