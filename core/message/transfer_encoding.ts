/**
 * Content-Transfer-Encodings (RFC 2045 6): base64 and quoted-printable, both
 * ways, working on bytes with preallocated buffers (5 MB attachments pass
 * through here).
 *
 * @module
 */

import { getHeader } from "./parse_message.ts";
import type { HeaderField, MimeNode } from "./types.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;
const EQ = 61;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENC = new Uint8Array(64).map((_, i) => ALPHABET.charCodeAt(i));
const DEC = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();
const HEX = new Uint8Array(16).map((_, i) => "0123456789ABCDEF".charCodeAt(i));
const HEX_VALUE = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 16; i++) {
    t["0123456789ABCDEF".charCodeAt(i)] = i;
    t["0123456789abcdef".charCodeAt(i)] = i;
  }
  return t;
})();

/** The Content-Transfer-Encoding of an entity, lower-cased; "7bit" when absent. */
export function transferEncodingOf(headers: HeaderField[]): string {
  const field = getHeader({ headers }, "Content-Transfer-Encoding");
  if (field === undefined) return "7bit";
  const value = field.value.replace(/\([^)]*\)/g, "").trim().toLowerCase();
  return value === "" ? "7bit" : value;
}

/**
 * Base64 with 76-character lines joined by CRLF, no final line end
 * (RFC 2045 6.8).
 */
export function encodeBase64(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(base64Length(bytes.length));
  const writer = new Base64Writer(out, 0);
  writer.write(bytes);
  writer.finish();
  return out;
}

/** The length of {@link encodeBase64}'s output for `n` input bytes. */
export function base64Length(n: number): number {
  const quads = Math.ceil(n / 3);
  const lines = Math.ceil(quads / QUADS_PER_LINE);
  return quads * 4 + Math.max(0, lines - 1) * 2;
}

/**
 * {@link encodeBase64} for input that arrives in pieces, written into a
 * buffer the caller sized with {@link base64Length} (at `offset`, after a
 * MIME header, say): the output is byte for byte encodeBase64 of the pieces
 * joined, without joining them.
 */
export class Base64Writer {
  readonly #out: Uint8Array;
  #o: number;
  /** Where the output since the last take() starts. */
  #start: number;
  /** Quads on the current line (19 make 76 characters). */
  #q = 0;
  /** Up to two bytes left over from the last piece. */
  readonly #carry = new Uint8Array(3);
  #carried = 0;

  /** @param out the output buffer; @param offset where the base64 starts */
  constructor(out: Uint8Array, offset: number) {
    this.#out = out;
    this.#o = offset;
    this.#start = offset;
  }

