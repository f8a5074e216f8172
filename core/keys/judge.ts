/**
 * One verdict on a certificate for an address and purpose: the pure checks
 * of cert_check.ts, the chain, and the waivers the options grant.
 *
 * @module
 */

import { assessCertificate, type Finding, type Purpose } from "./cert_check.ts";
import type { CertInfo } from "./cert_info.ts";
import { checkChain } from "./chain.ts";
import { bytesEqual } from "./private_key.ts";

/** What the verdict depends on besides the certificate. */
export interface JudgeContext {
  /** Parsed trust anchors; empty when no --trust was given. */
  anchors: CertInfo[];
  now: Date;
  allowInvalid: boolean;
}

/** Problems that refuse the certificate, and warnings that don't. */
export interface Verdict {
  problems: Finding[];
  warnings: string[];
}

/** The warning when there are no trust anchors. */
export const CHAIN_UNCHECKED = "chain not checked (no --trust given)";

/**
 * Judges `leaf` (with the intermediates from its file) for `address`.
 *
 * @param leaf the user's certificate
 * @param chain intermediates from the same file or p12
 * @param address normalised address
 * @param purpose "sign" or "encrypt"
 * @param context anchors, time, waivers
 */
export function judgeCertificate(
  leaf: CertInfo,
  chain: CertInfo[],
  address: string,
  purpose: Purpose,
  context: JudgeContext,
): Verdict {
  const { findings, warnings } = assessCertificate(leaf, address, purpose, context.now);
  const anchored = context.anchors.some((a) => bytesEqual(a.der, leaf.der));
  const problems: Finding[] = [];
  for (const finding of findings) {
    if (finding.kind === "self-signed" && anchored) continue;
    if (finding.kind !== "fatal" && context.allowInvalid) {
      warnings.push(`${finding.text}, allowed by --allow-invalid-cert`);
    } else {
      problems.push(finding);
    }
  }
  if (context.anchors.length === 0) {
    warnings.push(CHAIN_UNCHECKED);
  } else if (!anchored && !(leaf.isSelfIssued && context.allowInvalid)) {
    const result = checkChain(leaf, [...chain, ...context.anchors], context.anchors, context.now);
    if (!result.ok) {
      problems.push({
        text: `chain not trusted: ${result.reason}`,
        code: "E_CHAIN",
        kind: "fatal",
      });
    }
  }
  return { problems, warnings };
}
