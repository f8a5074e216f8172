/**
 * RC2 (RFC 2268) for reading legacy PKCS#12 files, whose certificate bags
 * OpenSSL 1.x and Windows encrypt with pbeWithSHAAnd40BitRC2-CBC. Neither
 * WebCrypto nor Deno's node:crypto offers RC2, so the block cipher lives
 * here: key expansion with an effective key length (section 2), the
 * decryption rounds (section 4), and CBC with PKCS#7 padding on top. The
 * encryption rounds (section 3) are here only so the RFC's section 5 test
 * vectors, which are given for encryption, can be checked.
 *
 * RC2 is weak (40-bit keys, 64-bit blocks); this exists to open old files,
 * never to write new ones.
 *
 * @module
 */

/**
 * PITABLE from RFC 2268 section 2: a permutation of 0..255 derived from the
 * digits of pi.
 */
const PITABLE = Uint8Array.from(
  [
    "d978f9c419ddb5ed28e9fd794aa0d89d",
    "c67e37832b76538e624c6488448bfba2",
    "179a59f587b34f1361456d8d09817d32",
    "bd8f40eb86b77b0bf09521225c6b4e82",
    "54d66593ce60b21c7356c014a78cf1dc",
    "1275ca1f3bbee4d1423dd430a33cb626",
    "6fbf0eda4669075727f21d9bbc944303",
    "f811c7f690ef3ee706c3d52fc8661ed7",
    "08e8eade8052eef784aa72ac354d6a2a",
    "961ad2715a1549744b9fd05e0418a4ec",
    "c2e0416e0f51cbcc2491af50a1f47039",
    "997c3a8523b8b47afc02365b25559731",
    "2d5dfa98e38a92ae05df2910676cbac9",
    "d300e6cfe19ea82c6316013f58e289a9",
    "0d38341bab33ffb0bb480c5fb9b1cd2e",
    "c5f3db47e5a59c770aa62068fe7fc1ad",
  ].join("").match(/../g)!,
  (byte) => parseInt(byte, 16),
);

/** Rotation amounts s[0..3] of the mix step (RFC 2268 sections 3.1, 4.1). */
const SHIFT = [1, 2, 3, 5] as const;

/** RC2 works on 64-bit blocks. */
export const RC2_BLOCK_SIZE = 8;

/** A key or data the RC2 code cannot work with; the message holds no secret. */
export class Rc2Error extends Error {
  /** "padding": the last block's PKCS#7 padding is wrong (wrong key or damaged data). */
  readonly kind: "key" | "length" | "padding";
  /** @param kind see {@link Rc2Error.kind} @param message without any secret */
  constructor(kind: "key" | "length" | "padding", message: string) {
    super(message);
    this.name = "Rc2Error";
    this.kind = kind;
  }
}

/**
 * Key expansion (RFC 2268 section 2): turns a 1..128 byte key and an
 * effective key length of 1..1024 bits into the 64 16-bit words K[0..63].
 *
 * @param key the supplied key, T = key.length bytes
 * @param effectiveBits T1, the effective key length in bits; PKCS#12's
 *   40-bit and 128-bit RC2 schemes use key.length * 8
 * @returns the expanded key K
 * @throws {Rc2Error} "key" for an out-of-range key or effective length
 */
export function expandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  const t = key.length;
  if (t < 1 || t > 128) throw new Rc2Error("key", `RC2 key length ${t} bytes`);
  if (!Number.isInteger(effectiveBits) || effectiveBits < 1 || effectiveBits > 1024) {
    throw new Rc2Error("key", `RC2 effective key length ${effectiveBits} bits`);
  }
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  const l = new Uint8Array(128);
  l.set(key);
  // Spread the supplied key over all 128 bytes...
  for (let i = t; i < 128; i++) l[i] = PITABLE[(l[i - 1]! + l[i - t]!) & 0xff]!;
  // ...cut the search space down to the effective key length...
  l[128 - t8] = PITABLE[l[128 - t8]! & tm]!;
  // ...and make every byte depend on the reduced ones.
  for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[l[i + 1]! ^ l[i + t8]!]!;
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = l[2 * i]! | (l[2 * i + 1]! << 8);
  return k;
}

/** Reads the block at `offset` as the little-endian words R[0..3]. */
function readWords(src: Uint8Array, offset: number): number[] {
  const r = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) r[i] = src[offset + 2 * i]! | (src[offset + 2 * i + 1]! << 8);
  return r;
}

function writeWords(r: number[], dst: Uint8Array, offset: number): void {
  for (let i = 0; i < 4; i++) {
    dst[offset + 2 * i] = r[i]! & 0xff;
    dst[offset + 2 * i + 1] = r[i]! >> 8;
  }
}

/**
 * Encrypts one 8-byte block (RFC 2268 section 3.5): five mixing rounds, a
 * mashing round, six mixing rounds, a mashing round, five mixing rounds.
 * Only the tests need it: legacy PKCS#12 is read, never written.
 *
 * @param k the expanded key from {@link expandKey}
 * @param block 8 bytes of plaintext
 * @returns 8 bytes of ciphertext
 */
