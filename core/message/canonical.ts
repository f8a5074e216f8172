/**
 * Puts a message's MIME entity into the canonical form S/MIME signs and
 * encrypts (RFC 8551 3.1): CRLF line ends and 7-bit-safe transfer encodings
 * everywhere, and separates the header fields that stay outside.
 *
 * Parts that are already 7-bit stay byte-identical except for line ends;
 * only parts that need it are re-encoded (RFC 8551 3.1.2, 3.1.3). The output
 * is built from chunks and joined once, so a 5 MB attachment is copied a
 * bounded number of times.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import { makeHeader, serializeHeaders } from "./header_build.ts";
import { CRLF_BYTES, crlfPieces, joinPieces, type Piece, piecesLength } from "./line_ends.ts";
import { buildNode, MAX_DEPTH } from "./mime_tree.ts";
import { getHeader } from "./parse_message.ts";
import { hasUnsafeBytes } from "./seven_bit.ts";
import { sevenBitFields } from "./seven_bit_fields.ts";
import {
  decodeBase64,
  decodeBody,
  decodeQuotedPrintable,
  encodeBase64,
  encodeQuotedPrintable,
  transferEncodingOf,
} from "./transfer_encoding.ts";
import type { CanonicalEntity, HeaderField, Message, MimeNode } from "./types.ts";

const CR = 13;
const LF = 10;
const CTE = "Content-Transfer-Encoding";

/** A canonical body as chunks, with the entity's header fields to write. */
interface Canonical {
  headers: HeaderField[];
  /** Pieces whose line ends are still to be made CRLF are converted when joined. */
  chunks: Piece[];
  /** Headers or body differ from the input beyond line ends. */
  isChanged: boolean;
}

/**
 * Splits a message into the header fields that stay outside and the MIME
 * entity to sign or encrypt, in canonical form (RFC 8551 3.1).
 *
 * The entity holds the Content-* fields (a `Content-Type: text/plain` with a
 * charset is added when there is none), CRLF and the body. Parts with 8bit or
 * binary encoding, 8-bit bytes or NUL under 7bit, or lines over 998 octets
 * are re-encoded: text as quoted-printable, anything else as base64;
 * multipart and message/rfc822 containers are walked and relabelled 7bit.
 * Header fields of parts (and the Content-* fields) with 8-bit bytes get
 * RFC 2231 parameters and RFC 2047 encoded words. Preambles, epilogues and
 * the line ends around boundaries are kept, but a preamble or epilogue that
 * is not 7bit data is dropped.
 * Outer fields are all others but MIME-Version, Bcc and Resent-Bcc.
 *
 * @param message a parsed message
 * @returns the outer fields and the canonical entity
 * @throws {SmimeError} E_MESSAGE when a part with an unknown transfer encoding
 *   or nested deeper than 100 levels would need re-encoding
 * @example
 * ```ts
 * import { parseMessage } from "./parse_message.ts";
 * const msg = parseMessage(new TextEncoder().encode("From: a@x\nSubject: s\n\nhi\n"), "m.eml");
 * const { entity } = canonicalEntity(msg);
 * // "Content-Type: text/plain; charset=us-ascii\r\n\r\nhi\r\n"
 * ```
 */
export function canonicalEntity(message: Message): CanonicalEntity {
  const outer = message.headers.filter((h) => !isInnerOrBlind(h.name));
  const root = buildNode(message.headers, message.body, message.body, 0);
  // The Content-* fields move inside the entity, so they are made 7-bit too.
  const inner = sevenBitFields(message.headers.filter((h) => isContent(h.name)));
  const canon = canonicalBody({ ...root, headers: inner }, 0, message.source);
  const fields = canon.headers.filter((h) => isContent(h.name));
  if (getHeader(message, "Content-Type") === undefined) {
    const value = `text/plain; charset=${charsetOf(decodeBody(root))}`;
    fields.unshift(makeHeader("Content-Type", value));
  }
  const pieces = [serializeHeaders(fields), CRLF_BYTES, ...canon.chunks];
  // Made only when read: signing and encryption read the source, so a 50 MB
  // body is converted on the way and never held twice.
  let entity: Uint8Array | undefined;
  const size = piecesLength(pieces);
  return {
    outer,
    get entity() {
      return entity ??= joinPieces(pieces, size);
    },
    source: { size, pieces: () => crlfPieces(pieces) },
  };
}

