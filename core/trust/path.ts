/**
 * The one certificate-path engine (RFC 5280 section 6, as it matters for
 * S/MIME). `send`, `verify`, `decrypt`, `keys check` and `keys import` all
 * ask it, so one certificate gets one answer.
 *
 * Path building searches from the end entity towards a trust anchor through
 * candidate issuers (by subject name); each candidate path is then
 * validated from the anchor down: signatures, validity now, basicConstraints
 * cA and pathLenConstraint, keyCertSign, extendedKeyUsage on CAs, name
 * constraints, unknown critical extensions, and the end entity's usage for
 * the purpose. No revocation checking.
 *
 * The work is bounded whatever the input: the pools drop duplicates and
 * cap candidates per name, no certificate appears twice on a path (cycles),
 * and the search gives up after {@link MAX_STEPS} candidate issuers.
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import type { CertificateDetails } from "../cms/certificate.ts";
import { Oid } from "../cms/oids.ts";
import { WEBCRYPTO_MAX_RSA_BITS } from "../cms/rsa_public.ts";
import { rsaSignedBy } from "../cms/signature.ts";
import { nameConstraintProblem, type NameConstraints, readNameConstraints } from "./constraints.ts";
import { CertPool, digestOf } from "./pool.ts";
import { caProblem, type Purpose, usageProblem } from "./usage.ts";

/** The longest path tried, anchor included. */
export const MAX_PATH_LENGTH = 10;
/** Candidate issuers considered in one search before giving up. */
export const MAX_STEPS = 200;

/** Extensions this engine (or the usage rules) processes; any other critical one fails. */
const UNDERSTOOD = new Set<string>([
  Oid.keyUsage,
  Oid.extKeyUsage,
  Oid.basicConstraints,
  Oid.subjectAltName,
  Oid.nameConstraints,
  // Policies are not enforced (no policy set is required of a path), as
  // OpenSSL by default; being critical does not make them unreadable.
  Oid.certificatePolicies,
  Oid.policyMappings,
  Oid.policyConstraints,
  Oid.inhibitAnyPolicy,
  Oid.cRLDistributionPoints,
]);

/** The OID of a critical extension this engine does not process, if there is one. */
export function unknownCriticalExtension(cert: CertificateDetails): string | undefined {
  return [...cert.criticalExtensions].find((oid) => !UNDERSTOOD.has(oid));
}

/** What a path is judged for. */
export interface PathOptions {
  /** The time every certificate must be valid at: now, never a time the signer claims. */
  now: Date;
  /** The end entity's use; without it its usage is not checked. */
  purpose?: Purpose;
  /**
   * The caller judged the end entity's own dates and extensions (the key
   * layer does, with its --allow-invalid-cert waiver): the path then checks
   * only what the CAs say about it (signature, name constraints).
   */
  leafJudged?: boolean;
}

/** A path (end entity first, anchor last), or why there is none. */
export type PathResult =
  | { ok: true; path: CertificateDetails[] }
  | { ok: false; reason: string };

/** Where issuers may come from: the trust anchors, then candidate intermediates. */
export interface TrustStore {
  anchors: CertPool;
  /** Searched in order: put what the user's own files hold before what a message brought. */
  intermediates: CertPool[];
}

/**
 * Finds a valid path from `leaf` to one of the store's anchors.
 *
 * @param leaf the end-entity certificate (the signer named by its sid, the recipient's)
 * @param store anchors and candidate intermediates
 * @param options time and purpose
 * @returns the path, or the reason from the most promising attempt
 */
export function validatePath(
  leaf: CertificateDetails,
  store: TrustStore,
  options: PathOptions,
): PathResult {
  const search = new Search(store, options);
  const path = search.extend([leaf]);
  if (path) return { ok: true, path };
  return { ok: false, reason: search.reason(leaf) };
}

class Search {
  #steps = 0;
  #best: { depth: number; reason: string } | undefined;
  readonly #store: TrustStore;
  readonly #options: PathOptions;

