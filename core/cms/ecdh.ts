/**
 * Ephemeral-static ECDH key agreement for CMS (RFC 5753 3.1): the
 * ECC-CMS-SharedInfo, the ANSI X9.63 KDF, and AES key wrap (RFC 3394)
 * of the content-encryption key.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import { type Der, encode, explicit, octets, seq } from "./der.ts";

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
 * Synchronous (node:crypto): a KEK takes a block or two of hashing, less
 * than the promise round trip WebCrypto's digest would cost per recipient.
 *
 * @param hash "SHA-256", "SHA-384" or "SHA-512"
 */
export function x963Kdf(
  hash: string,
  z: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const algorithm = hash.replace("-", "").toLowerCase();
  const counter = new Uint8Array(4);
  const view = new DataView(counter.buffer);
  const out = new Uint8Array(length);
  for (let i = 1, filled = 0; filled < length; i++) {
    view.setUint32(0, i);
    const block = createHash(algorithm).update(z).update(counter).update(info).digest();
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

/** node:crypto's AES key wrap (RFC 3394 2.2.1, default IV) per KEK length in bytes. */
const wrapCiphers: Record<number, string> = {
  16: "aes128-wrap",
  24: "aes192-wrap",
  32: "aes256-wrap",
};

function wrapCipher(kek: Uint8Array): string {
  const name = wrapCiphers[kek.length];
  if (!name) throw new RangeError(`AES key wrap: no cipher for a ${kek.length}-byte KEK`);
  return name;
}

/**
 * AES key wrap (RFC 3394) of `cek` under `kek`, synchronous (node:crypto,
 * which needs no FFI, so SMIMEPOST_NO_FFI=1 takes the same path).
 *
 * @throws RangeError for a KEK that is not 16, 24 or 32 bytes
 */
export function wrapKey(kek: Uint8Array, cek: Uint8Array): Uint8Array {
  const cipher = createCipheriv(wrapCipher(kek), kek, null);
  return concatBytes([cipher.update(cek), cipher.final()]);
}

/**
 * AES key unwrap (RFC 3394), synchronous.
 *
 * @returns the key, or undefined when the integrity check (RFC 3394
 *   2.2.3) fails, as it does under a wrong KEK
 * @throws RangeError for a KEK that is not 16, 24 or 32 bytes
 */
export function unwrapKey(kek: Uint8Array, wrapped: Uint8Array): Uint8Array | undefined {
  const decipher = createDecipheriv(wrapCipher(kek), kek, null);
  try {
    return concatBytes([decipher.update(wrapped), decipher.final()]);
  } catch {
    return undefined;
  }
}
