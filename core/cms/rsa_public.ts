/**
 * RSA public-key operations in BigInt arithmetic, for the keys Deno's
 * WebCrypto and node:crypto cannot take: both refuse to import an RSA
 * public key whose modulus is over 4096 bits ("SPKI cryptographic key data
 * malformed", "modulus too large"), although they sign and decrypt with such
 * private keys. Verifying (RSASSA-PKCS1-v1_5, RSASSA-PSS) and encrypting
 * (RSAES-PKCS1-v1_5, RSAES-OAEP with SHA-256) use only the public exponent,
 * so a few BigInt multiplications do it; no secret is involved except the
 * content-encryption key being wrapped, which this process made itself.
 * RFC 8017 sections 5, 7, 8 and 9 are followed step by step.
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import { AsnError, DerReader, parseTlv, readOid, Tag } from "./der.ts";
import { Oid } from "./oids.ts";

/** Largest modulus Deno's WebCrypto and node:crypto import as a public key. */
export const WEBCRYPTO_MAX_RSA_BITS = 4096;

/** An RSA public key (RFC 8017 3.1). */
export interface RsaPublicKey {
  n: bigint;
  e: bigint;
  /** Modulus size in bits. */
  bits: number;
  /** Modulus size in bytes, k in RFC 8017. */
  size: number;
}

/**
 * Reads an RSA SubjectPublicKeyInfo (RFC 3279 2.3.1).
 * @throws AsnError when it is not one
 */
export function readRsaPublicKey(spki: Uint8Array): RsaPublicKey {
  const r = new DerReader(parseTlv(spki));
  const alg = r.enter(Tag.sequence, "algorithm");
  if (readOid(alg.next(Tag.oid, "algorithm")) !== Oid.rsaEncryption) {
    throw new AsnError("not an RSA public key");
  }
  const bits = r.next(Tag.bitString, "subjectPublicKey").value;
  if (bits[0] !== 0) throw new AsnError("RSA public key has unused bits");
  const key = new DerReader(parseTlv(bits.subarray(1)));
  const n = toBigInt(key.next(Tag.integer, "modulus").value);
  const e = toBigInt(key.next(Tag.integer, "publicExponent").value);
  if (n <= 0n || e <= 1n || (n & 1n) === 0n) throw new AsnError("malformed RSA public key");
  const bitCount = n.toString(2).length;
  return { n, e, bits: bitCount, size: Math.ceil(bitCount / 8) };
}

/** The modulus size in bits of an RSA SubjectPublicKeyInfo, 0 when it is not one. */
export function rsaBitsOf(spki: Uint8Array): number {
  try {
    return readRsaPublicKey(spki).bits;
  } catch {
    return 0;
  }
}

/** Whether WebCrypto and node:crypto refuse this SubjectPublicKeyInfo for its size. */
export function isTooLargeForWebCrypto(spki: Uint8Array): boolean {
  return rsaBitsOf(spki) > WEBCRYPTO_MAX_RSA_BITS;
}

/** Hash names as WebCrypto spells them, to node:crypto's names and lengths. */
const HASHES: Record<string, { node: string; length: number; digestInfo: string }> = {
  // DigestInfo prefixes: RFC 8017 9.2 note 1.
  "SHA-1": { node: "sha1", length: 20, digestInfo: "3021300906052b0e03021a05000414" },
  "SHA-256": {
    node: "sha256",
    length: 32,
    digestInfo: "3031300d060960864801650304020105000420",
  },
  "SHA-384": {
    node: "sha384",
    length: 48,
    digestInfo: "3041300d060960864801650304020205000430",
  },
  "SHA-512": {
    node: "sha512",
    length: 64,
    digestInfo: "3051300d060960864801650304020305000440",
  },
};

function hashSpec(hash: string) {
  const spec = HASHES[hash];
  if (!spec) throw new AsnError(`unsupported hash ${hash}`);
  return spec;
}

/**
 * Verifies an RSA signature over `data`.
 *
 * @param scheme "pkcs1" (RSASSA-PKCS1-v1_5) or "pss" (RSASSA-PSS, MGF1 with the same hash)
 * @param hash WebCrypto hash name: "SHA-1", "SHA-256", "SHA-384", "SHA-512"
 * @param saltLength the PSS salt length; ignored for PKCS#1 v1.5
 * @returns true when valid
 * @throws AsnError for an unknown hash
 */
export function rsaVerify(
  key: RsaPublicKey,
  scheme: "pkcs1" | "pss",
  hash: string,
  saltLength: number,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const spec = hashSpec(hash);
  const digest = new Uint8Array(createHash(spec.node).update(data).digest());
  // RSASSA-*-VERIFY step 1: the signature is exactly k octets.
  if (signature.length !== key.size) return false;
  const s = toBigInt(signature);
  if (s >= key.n) return false;
  const em = toBytes(modPow(s, key.e, key.n), key.size);
  return scheme === "pkcs1"
    ? constantTimeEqual(em, emsaPkcs1(spec.digestInfo, digest, key.size))
    : emsaPssVerify(spec, digest, em, key.bits - 1, saltLength);
}

