/**
 * Splits message bytes into header fields and body (RFC 5322 2.1, 2.2).
 *
 * Works on bytes and never looks at the body, so parsing cost is the size of
 * the header block. The same scanner reads MIME part headers in a lenient
 * mode that never throws (RFC 2046 5.1.1 parts may have no fields at all).
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import { escapeControls, snippet, toCrlf } from "./line_ends.ts";
import type { HeaderField, Message } from "./types.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;
const COLON = 58;
/** RFC 5322 2.1.1: a line must be no more than 998 octets, CRLF excluded. */
const MAX_LINE = 998;

/** Field-name octets we accept: RFC 7230 tchar, a subset of RFC 5322 ftext. */
const NAME_CHAR = (() => {
  const table = new Uint8Array(256);
  const chars = "!#$%&'*+-.^_`|~0123456789" +
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
})();

const utf8 = new TextDecoder("utf-8");

/** A header block and where the body begins, as offsets into the input. */
export interface ParsedHead {
  headers: HeaderField[];
  /** Offset of the first body byte (after the blank line), or `end`. */
  bodyStart: number;
}

/**
 * Reads the header fields of `bytes[start, end)`.
 *
 * Strict mode (a whole message) throws E_MESSAGE for a first line that is not
 * a field, a later line that is neither a field, a continuation nor the blank
 * line, a line over 998 octets, or a NUL. Lenient mode (a MIME part) never
 * throws: the body simply starts at the first line that is not a field.
 */
export function parseHead(
  bytes: Uint8Array,
  start: number,
  end: number,
  strict: boolean,
  source: string,
): ParsedHead {
  const headers: HeaderField[] = [];
  let fieldStart = -1;
  let fieldEnd = -1;
  let colon = -1;
  let canonical = true;
  let lineNo = 0;
  const finish = () => {
    if (fieldStart >= 0) {
      headers.push(makeField(bytes, fieldStart, colon, fieldEnd, canonical));
      fieldStart = -1;
    }
  };
  let pos = start;
  while (pos < end) {
    lineNo++;
    let e = pos;
    let hasNul = false;
    while (e < end) {
      const b = bytes[e]!;
      if (b === LF || b === CR) break;
      if (b === 0) hasNul = true;
      e++;
    }
    const eolLen = e >= end ? 0 : bytes[e] === CR && e + 1 < end && bytes[e + 1] === LF ? 2 : 1;
    if (e === pos) {
      finish();
      if (strict && headers.length === 0) refuse(source, "first line is empty, no header fields");
      return { headers, bodyStart: e + eolLen };
    }
    const first = bytes[pos]!;
    if (first === SP || first === TAB) {
      if (fieldStart < 0) {
        if (strict) refuse(source, "first line is not a header field");
        return { headers, bodyStart: start };
      }
      // The line end before this continuation lies inside the field.
      if (!(fieldEnd + 1 < end && bytes[fieldEnd] === CR && bytes[fieldEnd + 1] === LF)) {
        canonical = false;
      }
      fieldEnd = e;
    } else {
      const c = findColon(bytes, pos, e);
      if (c < 0) {
        if (!strict) {
          finish();
          return { headers, bodyStart: pos };
        }
        if (lineNo === 1) refuse(source, "first line is not a header field");
        refuse(
          source,
          `line ${lineNo} is neither a header field nor the blank line before the body`,
        );
      }
      finish();
      fieldStart = pos;
      fieldEnd = e;
      colon = c;
      canonical = true;
    }
    if (strict && (hasNul || e - pos > MAX_LINE)) {
      const name = nameOf(bytes, fieldStart, colon);
      if (hasNul) refuse(source, `NUL byte in header field "${name}"`);
      refuse(
        source,
        `a line of header field "${name}" is ${e - pos} octets, over the ${MAX_LINE} limit` +
          " (RFC 5322 2.1.1)",
      );
    }
    pos = e + eolLen;
  }
  finish();
  return { headers, bodyStart: end };
}

/** Index of the colon ending a field name on `[pos, e)`, or -1 when not a field. */
function findColon(bytes: Uint8Array, pos: number, e: number): number {
  let i = pos;
  while (i < e && NAME_CHAR[bytes[i]!] === 1) i++;
  if (i === pos) return -1;
  // RFC 5322 4.5.8 (obs-optional): WSP may sit between name and colon.
  while (i < e && (bytes[i] === SP || bytes[i] === TAB)) i++;
  return i < e && bytes[i] === COLON ? i : -1;
}

function nameOf(bytes: Uint8Array, start: number, colon: number): string {
  let e = colon;
  while (e > start && (bytes[e - 1] === SP || bytes[e - 1] === TAB)) e--;
  return escapeControls(snippet(utf8.decode(bytes.subarray(start, e))));
}