function isContent(name: string): boolean {
  return /^content-/i.test(name);
}

/** Fields that go inside the entity, or nowhere (Bcc never leaves the tool). */
function isInnerOrBlind(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith("content-") || lower === "mime-version" || lower === "bcc" ||
    lower === "resent-bcc";
}

/**
 * Appends an entity (headers, blank line, body) in canonical form. A part's
 * header fields are made 7-bit; an embedded message's (`isMessage`) are not,
 * as canonicalMessage makes a message/global of a message with 8-bit ones.
 */
function emitEntity(
  node: MimeNode,
  depth: number,
  source: string,
  out: Piece[],
  isMessage = false,
): boolean {
  const headers = isMessage ? node.headers : sevenBitFields(node.headers);
  const isRewritten = headers !== node.headers;
  const canon = canonicalBody(isRewritten ? { ...node, headers } : node, depth, source);
  if (canon.isChanged || isRewritten) {
    out.push(serializeHeaders(canon.headers), CRLF_BYTES);
  } else {
    out.push({ crlf: node.raw.subarray(0, node.body.byteOffset - node.raw.byteOffset) });
  }
  for (const chunk of canon.chunks) out.push(chunk);
  return canon.isChanged || isRewritten;
}

function canonicalBody(node: MimeNode, depth: number, source: string): Canonical {
  const { type, subtype } = node.contentType;
  if (type === "multipart" && depth < MAX_DEPTH) return canonicalMultipart(node, depth, source);
  if (type === "message" && subtype === "rfc822" && node.children.length === 1) {
    return canonicalMessage(node, node.children[0]!, depth, source);
  }
  return canonicalLeaf(node, depth, source);
}

/**
 * RFC 2046 5.1: parts re-done, delimiters kept, preamble and epilogue kept
 * when they are 7bit data. Readers ignore them (RFC 2046 5.1.1), so one with
 * 8-bit bytes or a line over 998 octets is dropped rather than encoded.
 */
function canonicalMultipart(node: MimeNode, depth: number, source: string): Canonical {
  const body = node.body;
  if (node.children.length === 0) return partlessMultipart(node);
  const chunks: Piece[] = [];
  let isChanged = false;
  let pos = 0;
  for (const child of node.children) {
    const start = child.raw.byteOffset - body.byteOffset;
    let between = body.subarray(pos, start);
    if (pos === 0) {
      const preamble = between.subarray(0, lastLineStart(between));
      if (preamble.length > 0 && hasUnsafeBytes(preamble)) {
        between = between.subarray(preamble.length);
        isChanged = true;
      }
    }
    chunks.push({ crlf: between });
    if (emitEntity(child, depth + 1, source, chunks)) isChanged = true;
    pos = start + child.raw.length;
  }
  let last = body.subarray(pos);
  const epilogue = last.subarray(epilogueStart(last));
  if (epilogue.length > 0 && hasUnsafeBytes(epilogue)) {
    last = last.subarray(0, last.length - epilogue.length);
    isChanged = true;
  }
  chunks.push({ crlf: last });
  return relabelIdentity(node.headers, chunks, isChanged);
}

/**
 * A multipart with no parts: no boundary parameter, or a boundary that never
 * opens a part. It is kept as it is: it is not MIME (RFC 2046 5.1.1 wants a
 * boundary and at least one part), a multipart may not be base64 (RFC 2045
 * 6.4), and relabelling it application/octet-stream would sign something
 * other than what its author wrote. Opaque signing and encryption carry it
 * in base64 unharmed; a detached signature over 8-bit bytes or long lines
 * is refused where it is made (signEntity), since a relay could change them.
 */
function partlessMultipart(node: MimeNode): Canonical {
  return relabelIdentity(node.headers, [{ crlf: node.body }], false);
}

/** Where the last line of `bytes` (the first delimiter line, after the preamble) starts. */
function lastLineStart(bytes: Uint8Array): number {
  let end = bytes.length;
  if (bytes[end - 1] === LF) end--;
  if (bytes[end - 1] === CR) end--;
  return Math.max(bytes.lastIndexOf(LF, end - 1), bytes.lastIndexOf(CR, end - 1)) + 1;
}

