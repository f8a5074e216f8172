/**
 * What goes on the wire for one message: checked envelope addresses, and the
 * message bytes in DATA form (RFC 5321 4.1.1.4, 4.5.2): every bare CR and
 * bare LF made CRLF, lines starting with "." dot-stuffed, a final CRLF, then
 * ".\r\n". Never a bare CR or LF on the wire (SMTP smuggling,
 * CVE-2023-51764/51765/51766).
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
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

/** True when any byte has the high bit set (BODY=8BITMIME is then declared, RFC 6152). */
export function hasEightBit(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! & 0x80) return true;
  return false;
}

/** True when [start, end) (starting a line) needs no change: CRLF only, no leading dot. */
function isCleanWindow(msg: Uint8Array, start: number, end: number): boolean {
  let pos = start;
  while (pos < end) {
    if (msg[pos] === DOT) return false;
    const lf = msg.indexOf(LF, pos);
    if (lf < 0 || lf >= end) {
      const cr = msg.indexOf(CR, pos);
      return cr < 0 || cr >= end;
    }
    if (lf === pos || msg[lf - 1] !== CR) return false;
    if (msg.indexOf(CR, pos) < lf - 1) return false;
    pos = lf + 1;
  }
  return true;
}

/** Copies [start, end) with line ends made CRLF and leading dots doubled. */
function encodeWindow(msg: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array((end - start) * 2 + 2);
  let o = 0;
  let atLineStart = true;
  for (let i = start; i < end; i++) {
    const b = msg[i]!;
    if (b === CR || b === LF) {
      out[o++] = CR;
      out[o++] = LF;
      atLineStart = true;
      if (b === CR && msg[i + 1] === LF) i++;
      continue;
    }
    if (atLineStart && b === DOT) out[o++] = DOT;
    out[o++] = b;
    atLineStart = false;
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
 */
export function* bodyChunks(msg: Uint8Array, window = DATA_WINDOW): Generator<Uint8Array> {
  let start = 0;
  while (start < msg.length) {
    // End each window just after an LF so no CRLF pair or line start is split.
    const lf = msg.indexOf(LF, Math.min(msg.length, start + window) - 1);
    const end = lf < 0 ? msg.length : lf + 1;
    yield isCleanWindow(msg, start, end) ? msg.subarray(start, end) : encodeWindow(msg, start, end);
    start = end;
  }
}

/** What follows the body: CRLF when the last line is unterminated, then ".\r\n". */
export function dataTail(msg: Uint8Array): Uint8Array {
  const last = msg[msg.length - 1];
  return msg.length === 0 || last === LF || last === CR ? END_OF_DATA : CRLF_END_OF_DATA;
}

/**
 * The whole DATA form in one buffer, for tests and small messages.
 */
export function encodeData(msg: Uint8Array): Uint8Array {
  return concatBytes([...bodyChunks(msg), dataTail(msg)]);
}