  /** Encodes the next piece of input. */
  write(bytes: Uint8Array): void {
    const n = bytes.length;
    let i = 0;
    if (this.#carried > 0) {
      while (this.#carried < 3 && i < n) this.#carry[this.#carried++] = bytes[i++]!;
      if (this.#carried < 3) return;
      this.#carried = 0;
      this.#encodeRun(this.#carry, 0, 3);
    }
    const whole = i + Math.floor((n - i) / 3) * 3;
    this.#encodeRun(bytes, i, whole);
    for (i = whole; i < n; i++) this.#carry[this.#carried++] = bytes[i]!;
  }

  /**
   * The output written since the buffer's start or the last take, as a view
   * of the buffer; writing then starts again at the buffer's start, so the
   * view is good until the next write. For encoders that stream.
   */
  take(): Uint8Array {
    const written = this.#out.subarray(this.#start, this.#o);
    this.#start = 0;
    this.#o = 0;
    return written;
  }

  /** Writes the padding of the last quad; returns the offset after the base64. */
  finish(): number {
    const out = this.#out;
    let o = this.#o;
    if (this.#carried > 0) {
      if (this.#q === QUADS_PER_LINE) {
        out[o++] = CR;
        out[o++] = LF;
      }
      const c = this.#carry;
      const v = (c[0]! << 16) | (this.#carried > 1 ? c[1]! << 8 : 0);
      out[o++] = ENC[v >> 18]!;
      out[o++] = ENC[(v >> 12) & 63]!;
      out[o++] = this.#carried > 1 ? ENC[(v >> 6) & 63]! : EQ;
      out[o++] = EQ;
      this.#carried = 0;
    }
    this.#o = o;
    return o;
  }

  /**
   * Encodes bytes[start, end), a whole number of triples: long runs through
   * V8's native base64 (many times faster than a loop over triples), the
   * rest, and the end of a line already begun, through the loop.
   */
  #encodeRun(bytes: Uint8Array, start: number, end: number): void {
    if (end - start < NATIVE_RUN || !nativeBase64) {
      this.#encodeLoop(bytes, start, end);
      return;
    }
    let i = start;
    if (this.#q > 0 && this.#q < QUADS_PER_LINE) {
      i += Math.min(QUADS_PER_LINE - this.#q, (end - i) / 3) * 3;
      this.#encodeLoop(bytes, start, i);
    }
    if (i < end) this.#encodeNative(bytes.subarray(i, end));
  }

  /**
   * Encodes whole triples that start a new line (the current one is empty
   * or full): the native base64 is written at the end of the output's room,
   * then each 76-character line moved forward to its place, a CRLF before it.
   */
  #encodeNative(triples: Uint8Array): void {
    const out = this.#out;
    const flat = nativeBase64!(triples);
    const quads = flat.length / 4;
    const lines = Math.ceil(quads / QUADS_PER_LINE);
    const lead = this.#q === QUADS_PER_LINE ? 2 : 0;
    const o = this.#o;
    const size = lead + flat.length + (lines - 1) * 2;
    const from = o + size - flat.length;
    asciiEncoder.encodeInto(flat, out.subarray(from, o + size));
    // Line j goes to o + lead + 78 j, from `from` + 76 j: never after its
    // source, and its CRLF lands before any source byte not yet moved.
    let to = o;
    for (let at = 0; at < flat.length; at += LINE) {
      if (at > 0 || lead > 0) {
        out[to++] = CR;
        out[to++] = LF;
      }
      const length = Math.min(LINE, flat.length - at);
      out.copyWithin(to, from + at, from + at + length);
      to += length;
    }
    this.#o = to;
    this.#q = quads - (lines - 1) * QUADS_PER_LINE;
  }

  #encodeLoop(bytes: Uint8Array, start: number, end: number): void {
    const out = this.#out;
    let o = this.#o;
    let q = this.#q;
    for (let i = start; i < end; i += 3) {
      if (q === QUADS_PER_LINE) {
        out[o++] = CR;
        out[o++] = LF;
        q = 0;
      }
      const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out[o++] = ENC[v >> 18]!;
      out[o++] = ENC[(v >> 12) & 63]!;
      out[o++] = ENC[(v >> 6) & 63]!;
      out[o++] = ENC[v & 63]!;
      q++;
    }
    this.#o = o;
    this.#q = q;
  }
}

/** Quads on a full base64 line, and the line's characters. */
const QUADS_PER_LINE = 19;
const LINE = QUADS_PER_LINE * 4;
/** Runs of at least this many input bytes go through the native encoder. */
const NATIVE_RUN = 57 * 4;
const asciiEncoder = new TextEncoder();
/** V8's `Uint8Array.prototype.toBase64` (padded, no line breaks), where the runtime has it. */
const nativeBase64 = typeof (Uint8Array.prototype as { toBase64?: unknown }).toBase64 ===
    "function"
  ? (bytes: Uint8Array) => (bytes as Uint8Array & { toBase64(): string }).toBase64()
  : undefined;

/** Input bytes a {@link base64Pieces} piece covers at most (a multiple of 57: whole lines). */
const PIECE_INPUT = 57 * 16 * 1024;

/**
 * {@link encodeBase64} of the chunks joined, streamed: pieces of at most
 * about 1.2 MB, each written into the same scratch buffer and good until
 * the next is asked for. A 51 MB input never has a 69 MB output.
 *
 * @param size the input's total size, when known, to size the scratch buffer
 */
export function* base64Pieces(
  chunks: Iterable<Uint8Array>,
  size: number = PIECE_INPUT,
): Generator<Uint8Array> {
  // Two carried bytes, and a line end before the first quad of a piece. A
  // small input gets a small scratch buffer: messages are mostly small.
  const scratch = new Uint8Array(base64Length(Math.min(size, PIECE_INPUT) + 2) + 4);
  const writer = new Base64Writer(scratch, 0);
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += PIECE_INPUT) {
      writer.write(chunk.subarray(at, at + PIECE_INPUT));
      yield writer.take();
    }
  }
  writer.finish();
  yield writer.take();
}

/** Tolerant base64 decoding: bytes outside the alphabet, padding included, are skipped. */
export function decodeBase64(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor((bytes.length * 3) / 4) + 3);
  return out.slice(0, decodeBase64Into(bytes, out));
}

/**
 * Decodes `bytes` into `out` (which may be `bytes` itself: each group of
 * four characters becomes three bytes, so the writing never overtakes the
 * reading); returns the decoded length.
 */
function decodeBase64Into(bytes: Uint8Array, out: Uint8Array): number {
  let o = 0;
  let acc = 0;
  let count = 0;
  for (let i = 0; i < bytes.length; i++) {
    const v = DEC[bytes[i]!]!;
    if (v < 0) continue;
    acc = (acc << 6) | v;
    if (++count === 4) {
      out[o++] = (acc >> 16) & 255;
      out[o++] = (acc >> 8) & 255;
      out[o++] = acc & 255;
      acc = 0;
      count = 0;
    }
  }
  if (count === 2) out[o++] = (acc >> 4) & 255;
  if (count === 3) {
    out[o++] = (acc >> 10) & 255;
    out[o++] = (acc >> 2) & 255;
  }
  return o;
}

