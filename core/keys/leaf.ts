/**
 * Which certificate in a file is the user's, and whether a private key
 * belongs to a certificate.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import type { CertInfo } from "./cert_info.ts";
import { certificateSpki, type LoadedKey } from "./private_key.ts";

const spkiCache = new WeakMap<CertInfo, Uint8Array>();

/** The certificate's public key as normalised SPKI DER. */
export function spkiOf(info: CertInfo): Uint8Array {
  let spki = spkiCache.get(info);
  if (!spki) {
    try {
      spki = certificateSpki(info.spki);
    } catch {
      spki = info.spki; // a key type node:crypto can't read; it will not match
    }
    spkiCache.set(info, spki);
  }
  return spki;
}

/** True when `key` is the private half of `info`'s public key. */
export function keyMatches(key: LoadedKey, info: CertInfo): boolean {
  return bytesEqual(key.spki, spkiOf(info));
}

/**
 * Splits a file's certificates into the user's and the intermediates. The
 * user's is the one matching `key`, else the non-CA certificate for
 * `address` (of several, as when a renewed certificate is added to the old
 * one's file: the one valid at `now`, the newest of those), else the first
 * non-CA one, else the first.
 *
 * @returns leaf undefined only when `certs` is empty; chain in file order
 */
export function pickLeaf(
  certs: CertInfo[],
  key?: LoadedKey,
  address?: string,
  now: Date = new Date(),
): { leaf: CertInfo | undefined; chain: CertInfo[] } {
  const leaf = (key && certs.find((c) => keyMatches(key, c))) ??
    newestValid(
      certs.filter((c) => !c.isCa && address !== undefined && c.emails.includes(address)),
      now,
    ) ??
    certs.find((c) => !c.isCa) ??
    certs[0];
  return { leaf, chain: certs.filter((c) => c !== leaf) };
}

/** The certificate valid at `now` with the latest notBefore, else the first one. */
function newestValid(certs: CertInfo[], now: Date): CertInfo | undefined {
  const valid = certs.filter((c) => c.notBefore <= now && now <= c.notAfter);
  return valid.reduce<CertInfo | undefined>(
    (best, c) => !best || c.notBefore > best.notBefore ? c : best,
    undefined,
  ) ?? certs[0];
}
