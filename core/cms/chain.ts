/**
 * Certificate path validation for signers (RFC 5280 6) through pkijs's
 * CertificateChainValidationEngine. pkijs is loaded on first use, so
 * signing, encrypting and unanchored verifying never pay for it.
 *
 * @module
 */

import type * as Pkijs from "pkijs";
import { source } from "./der.ts";

let pkijsPromise: Promise<typeof Pkijs> | undefined;
const parsed = new WeakMap<Uint8Array, Pkijs.Certificate>();

function toPkijs(pkijs: typeof Pkijs, der: Uint8Array): Pkijs.Certificate | undefined {
  let cert = parsed.get(der);
  if (!cert) {
    try {
      cert = pkijs.Certificate.fromBER(source(der));
    } catch {
      return undefined; // an unreadable extra certificate just cannot be on the path
    }
    parsed.set(der, cert);
  }
  return cert;
}

/** The outcome of path validation: a path, or why there is none. */
export type ChainResult = { trusted: true } | { trusted: false; reason: string };

/**
 * Looks for a path from `leaf` to one of `anchors` through `intermediates`,
 * valid at `checkTime`.
 */
export async function validateChain(
  leaf: Uint8Array,
  intermediates: Uint8Array[],
  anchors: Uint8Array[],
  checkTime: Date,
): Promise<ChainResult> {
  pkijsPromise ??= import("pkijs");
  const pkijs = await pkijsPromise;
  const leafCert = toPkijs(pkijs, leaf);
  if (!leafCert) return { trusted: false, reason: "signer certificate unreadable" };
  const trustedCerts = anchors.map((a) => toPkijs(pkijs, a)).filter((c) => c !== undefined);
  const certs = [leafCert];
  for (const der of intermediates) {
    if (der === leaf) continue;
    const c = toPkijs(pkijs, der);
    if (c) certs.push(c);
  }
  try {
    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts,
      certs,
      checkDate: checkTime,
    });
    const result = await engine.verify();
    if (result.result) return { trusted: true };
    return { trusted: false, reason: oneLine(result.resultMessage) || "no path to a trust anchor" };
  } catch (err) {
    // pkijs rejects with plain { resultMessage } objects as well as Errors.
    const e = err as { message?: string; resultMessage?: string };
    return { trusted: false, reason: oneLine(e?.resultMessage ?? e?.message ?? String(err)) };
  }
}

function oneLine(s: string): string {
  return s.split("\n")[0]!.trim();
}