function makeField(
  bytes: Uint8Array,
  start: number,
  colon: number,
  end: number,
  canonical: boolean,
): HeaderField {
  const slice = bytes.subarray(start, end);
  const raw = canonical ? slice : toCrlf(slice);
  let value = utf8.decode(bytes.subarray(colon + 1, end));
  // RFC 5322 2.2.3: unfolding removes the line ends, keeping the WSP after them.
  if (value.includes("\n") || value.includes("\r")) value = value.replace(/\r\n|\r|\n/g, "");
  value = value.replace(/^[ \t]+|[ \t]+$/g, "");
  return { name: nameOf(bytes, start, colon), raw, value };
}

function refuse(source: string, reason: string): never {
  throw new SmimeError("E_MESSAGE", `${source}: ${reason}`);
}

/** Offset after a UTF-8 BOM and a leading mbox "From " line, if any. */
/** True when the bytes from `at` are spaces or tabs, then a colon. */
function colonAfterSpaces(bytes: Uint8Array, at: number): boolean {
  while (bytes[at] === SP || bytes[at] === 0x09) at++;
  return bytes[at] === 0x3a;
}

function skipPrologue(bytes: Uint8Array): number {
  let pos = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
  // "From " starts an mbox envelope line, not a header field, unless spaces
  // then a colon follow: "From : a@b" is a From field in RFC 5322 4.5 obs syntax.
  if (
    bytes[pos] === 0x46 && bytes[pos + 1] === 0x72 && bytes[pos + 2] === 0x6f &&
    bytes[pos + 3] === 0x6d && bytes[pos + 4] === SP && !colonAfterSpaces(bytes, pos + 4)
  ) {
    while (pos < bytes.length && bytes[pos] !== LF && bytes[pos] !== CR) pos++;
    if (bytes[pos] === CR && bytes[pos + 1] === LF) pos++;
    pos++;
  }
  return pos;
}

/**
 * Parses message bytes into header fields and body.
 *
 * Accepts LF, CRLF, bare CR or mixed line ends, 8-bit bodies, folded fields,
 * a leading mbox "From " line and a UTF-8 BOM. Input with header fields but no
 * blank line is a message with an empty body.
 *
 * @param bytes the whole message
 * @param source file name or "<stdin>", for error messages
 * @returns the header fields and the body (a subarray of `bytes`)
 * @throws {SmimeError} E_MESSAGE for empty input, input whose first line is
 *   not a header field (binary, HTML, JSON), a header line over 998 octets,
 *   a NUL in the header block, or a stray non-field line among the fields
 * @example
 * ```ts
 * const msg = parseMessage(new TextEncoder().encode("Subject: hi\n\nbody\n"), "m.eml");
 * // msg.headers[0].value === "hi"
 * ```
 */
export function parseMessage(bytes: Uint8Array, source: string): Message {
  const start = skipPrologue(bytes);
  if (start >= bytes.length) refuse(source, "empty input, not a message");
  if (endsWithDoubledCr(bytes, start)) {
    // Read as they are, the first field would end the header block (CR, then CRLF).
    refuse(
      source,
      "line ends are CR CR LF (a CRLF file converted to CRLF again, by unix2dos or a " +
        "text-mode write); convert it back first",
    );
  }
  const { headers, bodyStart } = parseHead(bytes, start, bytes.length, true, source);
  return { source, headers, body: bytes.subarray(bodyStart) };
}

/** True when the first line from `start` ends CR CR LF. */
function endsWithDoubledCr(bytes: Uint8Array, start: number): boolean {
  const lf = bytes.indexOf(LF, start);
  return lf >= start + 2 && bytes[lf - 1] === CR && bytes[lf - 2] === CR;
}

/** Offset of the header block after BOM and mbox line, for tree parsing. */
export function prologueLength(bytes: Uint8Array): number {
  return skipPrologue(bytes);
}

/**
 * The first header field named `name`, compared case-insensitively.
 *
 * @example
 * ```ts
 * const msg = parseMessage(new TextEncoder().encode("subject: hi\n\n"), "m.eml");
 * getHeader(msg, "Subject")?.value; // "hi"
 * ```
 */
export function getHeader(
  message: { headers: HeaderField[] },
  name: string,
): HeaderField | undefined {
  const lower = name.toLowerCase();
  return message.headers.find((h) => h.name.toLowerCase() === lower);
}

/**
 * Every header field named `name`, case-insensitively, in input order.
 *
 * @example
 * ```ts
 * const msg = parseMessage(new TextEncoder().encode("To: a@x\nTo: b@y\n\n"), "m.eml");
 * getHeaders(msg, "to").length; // 2
 * ```
 */
export function getHeaders(message: { headers: HeaderField[] }, name: string): HeaderField[] {
  const lower = name.toLowerCase();
  return message.headers.filter((h) => h.name.toLowerCase() === lower);
}