export function encryptBlock(k: Uint16Array, block: Uint8Array): Uint8Array {
  if (block.length !== RC2_BLOCK_SIZE) throw new Rc2Error("length", "RC2 block is not 8 bytes");
  const r = readWords(block, 0);
  let j = 0;
  // Section 3.1 mix up R[i], section 3.2 mixing round.
  const mixRound = () => {
    for (let i = 0; i < 4; i++) {
      const a = r[(i + 3) & 3]!, b = r[(i + 2) & 3]!, c = r[(i + 1) & 3]!;
      const x = (r[i]! + k[j++]! + (a & b) + (~a & c)) & 0xffff;
      r[i] = ((x << SHIFT[i]!) | (x >> (16 - SHIFT[i]!))) & 0xffff;
    }
  };
  // Section 3.3 mash R[i], section 3.4 mashing round.
  const mashRound = () => {
    for (let i = 0; i < 4; i++) r[i] = (r[i]! + k[r[(i + 3) & 3]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mixRound();
  mashRound();
  for (let n = 0; n < 6; n++) mixRound();
  mashRound();
  for (let n = 0; n < 5; n++) mixRound();
  const out = new Uint8Array(RC2_BLOCK_SIZE);
  writeWords(r, out, 0);
  return out;
}

/**
 * Decrypts one 8-byte block in place (RFC 2268 section 4.5): the section 3
 * steps undone in reverse order, j counting down from 63.
 */
function decryptBlockAt(k: Uint16Array, data: Uint8Array, offset: number): void {
  const r = readWords(data, offset);
  let j = 63;
  // Section 4.1 r-mix up R[i], section 4.2 r-mixing round (R[3] first).
  const rMixRound = () => {
    for (let i = 3; i >= 0; i--) {
      const x = r[i]!;
      const rotated = ((x >> SHIFT[i]!) | (x << (16 - SHIFT[i]!))) & 0xffff;
      const a = r[(i + 3) & 3]!, b = r[(i + 2) & 3]!, c = r[(i + 1) & 3]!;
      r[i] = (rotated - k[j--]! - (a & b) - (~a & c)) & 0xffff;
    }
  };
  // Section 4.3 r-mash R[i], section 4.4 r-mashing round (R[3] first).
  const rMashRound = () => {
    for (let i = 3; i >= 0; i--) r[i] = (r[i]! - k[r[(i + 3) & 3]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) rMixRound();
  rMashRound();
  for (let n = 0; n < 6; n++) rMixRound();
  rMashRound();
  for (let n = 0; n < 5; n++) rMixRound();
  writeWords(r, data, offset);
}

/**
 * Decrypts one 8-byte block (RFC 2268 section 4).
 *
 * @param k the expanded key from {@link expandKey}
 * @param block 8 bytes of ciphertext
 * @returns 8 bytes of plaintext
 */
export function decryptBlock(k: Uint16Array, block: Uint8Array): Uint8Array {
  if (block.length !== RC2_BLOCK_SIZE) throw new Rc2Error("length", "RC2 block is not 8 bytes");
  const out = new Uint8Array(block);
  decryptBlockAt(k, out, 0);
  return out;
}

/**
 * RC2 in CBC mode with PKCS#7 padding (RFC 8018 B.2.3 / RFC 5652 6.3), as
 * the PKCS#12 RC2 schemes of RFC 7292 appendix C use it.
 *
 * @param key the key (5 bytes for 40-bit RC2, 16 for 128-bit)
 * @param effectiveBits the effective key length in bits, see {@link expandKey}
 * @param iv 8 bytes
 * @param data the ciphertext, a non-empty multiple of 8 bytes
 * @returns the plaintext without padding
 * @throws {Rc2Error} "key" / "length" for bad inputs, "padding" when the
 *   padding does not check out (in practice: the wrong password)
 */
export function rc2CbcDecrypt(
  key: Uint8Array,
  effectiveBits: number,
  iv: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  if (iv.length !== RC2_BLOCK_SIZE) throw new Rc2Error("length", "RC2 IV is not 8 bytes");
  if (data.length === 0 || data.length % RC2_BLOCK_SIZE !== 0) {
    throw new Rc2Error("length", "RC2-CBC data is not a whole number of blocks");
  }
  const k = expandKey(key, effectiveBits);
  const out = new Uint8Array(data);
  for (let offset = 0; offset < out.length; offset += RC2_BLOCK_SIZE) {
    decryptBlockAt(k, out, offset);
    const prev = offset === 0 ? iv : data.subarray(offset - RC2_BLOCK_SIZE, offset);
    for (let i = 0; i < RC2_BLOCK_SIZE; i++) out[offset + i] = out[offset + i]! ^ prev[i]!;
  }
  const pad = out[out.length - 1]!;
  let bad = pad < 1 || pad > RC2_BLOCK_SIZE ? 1 : 0;
  for (let i = 1; i <= RC2_BLOCK_SIZE; i++) {
    if (i <= pad && out[out.length - i] !== pad) bad = 1;
  }
  if (bad) throw new Rc2Error("padding", "RC2-CBC padding is wrong");
  return out.subarray(0, out.length - pad);
}