/**
 * Quoted-printable (RFC 2045 6.7) with soft line breaks keeping lines within
 * 76 characters.
 *
 * In text mode every line end (CRLF, bare LF, bare CR) becomes a CRLF hard
 * break, as text is in canonical form; in binary mode CR and LF are encoded
 * as =0D and =0A so that decoding gives back the exact bytes. Trailing
 * whitespace is encoded (rule 3) and, defensively, a "." or "From " at the
 * start of a line (RFC 2049 3: dot-stuffing and mbox).
 */
export function encodeQuotedPrintable(bytes: Uint8Array, text = true): Uint8Array {
  const n = bytes.length;
  const out = new Uint8Array(n * 3 + Math.ceil((n * 3) / 73) * 3 + 8);
  let o = 0;
  let col = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (text && (b === CR || b === LF)) {
      out[o++] = CR;
      out[o++] = LF;
      col = 0;
      if (b === CR && bytes[i + 1] === LF) i++;
      continue;
    }
    const next = bytes[i + 1];
    const atEnd = next === undefined || (text && (next === CR || next === LF));
    let literal = (b >= 33 && b <= 126 && b !== EQ) || ((b === SP || b === TAB) && !atEnd);
    if (col + (literal ? 1 : 3) > 75) {
      out[o++] = EQ;
      out[o++] = CR;
      out[o++] = LF;
      col = 0;
    }
    if (col === 0 && literal && (b === 0x2e || (b === 0x46 && isRomSpace(bytes, i + 1)))) {
      literal = false;
    }
    if (literal) {
      out[o++] = b;
      col++;
    } else {
      out[o++] = EQ;
      out[o++] = HEX[b >> 4]!;
      out[o++] = HEX[b & 15]!;
      col += 3;
    }
  }
  return out.slice(0, o);
}

/** "rom " follows at `i` (so "F" at i-1 starts an mbox "From " line). */
function isRomSpace(bytes: Uint8Array, i: number): boolean {
  return bytes[i] === 0x72 && bytes[i + 1] === 0x6f && bytes[i + 2] === 0x6d &&
    bytes[i + 3] === SP;
}

/**
 * Tolerant quoted-printable decoding (RFC 2045 6.7): "=XX" in either case,
 * soft breaks (with transport-added whitespace before the line end), trailing
 * whitespace deleted, a stray "=" kept as is, hard line ends kept as written.
 */
export function decodeQuotedPrintable(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === EQ) {
      const hi = HEX_VALUE[bytes[i + 1] ?? 0]!;
      const lo = HEX_VALUE[bytes[i + 2] ?? 0]!;
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
      let j = i + 1;
      while (bytes[j] === SP || bytes[j] === TAB) j++;
      if (j >= n || bytes[j] === CR || bytes[j] === LF) {
        // Soft line break: drop "=", whitespace and the line end.
        if (bytes[j] === CR && bytes[j + 1] === LF) j++;
        i = j;
        continue;
      }
      out[o++] = b;
    } else if (b === SP || b === TAB) {
      let j = i;
      while (bytes[j] === SP || bytes[j] === TAB) j++;
      if (j >= n || bytes[j] === CR || bytes[j] === LF) {
        i = j - 1;
        continue;
      }
      out.set(bytes.subarray(i, j), o);
      o += j - i;
      i = j - 1;
    } else {
      out[o++] = b;
    }
  }
  return out.slice(0, o);
}

/**
 * The body of a MIME entity with its Content-Transfer-Encoding undone:
 * base64 and quoted-printable decoded tolerantly, anything else as is.
 *
 * @param node a node from parseMimeTree
 * @returns the decoded bytes (the node's own body for identity encodings)
 * @example
 * ```ts
 * import { parseMimeTree } from "./mime_tree.ts";
 * const root = parseMimeTree(
 *   new TextEncoder().encode("Content-Transfer-Encoding: base64\n\naGk=\n"),
 *   "m.eml",
 * );
 * new TextDecoder().decode(decodeBody(root)); // "hi"
 * ```
 */
export function decodeBody(node: MimeNode): Uint8Array {
  const cte = transferEncodingOf(node.headers);
  if (cte === "base64") return decodeBase64(node.body);
  if (cte === "quoted-printable") return decodeQuotedPrintable(node.body);
  return node.body;
}

/**
 * {@link decodeBase64} written over its own input: the bytes decode into the
 * start of `bytes` (each group of four characters becomes three bytes, so
 * the writing never overtakes the reading) and the decoded part is
 * returned, a view of the same buffer. For a caller that owns the input and
 * is done with its text: a 95 MB sealed message is then not joined by a
 * 70 MB copy of its DER.
 */
export function decodeBase64InPlace(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, decodeBase64Into(bytes, bytes));
}

/**
 * {@link decodeBody} that decodes base64 over the node's own bytes
 * ({@link decodeBase64InPlace}): the message they are part of is used up.
 * Quoted-printable is decoded into a new array, anything else is the body.
 */
export function decodeBodyInPlace(node: MimeNode): Uint8Array {
  if (transferEncodingOf(node.headers) === "base64") return decodeBase64InPlace(node.body);
  return decodeBody(node);
}