  constructor(store: TrustStore, options: PathOptions) {
    this.#store = store;
    this.#options = options;
  }

  reason(leaf: CertificateDetails): string {
    if (this.#best) return this.#best.reason;
    return `issuer "${leaf.issuerText}" is not among the intermediates or trust anchors`;
  }

  #fail(depth: number, reason: string): undefined {
    if (!this.#best || depth >= this.#best.depth) this.#best = { depth, reason };
    return undefined;
  }

  extend(path: CertificateDetails[]): CertificateDetails[] | undefined {
    const current = path[path.length - 1]!;
    const { anchors, intermediates } = this.#store;
    if (anchors.has(current)) return this.#accept(path);
    if (path.length >= MAX_PATH_LENGTH) {
      return this.#fail(path.length, `no trust anchor within ${MAX_PATH_LENGTH} certificates`);
    }
    const onPath = new Set(path.map((c) => digestOf(c.der)));
    const candidates = [anchors, ...intermediates].flatMap((pool) => pool.issuersOf(current))
      .filter((c) => !onPath.has(digestOf(c.der)));
    if (candidates.length === 0) {
      if (path.length === 1 && current.isSelfIssued) {
        return this.#fail(
          1,
          `certificate "${current.subject}" is self-signed and not a trust anchor`,
        );
      }
      return this.#fail(
        path.length,
        `issuer "${current.issuerText}" is not among the intermediates or trust anchors`,
      );
    }
    for (const issuer of candidates) {
      if (++this.#steps > MAX_STEPS) {
        return this.#fail(Infinity, `gave up after ${MAX_STEPS} candidate issuer certificates`);
      }
      if (!isSignedBy(current, issuer)) {
        const broken = BROKEN_HASHES[current.signatureOid];
        this.#fail(
          path.length,
          broken
            ? `"${current.subject}" is signed with ${broken}, which is not accepted`
            : `signature on "${current.subject}" does not verify with the key of "${issuer.subject}"`,
        );
        continue;
      }
      const found = this.extend([...path, issuer]);
      if (found) return found;
    }
    return undefined;
  }

  #accept(path: CertificateDetails[]): CertificateDetails[] | undefined {
    const problem = pathProblem(path, this.#options);
    return problem ? this.#fail(path.length, problem) : path;
  }
}

/**
 * Validates a built path (end entity first, anchor last) from the anchor
 * down (RFC 5280 6.1.3-6.1.5). Signatures were checked while building.
 */
