/**
 * Ephemeral-static ECDH key agreement for CMS (RFC 5753 3.1): the
 * ECC-CMS-SharedInfo, the ANSI X9.63 KDF, and AES key wrap (RFC 3394)
 * of the content-encryption key.
 *
 * @module
 */

import { type Der, encode, explicit, octets, seq, source } from "./der.ts";

/**
 * ECC-CMS-SharedInfo (RFC 5753 7.2): the key-wrap AlgorithmIdentifier as
 * the message carries it, the optional ukm, and the KEK size in bits.
 */
export function sharedInfo(
  wrapAlgorithm: Uint8Array,
  kekBytes: number,
  ukm?: Uint8Array,
): Uint8Array {
  const bits = new Uint8Array(4);
  new DataView(bits.buffer).setUint32(0, kekBytes * 8);
  const parts: Der[] = [wrapAlgorithm];
  if (ukm) parts.push(explicit(0, octets(ukm)));
  parts.push(explicit(2, octets(bits)));
  return encode(seq(...parts));
}

/**
 * ANSI X9.63 KDF as RFC 5753 7.1.4 uses it: Hash(Z || counter || SharedInfo)
 * for counter = 1, 2, ... (32-bit big-endian), truncated to `length`.
 */
export async function x963Kdf(
  hash: string,
  z: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const input = new Uint8Array(z.length + 4 + info.length);
  input.set(z, 0);
  input.set(info, z.length + 4);
  const view = new DataView(input.buffer);
  const out = new Uint8Array(length);
  for (let counter = 1, filled = 0; filled < length; counter++) {
    view.setUint32(z.length, counter);
    const block = new Uint8Array(await crypto.subtle.digest(hash, input));
    out.set(block.subarray(0, length - filled), filled);
    filled += block.length;
  }
  return out;
}

/** The ECDH shared secret Z between a private and a public key. */
export async function sharedSecret(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  curve: string,
): Promise<Uint8Array> {
  const bits = curve === "P-521" ? 528 : Number(curve.slice(2));
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: publicKey }, privateKey, bits),
  );
}

/** AES key wrap (RFC 3394) of `cek` under `kek`. */
export async function wrapKey(kek: Uint8Array, cek: Uint8Array): Promise<Uint8Array> {
  const wrapping = await crypto.subtle.importKey("raw", source(kek), "AES-KW", false, ["wrapKey"]);
  const key = await crypto.subtle.importKey("raw", source(cek), "AES-CBC", true, ["encrypt"]);
  return new Uint8Array(await crypto.subtle.wrapKey("raw", key, wrapping, "AES-KW"));
}

/**
 * AES key unwrap (RFC 3394); rejects when the integrity check fails.
 */
export async function unwrapKey(kek: Uint8Array, wrapped: Uint8Array): Promise<Uint8Array> {
  const unwrapping = await crypto.subtle.importKey("raw", source(kek), "AES-KW", false, [
    "unwrapKey",
  ]);
  const key = await crypto.subtle.unwrapKey(
    "raw",
    source(wrapped),
    unwrapping,
    "AES-KW",
    "AES-CBC",
    true,
    ["decrypt"],
  );
  return new Uint8Array(await crypto.subtle.exportKey("raw", key));
}
