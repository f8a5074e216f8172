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
 * user's is the one matching `key`, else the first non-CA certificate for
 * `address`, else the first non-CA one, else the first.
 *
 * @returns leaf undefined only when `certs` is empty; chain in file order
 */
export function pickLeaf(
  certs: CertInfo[],
  key?: LoadedKey,
  address?: string,
): { leaf: CertInfo | undefined; chain: CertInfo[] } {
  const leaf = (key && certs.find((c) => keyMatches(key, c))) ??
    certs.find((c) => !c.isCa && address !== undefined && c.emails.includes(address)) ??
    certs.find((c) => !c.isCa) ??
    certs[0];
  return { leaf, chain: certs.filter((c) => c !== leaf) };
}