function pathProblem(path: CertificateDetails[], options: PathOptions): string | undefined {
  const { now, purpose } = options;
  const constraints: NameConstraints[] = [];
  let pathLen: number | undefined;
  for (let i = path.length - 1; i >= 0; i--) {
    const cert = path[i]!;
    const isAnchor = i === path.length - 1;
    const isLeaf = i === 0;
    const name = `"${cert.subject}"`;
    const what = isLeaf ? `certificate ${name}` : `CA certificate ${name}`;
    if (!(isLeaf && options.leafJudged)) {
      const problem = ownProblem(cert, what, now);
      if (problem) return problem;
    }
    // 6.1.3 (b)-(c): a self-issued CA below the anchor is exempt, the end entity never is.
    if (!isAnchor && (isLeaf || !cert.isSelfIssued)) {
      const problem = nameConstraintProblem(cert, constraints);
      if (problem) return problem;
    }
    if (isLeaf) break;
    const ca = caProblem(cert, isAnchor);
    if (ca) return ca;
    // 6.1.4 (l)-(m): each non-self-issued CA below uses up one of pathLen.
    if (pathLen !== undefined && !isAnchor && !cert.isSelfIssued) {
      if (pathLen === 0) return `${name} is one CA too many for the pathLenConstraint above it`;
      pathLen--;
    }
    if (cert.pathLen !== undefined && (pathLen === undefined || cert.pathLen < pathLen)) {
      pathLen = cert.pathLen;
    }
    try {
      const nc = readNameConstraints(cert);
      if (nc) constraints.push(nc);
    } catch {
      return `${what} has a malformed nameConstraints extension`;
    }
  }
  if (purpose) {
    const usage = usageProblem(path[0]!, purpose);
    if (usage) return usage;
  }
  return undefined;
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** What is wrong with a certificate by itself: dates and extensions. */
function ownProblem(cert: CertificateDetails, what: string, now: Date): string | undefined {
  if (now > cert.notAfter) return `${what} expired on ${isoDate(cert.notAfter)}`;
  if (now < cert.notBefore) return `${what} is not valid before ${isoDate(cert.notBefore)}`;
  if (cert.repeatedExtension) return `${what} repeats extension ${cert.repeatedExtension}`;
  const unknown = unknownCriticalExtension(cert);
  if (unknown) return `${what} has an unknown critical extension ${unknown}`;
  return undefined;
}

const x509Cache = new WeakMap<Uint8Array, X509Certificate | null>();
const verified = new Map<string, boolean>();
const MAX_VERIFIED = 10_000;

function x509(der: Uint8Array): X509Certificate | null {
  let cert = x509Cache.get(der);
  if (cert === undefined) {
    try {
      cert = new X509Certificate(der);
    } catch {
      cert = null;
    }
    x509Cache.set(der, cert);
  }
  return cert;
}

/** True when `issuer`'s key made `subject`'s signature; results are remembered. */
export function isSignedBy(subject: CertificateDetails, issuer: CertificateDetails): boolean {
  const key = `${digestOf(subject.der)}:${digestOf(issuer.der)}`;
  let ok = verified.get(key);
  if (ok === undefined) {
    if (
      issuer.keyKind === "rsa" &&
      (issuer.rsaBits > WEBCRYPTO_MAX_RSA_BITS || subject.signatureOid === Oid.rsassaPss)
    ) {
      ok = rsaSignedBy(subject.der, issuer.spki);
    } else {
      const s = x509(subject.der);
      const i = x509(issuer.der);
      try {
        ok = s !== null && i !== null && s.verify(i.publicKey);
      } catch {
        ok = false;
      }
    }
    if (verified.size >= MAX_VERIFIED) verified.clear();
    verified.set(key, ok);
  }
  return ok;
}

/**
 * The issuers above `cert` in `pools`, nearest first, each found by name and
 * checked by signature, and a CA: the chain a signer sends with its
 * signature when no trust anchors were given to validate one. Stops at a
 * self-issued certificate (a root, left out: a recipient must hold it
 * already), when no issuer is found, or after {@link MAX_ISSUERS}.
 */
export function issuerChain(cert: CertificateDetails, pools: CertPool[]): CertificateDetails[] {
  const chain: CertificateDetails[] = [];
  let current = cert;
  while (!current.isSelfIssued && chain.length < MAX_ISSUERS) {
    const subject = current;
    const issuer = pools.flatMap((pool) => pool.issuersOf(subject)).find((candidate) =>
      candidate.isCa && candidate !== subject && !chain.includes(candidate) &&
      isSignedBy(subject, candidate)
    );
    if (!issuer || issuer.isSelfIssued) break;
    chain.push(issuer);
    current = issuer;
  }
  return chain;
}

/** The most intermediates {@link issuerChain} collects. */
const MAX_ISSUERS = 8;

/**
 * Certificate signature algorithms node:crypto refuses to check (its
 * OpenSSL has them disabled, as collision attacks forged certificates with
 * MD5): named in the refusal, so "does not verify" is not taken for a
 * forgery or a wrong issuer.
 */
const BROKEN_HASHES: Record<string, string> = {
  "1.2.840.113549.1.1.2": "MD2",
  "1.2.840.113549.1.1.3": "MD4",
  "1.2.840.113549.1.1.4": "MD5",
};

/** A trust store of anchors and intermediates, from DER certificates. */
export function trustStore(
  anchors: Iterable<Uint8Array>,
  ...intermediates: Iterable<Uint8Array>[]
): TrustStore {
  return {
    anchors: new CertPool(anchors),
    intermediates: intermediates.map((list) => new CertPool(list)),
  };
}
