/**
 * Parses the MIME structure of a message (RFC 2045, RFC 2046 5.1, 5.2.1)
 * into a tree of byte views into the input: nothing is copied, so the
 * S/MIME layer can verify a multipart/signed part over its exact bytes.
 *
 * Odd structure is tolerated rather than refused: a part whose boundary
 * never closes runs to the end, and nesting is cut off at MAX_DEPTH.
 *
 * @module
 */

import { parseContentType } from "./content_type.ts";
import { getHeader, parseHead, parseMessage, prologueLength } from "./parse_message.ts";
import { transferEncodingOf } from "./transfer_encoding.ts";
import type { HeaderField, MimeNode } from "./types.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;
const DASH = 45;
/** Deeper entities are kept as leaves; this also bounds recursion. */
export const MAX_DEPTH = 100;

const encoder = new TextEncoder();

/**
 * Parses a message into its MIME tree.
 *
 * @param bytes the whole message
 * @param source file name or "<stdin>", for error messages
 * @returns the root entity; `raw` excludes a leading BOM or mbox "From " line
 * @throws {SmimeError} E_MESSAGE only where parseMessage refuses the input;
 *   odd MIME structure never throws
 * @example
 * ```ts
 * const text = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n";
 * const root = parseMimeTree(new TextEncoder().encode(text), "m.eml");
 * root.children.length; // 1
 * ```
 */
export function parseMimeTree(bytes: Uint8Array, source: string): MimeNode {
  const message = parseMessage(bytes, source);
  return buildNode(message.headers, bytes.subarray(prologueLength(bytes)), message.body, 0);
}

/** A node for an entity whose header block is already parsed. */
export function buildNode(
  headers: HeaderField[],
  raw: Uint8Array,
  body: Uint8Array,
  depth: number,
): MimeNode {
  const contentType = parseContentType(getHeader({ headers }, "Content-Type")?.value);
  const node: MimeNode = { headers, contentType, raw, body, children: [] };
  if (depth >= MAX_DEPTH) return node;
  const { type, subtype, params } = contentType;
  if (type === "multipart") {
    node.children = parseParts(body, params.boundary, depth + 1);
  } else if (type === "message" && subtype === "rfc822") {
    // RFC 2046 5.2.1: only identity encodings; an encoded one stays a leaf.
    const cte = transferEncodingOf(headers);
    if (cte === "7bit" || cte === "8bit" || cte === "binary") {
      node.children = [parseEntity(body, depth + 1)];
    }
  }
  return node;
}

/** An entity inside a message: lenient header parsing, never throws. */
function parseEntity(raw: Uint8Array, depth: number): MimeNode {
  const { headers, bodyStart } = parseHead(raw, 0, raw.length, false, "");
  return buildNode(headers, raw, raw.subarray(bodyStart), depth);
}

interface Delimiter {
  /** Offset of the first "-" of the delimiter line. */
  lineStart: number;
  /** Offset after the delimiter line's line end. */
  afterLine: number;
  /** "--boundary--": the close delimiter. */
  isClose: boolean;
}

/**
 * The parts of a multipart body (RFC 2046 5.1.1). The line end before a
 * delimiter belongs to the delimiter, not to the part before it.
 */
function parseParts(body: Uint8Array, boundary: string | undefined, depth: number): MimeNode[] {
  if (boundary === undefined || boundary === "") return [];
  const marker = encoder.encode(`--${boundary}`);
  const parts: MimeNode[] = [];
  let d = findDelimiter(body, marker, 0);
  while (d !== null && !d.isClose) {
    const start = d.afterLine;
    const next = findDelimiter(body, marker, start);
    const end = next === null ? body.length : Math.max(start, contentEnd(body, next.lineStart));
    parts.push(parseEntity(body.subarray(start, end), depth));
    d = next;
  }
  return parts;
}

/** Where the content before a delimiter line ends: before its line end. */
function contentEnd(body: Uint8Array, lineStart: number): number {
  if (lineStart === 0) return 0;
  if (body[lineStart - 1] === LF && lineStart >= 2 && body[lineStart - 2] === CR) {
    return lineStart - 2;
  }
  return lineStart - 1;
}

/** The next delimiter line at or after `from` that starts a line. */
function findDelimiter(body: Uint8Array, marker: Uint8Array, from: number): Delimiter | null {
  const n = body.length;
  for (let i = body.indexOf(DASH, from); i !== -1; i = body.indexOf(DASH, i + 1)) {
    if (i > 0 && body[i - 1] !== LF && body[i - 1] !== CR) continue;
    if (i + marker.length > n) return null;
    let k = 0;
    while (k < marker.length && body[i + k] === marker[k]) k++;
    if (k < marker.length) continue;
    let j = i + marker.length;
    const isClose = body[j] === DASH && body[j + 1] === DASH;
    if (isClose) j += 2;
    // RFC 2046 5.1.1: transport padding may follow the boundary.
    while (body[j] === SP || body[j] === TAB) j++;
    if (j < n && body[j] !== CR && body[j] !== LF) continue;
    const afterLine = j >= n ? n : body[j] === CR && body[j + 1] === LF ? j + 2 : j + 1;
    return { lineStart: i, afterLine, isClose };
  }
  return null;
}
