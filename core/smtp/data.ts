/**
 * What goes on the wire for one message: checked envelope addresses, and the
 * message bytes in DATA form (RFC 5321 4.1.1.4, 4.5.2): every bare CR and
 * bare LF made CRLF, lines starting with "." dot-stuffed, a final CRLF, then
 * ".\r\n". Never a bare CR or LF on the wire (SMTP smuggling,
 * CVE-2023-51764/51765/51766).
 *
 * @module
 */
import { isAscii as isAsciiBytes } from "node:buffer";
import { type ByteSource, concatBytes } from "../bytes.ts";
import { SmimeError } from "../errors.ts";

const CR = 13;
const LF = 10;
const DOT = 46;
const END_OF_DATA = new Uint8Array([DOT, CR, LF]);
const CRLF_END_OF_DATA = new Uint8Array([CR, LF, DOT, CR, LF]);

/** Size of the windows the message is encoded in; each ends after an LF. */
export const DATA_WINDOW = 256 * 1024;

/**
 * Refuses an envelope address that could smuggle commands or break the
 * syntax: control characters (CR, LF, NUL...), spaces, "<" and ">".
 *
 * @param allowEmpty true for the reverse path, where "" is the null sender
 * @throws {SmimeError} E_MESSAGE naming the address
 */
export function checkEnvelopeAddress(address: string, allowEmpty: boolean): void {
  if (address === "" && allowEmpty) return;
  if (address === "") throw new SmimeError("E_MESSAGE", "Cannot send: empty recipient address");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20\x7f<>]/.test(address)) {
    throw new SmimeError(
      "E_MESSAGE",
      `Cannot send to or from ${JSON.stringify(address)}: control characters, spaces and <> ` +
        "are not allowed in an envelope address",
    );
  }
}

/** True when every character is 7-bit ASCII. */
export function isAscii(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text);
}

/**
 * True when any byte has the high bit set (BODY=8BITMIME is then declared,
 * RFC 6152). Node's native check: a loop in JS over each message was a
 * tenth of the client's CPU in the raw injection bench. A source that
 * says (`isAscii`: a sealed message is ASCII head and base64) is not read;
 * another is read through once.
 */
export function hasEightBit(message: Uint8Array | ByteSource): boolean {
  if (message instanceof Uint8Array) return !isAsciiBytes(message);
  if (message.isAscii !== undefined) return !message.isAscii;
  for (const piece of message.pieces()) if (!isAsciiBytes(piece)) return true;
  return false;
}

/**
 * True when a byte of the header section (up to the first empty line, CRLF
 * or LF) has the high bit set. A source is read only as far as its header
 * section; one that fails there counts as false (sending it reports that).
 */
export function headerHasEightBit(message: Uint8Array | ByteSource): boolean {
  let atLineStart = true;
  let crAtLineStart = false;
  const scan = (piece: Uint8Array): boolean | undefined => {
    for (const byte of piece) {
      if (byte >= 0x80) return true;
      if (byte === LF) {
        if (atLineStart || crAtLineStart) return false;
        atLineStart = true;
        crAtLineStart = false;
        continue;
      }
      crAtLineStart = atLineStart && byte === CR;
      atLineStart = false;
    }
    return undefined;
  };
  if (message instanceof Uint8Array) return scan(message) ?? false;
  try {
    for (const piece of message.pieces()) {
      const found = scan(piece);
      if (found !== undefined) return found;
    }
  } catch {
    // The send reads it again and fails there, with its own error.
  }
  return false;
}

/**
 * The message with its 7-bit-ness known: a source that does not say is read
 * through now, so that no later step (the MAIL command, pipelined behind an
 * earlier message's data) has to make it, or can fail making it.
 */
export function withAsciiKnown(message: Uint8Array | ByteSource): Uint8Array | ByteSource {
  if (message instanceof Uint8Array || message.isAscii !== undefined) return message;
  const isAscii = !hasEightBit(message);
  return { size: message.size, pieces: () => message.pieces(), isAscii };
}

