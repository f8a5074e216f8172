/**
 * Builds header fields and writes header blocks (RFC 5322 2.1.1, 2.2.3).
 *
 * @module
 */

import { concatBytes, latin1ToBytes } from "../bytes.ts";
import { SmimeError } from "../errors.ts";
import { CRLF_BYTES, escapeControls, snippet } from "./line_ends.ts";
import type { HeaderField } from "./types.ts";

/** RFC 5322 2.1.1: lines SHOULD be at most 78 characters... */
const SOFT_LIMIT = 78;
/** ...and MUST be at most 998. */
const HARD_LIMIT = 998;

/**
 * Makes a header field, folding at whitespace so that lines stay within 78
 * characters where possible and never exceed 998 (RFC 5322 2.1.1, 2.2.3).
 *
 * Leading and trailing whitespace of `value` is dropped. Folding puts a CRLF
 * before a run of whitespace; it never splits a word.
 *
 * @param name field name, RFC 5322 ftext
 * @param value ASCII text without CR, LF or NUL (encode anything else first,
 *   e.g. with RFC 2047 encoded words)
 * @returns the field, its raw bytes folded with CRLF
 * @throws {SmimeError} E_MESSAGE when the name is not a field name, the value
 *   is not ASCII or holds CR, LF or NUL, or a word makes a line over 998
 * @example
 * ```ts
 * const h = makeHeader("Subject", "Quarterly statement");
 * // new TextDecoder().decode(h.raw) === "Subject: Quarterly statement"
 * ```
 */
export function makeHeader(name: string, value: string): HeaderField {
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
    refuse(`"${escapeControls(snippet(name))}" is not a header field name`);
  }
  // deno-lint-ignore no-control-regex -- NUL is refused with the rest
  if (/[^\x01-\x7f]|[\r\n]/.test(value)) {
    const why = /[\r\n]/.test(value)
      ? "contains CR or LF"
      : value.includes("\0")
      ? "contains NUL"
      : "is not ASCII";
    refuse(`value of header "${name}" ${why}: "${escapeControls(snippet(value))}"`);
  }
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, "");
  const text = trimmed === "" ? `${name}:` : `${name}: ${trimmed}`;
  return { name, raw: latin1ToBytes(fold(text, name)), value: trimmed };
}

/**
 * Greedy folding: each piece is a run of WSP plus the word after it; a line
 * takes pieces while it stays within the soft limit.
 */
function fold(text: string, name: string): string {
  if (text.length <= SOFT_LIMIT) return text;
  // Never fold inside "Name: " itself; the first piece ends at the first word.
  const head = name.length + 2;
  const pieces: string[] = [];
  const re = /[ \t]+[^ \t]+/g;
  const firstWord = /^[^ \t]*/.exec(text.slice(head))![0];
  pieces.push(text.slice(0, head + firstWord.length));
  re.lastIndex = head + firstWord.length;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) pieces.push(m[0]);
  const lines: string[] = [];
  let line = "";
  for (const piece of pieces) {
    if (line !== "" && line.length + piece.length > SOFT_LIMIT) {
      lines.push(line);
      line = piece;
    } else {
      line += piece;
    }
    if (line.length > HARD_LIMIT) {
      refuse(`header "${name}" has a word too long to fold within ${HARD_LIMIT} octets`);
    }
  }
  lines.push(line);
  return lines.join("\r\n");
}

function refuse(reason: string): never {
  throw new SmimeError("E_MESSAGE", `makeHeader: ${reason}`);
}

/**
 * Writes header fields as a header block: each field's raw bytes and CRLF,
 * without the blank line that ends the block.
 *
 * @param headers the fields, in the order to write them
 * @returns the bytes
 * @example
 * ```ts
 * const block = serializeHeaders([makeHeader("To", "bob@example.com")]);
 * // "To: bob@example.com\r\n"
 * ```
 */
export function serializeHeaders(headers: HeaderField[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const h of headers) chunks.push(h.raw, CRLF_BYTES);
  return concatBytes(chunks);
}
