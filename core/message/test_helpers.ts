/**
 * Helpers for this folder's tests: UTF-8 text to bytes and back, and
 * deterministic random input.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A string from UTF-8 bytes. */
export function textOf(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** A deterministic pseudo-random byte source (xorshift32), for property tests. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** The text with its LF line ends cycled through CRLF, LF, CRLF and bare CR. */
export function mixLineEnds(text: string): string {
  const ends = ["\r\n", "\n", "\r\n", "\r"];
  let k = 0;
  return text.replace(/\n/g, () => ends[k++ % ends.length]!);
}

/** A message with `levels` multiparts nested one inside the other. */
export function deepMessage(levels: number, leafText = "caf\u00e9"): string {
  let inner = `Content-Type: text/plain\n\n${leafText}\n`;
  for (let i = levels; i > 0; i--) {
    inner = `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n${inner}\n--b${i}--\n`;
  }
  return `From: alice@example.com\n${inner}`;
}