/** The size of a message, whole or as a source. */
export function messageSize(message: Uint8Array | ByteSource): number {
  return message instanceof Uint8Array ? message.length : message.size;
}

/**
 * True when [start, end) (starting a line) needs no change: CRLF only, no
 * leading dot. A plain loop over the bytes: one indexOf() call per line for
 * LF and another for CR cost more than looking at each byte once.
 */
function isCleanWindow(msg: Uint8Array, start: number, end: number): boolean {
  if (start < end && msg[start] === DOT) return false;
  for (let i = start; i < end; i++) {
    const b = msg[i]!;
    if (b > CR) continue;
    if (b === LF) return false;
    if (b === CR) {
      if (i + 1 >= end || msg[i + 1] !== LF) return false;
      i++;
      if (i + 1 < end && msg[i + 1] === DOT) return false;
    }
  }
  return true;
}

/**
 * Output buffers for encoded windows, used again once the socket has
 * written them: a fresh buffer per message was, with its page faults and
 * collection, as costly as the encoding itself. At most {@link POOLED}
 * buffers of at most {@link POOLED_MAX} bytes are kept, so one client holds
 * a bounded amount; larger windows get a buffer of their own.
 */
export class DataBuffers {
  #free: Uint8Array[] = [];
  #mine = new WeakSet<ArrayBufferLike>();

  /** A buffer of at least `size` bytes, a kept one when one is big enough. */
  take(size: number): Uint8Array {
    const i = this.#free.findIndex((b) => b.length >= size);
    if (i >= 0) return this.#free.splice(i, 1)[0]!;
    const buffer = new Uint8Array(size <= POOLED_MAX ? POOLED_MAX : size);
    this.#mine.add(buffer.buffer);
    return buffer;
  }

