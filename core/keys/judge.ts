/**
 * One verdict on a certificate for an address and purpose: the pure checks
 * of cert_check.ts, the path from the one path engine (core/trust), and the
 * waivers the options grant.
 *
 * @module
 */

import { CertPool, type TrustStore, validatePath } from "../trust/mod.ts";
import { assessCertificate, type Finding, type Purpose } from "./cert_check.ts";
import type { CertInfo } from "./cert_info.ts";

/** What the verdict depends on besides the certificate. */
export interface JudgeContext {
  /** Anchors and the key folder's intermediates; undefined when no --trust was given. */
  trust?: TrustStore;
  now: Date;
  allowInvalid: boolean;
}

/** Problems that refuse the certificate, and warnings that don't. */
export interface Verdict {
  problems: Finding[];
  warnings: string[];
  /**
   * The certificates above the leaf on the path that was validated, a
   * self-signed anchor left out: what a signature must carry for its
   * recipients to find the same path. Undefined when no path was validated.
   */
  path?: CertInfo[];
}

/** The warning when there are no trust anchors. */
export const CHAIN_UNCHECKED =
  "chain not checked (no trust bundle: --trust, SMIMEPOST_TRUST or trust in the config file)";

/**
 * Judges `leaf` (with the intermediates from its file) for `address`.
 *
 * @param leaf the user's certificate
 * @param chain intermediates from the same file or p12
 * @param address normalised address
 * @param purpose "sign" or "encrypt"
 * @param context anchors, candidate intermediates, time, waivers
 */
export function judgeCertificate(
  leaf: CertInfo,
  chain: CertInfo[],
  address: string,
  purpose: Purpose,
  context: JudgeContext,
): Verdict {
  const { findings, warnings } = assessCertificate(leaf, address, purpose, context.now);
  const trust = context.trust;
  const anchored = trust?.anchors.has(leaf) === true;
  const problems: Finding[] = [];
  for (const finding of findings) {
    if (finding.kind === "self-signed" && anchored) continue;
    if (finding.kind !== "fatal" && context.allowInvalid) {
      warnings.push(`${finding.text}, allowed by --allow-invalid-cert`);
    } else {
      problems.push(finding);
    }
  }
  if (!trust) {
    warnings.push(CHAIN_UNCHECKED);
  } else if (!(leaf.isSelfIssued && context.allowInvalid && !anchored)) {
    // The leaf's own dates, extensions and usage are findings above (with
    // their waiver), so --allow-invalid-cert waives the leaf's dates and
    // nothing on the path above it.
    const result = validatePath(leaf, {
      anchors: trust.anchors,
      intermediates: [new CertPool(chain.map((c) => c.der)), ...trust.intermediates],
    }, { now: context.now, leafJudged: true });
    if (!result.ok) {
      problems.push({
        text: `chain not trusted: ${result.reason}`,
        code: "E_CHAIN",
        kind: "fatal",
      });
    } else {
      const path = result.path.slice(1).filter((c) => !c.isSelfIssued);
      return { problems, warnings, path };
    }
  }
  return { problems, warnings };
}