/** EMSA-PKCS1-v1_5 encoding (RFC 8017 9.2): 00 01 FF.. 00 DigestInfo. */
function emsaPkcs1(prefixHex: string, digest: Uint8Array, size: number): Uint8Array {
  const t = new Uint8Array([...fromHex(prefixHex), ...digest]);
  const em = new Uint8Array(size);
  if (size < t.length + 11) return em; // can't match any signature
  em[1] = 1;
  em.fill(0xff, 2, size - t.length - 1);
  em.set(t, size - t.length);
  return em;
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2); `k` octets in, the leading ones zero when emLen < k. */
function emsaPssVerify(
  spec: { node: string; length: number },
  mHash: Uint8Array,
  encoded: Uint8Array,
  emBits: number,
  sLen: number,
): boolean {
  const hLen = spec.length;
  const emLen = Math.ceil(emBits / 8);
  const lead = encoded.length - emLen;
  if (encoded.subarray(0, lead).some((b) => b !== 0)) return false;
  const em = encoded.subarray(lead);
  if (emLen < hLen + sLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  const topMask = 0xff >> topBits;
  if ((maskedDb[0]! & ~topMask & 0xff) !== 0) return false;
  const db = xor(maskedDb, mgf1(spec.node, h, maskedDb.length));
  db[0]! &= topMask;
  const psLen = emLen - hLen - sLen - 2;
  if (db.subarray(0, psLen).some((b) => b !== 0) || db[psLen] !== 1) return false;
  const salt = db.subarray(db.length - sLen);
  const mPrime = new Uint8Array([...new Uint8Array(8), ...mHash, ...salt]);
  const hPrime = new Uint8Array(createHash(spec.node).update(mPrime).digest());
  return constantTimeEqual(h, hPrime);
}

/**
 * Encrypts `data` (a content-encryption key) to an RSA public key.
 *
 * @param mode "pkcs1" (RSAES-PKCS1-v1_5) or "oaep" (RSAES-OAEP, SHA-256 and
 *   MGF1-SHA-256, empty label, as encrypt.ts announces it)
 * @throws AsnError when `data` is too long for the key
 */
export function rsaEncrypt(
  key: RsaPublicKey,
  mode: "pkcs1" | "oaep",
  data: Uint8Array,
): Uint8Array {
  const k = key.size;
  let em: Uint8Array;
  if (mode === "pkcs1") {
    // RFC 8017 7.2.1: EM = 00 02 PS 00 M, PS at least 8 non-zero random octets.
    if (data.length > k - 11) throw new AsnError("message too long for the RSA key");
    em = new Uint8Array(k);
    em[1] = 2;
    em.set(nonZeroRandom(k - data.length - 3), 2);
    em.set(data, k - data.length);
  } else {
    // RFC 8017 7.1.1: EM = 00 maskedSeed maskedDB.
    const hLen = 32;
    if (data.length > k - 2 * hLen - 2) throw new AsnError("message too long for the RSA key");
    const db = new Uint8Array(k - hLen - 1);
    db.set(createHash("sha256").update(new Uint8Array(0)).digest());
    db[db.length - data.length - 1] = 1;
    db.set(data, db.length - data.length);
    const seed = new Uint8Array(randomBytes(hLen));
    const maskedDb = xor(db, mgf1("sha256", seed, db.length));
    const maskedSeed = xor(seed, mgf1("sha256", maskedDb, hLen));
    em = new Uint8Array([0, ...maskedSeed, ...maskedDb]);
  }
  return toBytes(modPow(toBigInt(em), key.e, key.n), k);
}

/** MGF1 (RFC 8017 B.2.1). */
function mgf1(hash: string, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const counter = new Uint8Array(4);
  for (let i = 0, done = 0; done < length; i++) {
    new DataView(counter.buffer).setUint32(0, i);
    const block = createHash(hash).update(seed).update(counter).digest();
    out.set(block.subarray(0, Math.min(block.length, length - done)), done);
    done += block.length;
  }
  return out;
}

function nonZeroRandom(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let filled = 0; filled < length;) {
    for (const b of randomBytes(length)) {
      if (b !== 0 && filled < length) out[filled++] = b;
    }
  }
  return out;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]!);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Left-to-right square-and-multiply; the exponent here is always public. */
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  for (const bit of exponent.toString(2)) {
    result = result * result % modulus;
    if (bit === "1") result = result * base % modulus;
  }
  return result;
}

/** OS2IP (RFC 8017 4.2): big-endian unsigned. */
function toBigInt(bytes: Uint8Array): bigint {
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex ? BigInt("0x" + hex) : 0n;
}

/** I2OSP (RFC 8017 4.1) to exactly `length` octets. */
function toBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16).padStart(length * 2, "0");
  return fromHex(hex);
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