  /**
   * Takes back the buffer behind `view`, when it is one of these and nothing
   * refers to it any more (its write has completed); ignores any other.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!this.#mine.has(buffer) || buffer.byteLength > POOLED_MAX) return;
    if (this.#free.length >= POOLED) return;
    if (this.#free.some((b) => b.buffer === buffer)) return;
    this.#free.push(new Uint8Array(buffer));
  }
}

/**
 * Buffers a {@link DataBuffers} keeps: as many as a source's chunks can be
 * waiting for the socket at once (its writes stop at 512 KB unwritten,
 * connection.ts), so a large message reuses them instead of leaving a
 * buffer per chunk to the collector. A small message uses one or two.
 */
const POOLED = 12;
/** Largest buffer a {@link DataBuffers} keeps: windows up to half of it. */
const POOLED_MAX = 128 * 1024;

/**
 * Copies [start, end) into `out` with line ends made CRLF and leading dots
 * doubled; `out` holds at least 2 * (end - start) bytes. Most bytes are
 * above CR, so the loop tests that first.
 */
function encodeWindow(msg: Uint8Array, start: number, end: number, out: Uint8Array): Uint8Array {
  let o = 0;
  // A window starts a line.
  if (start < end && msg[start] === DOT) out[o++] = DOT;
  for (let i = start; i < end; i++) {
    const b = msg[i]!;
    if (b > CR || (b !== CR && b !== LF)) {
      out[o++] = b;
      continue;
    }
    out[o++] = CR;
    out[o++] = LF;
    if (b === CR && msg[i + 1] === LF) i++;
    if (i + 1 < end && msg[i + 1] === DOT) out[o++] = DOT;
  }
  return out.subarray(0, o);
}

/**
 * The message body in DATA form, as chunks to write in order: untouched
 * windows are views of `msg` (no copy), others are encoded copies of one
 * window, so a large message is never held several times over. The end of
 * data comes from {@link dataTail}.
 *
 * @param msg the message, any line ends
 * @param window approximate chunk size
 * @param buffers where the copies go; give each back once written
 */
export function* bodyChunks(
  msg: Uint8Array,
  window = DATA_WINDOW,
  buffers?: DataBuffers,
): Generator<Uint8Array> {
  let start = 0;
  while (start < msg.length) {
    // End each window just after an LF so no CRLF pair or line start is split.
    const lf = msg.indexOf(LF, Math.min(msg.length, start + window) - 1);
    const end = lf < 0 ? msg.length : lf + 1;
    if (isCleanWindow(msg, start, end)) yield msg.subarray(start, end);
    else {
      const size = (end - start) * 2;
      const out = buffers ? buffers.take(size) : new Uint8Array(size);
      yield encodeWindow(msg, start, end, out);
    }
    start = end;
  }
}

/**
 * What follows the body: CRLF when the last line is unterminated, then
 * ".\r\n". The last chunk of {@link bodyChunks} or {@link sourceChunks}
 * ends as the message does (an LF for a final CR or LF), so it may stand
 * for the message.
 */
export function dataTail(msg: Uint8Array): Uint8Array {
  const last = msg[msg.length - 1];
  return msg.length === 0 || last === LF || last === CR ? END_OF_DATA : CRLF_END_OF_DATA;
}

/** Input bytes {@link sourceChunks} encodes at a time: their output fits a pooled buffer. */
const SOURCE_WINDOW = POOLED_MAX / 2;

/** Where {@link sourceChunks} stands between slices: at a line start, just after a CR. */
interface LineState {
  atLineStart: boolean;
  afterCr: boolean;
}

/**
 * {@link bodyChunks} for a message that comes in pieces (a large sealed
 * message, never built whole). Every chunk is a copy in a buffer of its own
 * (a piece may be a scratch buffer the next one overwrites), at most
 * {@link SOURCE_WINDOW} bytes of input each; line ends and line starts are
 * followed across pieces, so the chunks joined are bodyChunks' output for
 * the joined pieces, byte for byte.
 *
 * @param buffers where the copies go; give each back once written
 */
export function* sourceChunks(source: ByteSource, buffers?: DataBuffers): Generator<Uint8Array> {
  const state: LineState = { atLineStart: true, afterCr: false };
  for (const piece of source.pieces()) {
    for (let at = 0; at < piece.length; at += SOURCE_WINDOW) {
      const slice = piece.subarray(at, at + SOURCE_WINDOW);
      const size = slice.length * 2;
      const out = buffers ? buffers.take(size) : new Uint8Array(size);
      const chunk = encodeSlice(slice, state, out);
      if (chunk.length > 0) yield chunk;
      else buffers?.give(out);
    }
  }
}

/**
 * One slice of a message in DATA form into `out` (at least twice its
 * length), `state` carried from the slice before and updated. A clean slice
 * (CRLF only, no leading dot, not ending in CR) is copied as it is.
 */
function encodeSlice(slice: Uint8Array, state: LineState, out: Uint8Array): Uint8Array {
  const n = slice.length;
  if (!state.afterCr && isCleanWindow(slice, 0, n)) {
    out.set(slice);
    state.atLineStart = slice[n - 1] === LF;
    return out.subarray(0, n);
  }
  let o = 0;
  let { atLineStart, afterCr } = state;
  for (let i = 0; i < n; i++) {
    const b = slice[i]!;
    if (afterCr && b === LF) {
      // The LF of a CRLF whose CR ended the slice before: written with it.
      afterCr = false;
      continue;
    }
    afterCr = false;
    if (b !== CR && b !== LF) {
      if (atLineStart && b === DOT) out[o++] = DOT;
      out[o++] = b;
      atLineStart = false;
      continue;
    }
    out[o++] = CR;
    out[o++] = LF;
    atLineStart = true;
    if (b === CR && slice[i + 1] === LF) i++;
    else afterCr = b === CR && i + 1 === n;
  }
  state.atLineStart = atLineStart;
  state.afterCr = afterCr;
  return out.subarray(0, o);
}

/**
 * The whole DATA form in one buffer, for tests and small messages.
 */
export function encodeData(msg: Uint8Array): Uint8Array {
  return concatBytes([...bodyChunks(msg), dataTail(msg)]);
}
