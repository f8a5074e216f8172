/**
 * What 7bit data may hold (RFC 2045 2.7): no byte over 127, no NUL, no
 * line over 998 octets. The canonical form (RFC 8551 3.1.2) checks its
 * parts with these, and the sign stage checks what multipart/signed puts on
 * the wire as it is.
 *
 * @module
 */

import { isAscii } from "node:buffer";

const CR = 13;
const LF = 10;
/** RFC 5322 2.1.1 / RFC 2045 2.7: at most 998 octets between line ends. */
export const MAX_LINE = 998;

/**
 * True when `bytes` are not 7bit data: a byte over 127, a NUL, or a line
 * over 998 octets (a line ends at any CR or LF).
 */
export function hasUnsafeBytes(bytes: Uint8Array): boolean {
  return !isAscii(bytes) || bytes.indexOf(0) !== -1 || longLineAt(bytes) !== -1;
}

/**
 * Why `bytes` are not 7bit data, for a one-line refusal, or undefined when
 * they are. The scans are native (isAscii, indexOf), so the check costs
 * little next to signing.
 *
 * @param bytes e.g. the entity a detached signature covers
 * @returns e.g. "a byte over 127 (0xc3) at offset 210", "a line of 1500
 *   octets at offset 96 (over 998)"
 */
export function describeUnsafeBytes(bytes: Uint8Array): string | undefined {
  if (!isAscii(bytes)) {
    const at = bytes.findIndex((b) => b > 127);
    return `a byte over 127 (0x${bytes[at]!.toString(16)}) at offset ${at}`;
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) return `a NUL byte at offset ${nul}`;
  const at = longLineAt(bytes);
  if (at === -1) return undefined;
  let end = at;
  while (end < bytes.length && bytes[end] !== CR && bytes[end] !== LF) end++;
  return `a line of ${end - at} octets at offset ${at} (over ${MAX_LINE})`;
}

/** Where the first line over 998 octets starts, a line ending at any CR or LF; -1 if none. */
function longLineAt(bytes: Uint8Array): number {
  let lineStart = 0;
  for (;;) {
    let end = bytes.indexOf(LF, lineStart);
    if (end === -1) end = bytes.length;
    // Only a run longer than a line can hide one; a CR in it ends lines too.
    if (end - lineStart > MAX_LINE) {
      for (let cr = bytes.indexOf(CR, lineStart); cr !== -1 && cr < end;) {
        if (cr - lineStart > MAX_LINE) return lineStart;
        lineStart = cr + 1;
        cr = bytes.indexOf(CR, lineStart);
      }
      if (end - lineStart > MAX_LINE) return lineStart;
    }
    if (end === bytes.length) return -1;
    lineStart = end + 1;
  }
}