/**
 * Where the epilogue starts in what follows the last part: after the line
 * end that belongs to the close delimiter, the delimiter and its own line end.
 */
function epilogueStart(bytes: Uint8Array): number {
  let i = bytes[0] === CR && bytes[1] === LF ? 2 : bytes[0] === CR || bytes[0] === LF ? 1 : 0;
  while (i < bytes.length && bytes[i] !== CR && bytes[i] !== LF) i++;
  if (bytes[i] === CR) i++;
  if (bytes[i] === LF) i++;
  return i;
}

/** RFC 2046 5.2.1: the embedded message's headers kept, its body recursed. */
function canonicalMessage(
  node: MimeNode,
  child: MimeNode,
  depth: number,
  source: string,
): Canonical {
  const chunks: Piece[] = [];
  const isChanged = emitEntity(child, depth + 1, source, chunks, true);
  const head = child.raw.subarray(0, child.body.byteOffset - child.raw.byteOffset);
  if (!head.some((b) => b > 127)) return relabelIdentity(node.headers, chunks, isChanged);
  // 8-bit header fields (RFC 6532) can't be 7-bit in message/rfc822;
  // message/global may be base64-encoded (RFC 6532 3.7).
  const headers = replaceField(node.headers, "Content-Type", "message/global");
  return {
    headers: replaceField(headers, CTE, "base64"),
    chunks: [encodeBase64(joinPieces(chunks))],
    isChanged: true,
  };
}

/** Containers labelled 8bit or binary become 7bit once their content is. */
function relabelIdentity(headers: HeaderField[], chunks: Piece[], isChanged: boolean) {
  const cte = transferEncodingOf(headers);
  if (cte === "8bit" || cte === "binary") {
    return { headers: replaceField(headers, CTE, "7bit"), chunks, isChanged: true };
  }
  return { headers, chunks, isChanged };
}

function canonicalLeaf(node: MimeNode, depth: number, source: string): Canonical {
  const { type, subtype } = node.contentType;
  const cte = transferEncodingOf(node.headers);
  const isIdentity = cte === "7bit" || cte === "8bit" || cte === "binary";
  const isUnsafe = hasUnsafeBytes(node.body);
  if (!isUnsafe && (cte === "7bit" || !isIdentity)) {
    return { headers: node.headers, chunks: [{ crlf: node.body }], isChanged: false };
  }
  if (depth >= MAX_DEPTH && (type === "multipart" || type === "message")) {
    refuse(source, `MIME parts nested deeper than ${MAX_DEPTH} levels need re-encoding`);
  }
  let decoded: Uint8Array;
  let encoding: string;
  if (isIdentity) {
    decoded = node.body;
    encoding = type === "text" ? "quoted-printable" : "base64";
  } else if (cte === "base64" || cte === "quoted-printable") {
    decoded = cte === "base64" ? decodeBase64(node.body) : decodeQuotedPrintable(node.body);
    encoding = cte;
  } else {
    refuse(
      source,
      `cannot make a ${type}/${subtype} part with transfer encoding "${cte}" 7-bit safe`,
    );
  }
  const encoded = encoding === "base64" ? encodeBase64(decoded) : encodeQuotedPrintable(decoded);
  return { headers: replaceField(node.headers, CTE, encoding), chunks: [encoded], isChanged: true };
}

/** Replaces the first field of that name (dropping the others), or appends one. */
function replaceField(headers: HeaderField[], name: string, value: string): HeaderField[] {
  const lower = name.toLowerCase();
  const field = makeHeader(name, value);
  const out: HeaderField[] = [];
  let isPlaced = false;
  for (const h of headers) {
    if (h.name.toLowerCase() !== lower) out.push(h);
    else if (!isPlaced) {
      out.push(field);
      isPlaced = true;
    }
  }
  if (!isPlaced) out.push(field);
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** us-ascii, utf-8 when the 8-bit bytes are valid UTF-8, else RFC 1428 unknown-8bit. */
function charsetOf(bytes: Uint8Array): string {
  if (!bytes.some((b) => b > 127)) return "us-ascii";
  try {
    strictUtf8.decode(bytes);
    return "utf-8";
  } catch {
    return "unknown-8bit";
  }
}

function refuse(source: string, reason: string): never {
  throw new SmimeError("E_MESSAGE", `${source}: ${reason}`);
}
