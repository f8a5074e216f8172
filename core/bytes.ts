/**
 * Byte helpers every layer shares: join, compare, and Latin-1 (one byte per
 * char) in both directions. One copy, so a fix or a faster form reaches every
 * caller.
 *
 * @module
 */

/**
 * Joins byte arrays into one new array (one allocation, then a copy each).
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 *
 * const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * if (joined.join() !== "1,2,3") throw new Error("not joined");
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * True when two byte arrays hold the same bytes. It reads every byte rather
 * than stopping at the first difference, so its time says little about where
 * two digests differ.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

// Chars per String.fromCharCode call: large enough to be fast, small enough
// that the argument list cannot overflow the stack.
const DECODE_CHUNK = 0x8000;

/**
 * Decodes bytes as ISO-8859-1: byte n becomes char U+00nn, for every n, so
 * {@link latin1ToBytes} gives the same bytes back. Not `new TextDecoder("latin1")`:
 * WHATWG makes that label windows-1252, which turns 0x80-0x9F into other
 * chars (0x80 becomes U+20AC).
 *
 * @example
 * ```ts
 * import { bytesToLatin1 } from "./bytes.ts";
 *
 * const text = bytesToLatin1(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x80]));
 * if (text !== "caf\xe9\x80") throw new Error(JSON.stringify(text));
 * ```
 */
export function bytesToLatin1(bytes: Uint8Array): string {
  if (bytes.length <= DECODE_CHUNK) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += DECODE_CHUNK) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + DECODE_CHUNK) as unknown as number[],
    );
  }
  return out;
}

/**
 * Encodes a string one byte per char, the inverse of {@link bytesToLatin1}.
 * Meant for chars below U+0100; a char above keeps only its low 8 bits.
 *
 * @example
 * ```ts
 * import { latin1ToBytes } from "./bytes.ts";
 *
 * const bytes = latin1ToBytes("caf\xe9");
 * if (bytes.join() !== "99,97,102,233") throw new Error(bytes.join());
 * ```
 */
export function latin1ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * Bytes made piece by piece on demand, of a size known up front: a large
 * message that is only ever read through (encrypted, encoded, written to a
 * socket or a file) need never exist whole. Each call of `pieces` starts
 * over and gives the same bytes; a piece may be a scratch buffer that the
 * next piece overwrites, so a reader is done with a piece (or copied it)
 * before it asks for the next.
 */
export interface ByteSource {
  readonly size: number;
  pieces(): Iterable<Uint8Array>;
  /**
   * Whether every byte is 7-bit, when known: true for ASCII header fields
   * and base64, false when some byte is not; a reader that asks (SMTP's
   * BODY=8BITMIME) then need not make the pieces to look. Absent: not known.
   */
  readonly isAscii?: boolean;
}

/**
 * `head` then the bytes of `source`, as one source: the outer header of a
 * message in front of its sealed entity, without copying either.
 */
export function prefixSource(head: Uint8Array, source: ByteSource): ByteSource {
  return {
    size: head.length + source.size,
    *pieces() {
      if (head.length > 0) yield head;
      yield* source.pieces();
    },
    isAscii: isAsciiBytes(head) ? source.isAscii : false,
  };
}

/** True when every byte is below 0x80 (a message head: a few hundred bytes). */
function isAsciiBytes(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

/** The bytes of a source, joined into one new array. */
export function joinSource(source: ByteSource): Uint8Array {
  const out = new Uint8Array(source.size);
  let o = 0;
  for (const piece of source.pieces()) {
    if (o + piece.length > out.length) throw new Error("byte source: more than its size");
    out.set(piece, o);
    o += piece.length;
  }
  if (o !== out.length) throw new Error("byte source: less than its size");
  return out;
}
