/**
 * A small BER reader and DER writer, just enough for CMS (RFC 5652) and the
 * X.509 fields it needs.
 *
 * The reader accepts BER as `openssl cms` streams it (indefinite lengths,
 * constructed OCTET STRINGs) and hands out subarrays of the input, never
 * copies. Every length is checked against its parent and nesting is capped,
 * so hostile input fails with {@link AsnError} instead of hanging or
 * overflowing the stack.
 *
 * The writer builds a tree of {@link Der} parts and serialises it once, so a
 * large content is copied into the output exactly once.
 *
 * @module
 */

import { type ByteSource, concatBytes } from "../bytes.ts";

/** Malformed or unexpected ASN.1; callers turn it into a SmimeError. */
export class AsnError extends Error {
  override name = "AsnError";
}

/** ASN.1 tag bytes (identifier octets) used by CMS and X.509. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tag `[n]`, constructed or primitive. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One decoded element: views into the input buffer. */
export interface Tlv {
  /** The identifier octet (low-tag-number form only; CMS needs no other). */
  tag: number;
  /** Header, content and, for indefinite form, the end-of-contents octets. */
  raw: Uint8Array;
  /** The content octets. */
  value: Uint8Array;
  /** True when the element used the indefinite length form. */
  indefinite: boolean;
}

const MAX_DEPTH = 48;

function isConstructed(tag: number): boolean {
  return (tag & 0x20) !== 0;
}

/** Reads one TLV at `offset` of `buf`; `end` bounds it. */
function readTlvAt(buf: Uint8Array, offset: number, end: number, depth: number): Tlv {
  if (depth > MAX_DEPTH) throw new AsnError("nesting too deep");
  if (offset >= end) throw new AsnError(`truncated at byte ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new AsnError(`unsupported high tag number at byte ${offset}`);
  let pos = offset + 1;
  if (pos >= end) throw new AsnError(`truncated length at byte ${pos}`);
  const first = buf[pos++]!;
  if (first === 0x80) {
    if (!isConstructed(tag)) throw new AsnError(`indefinite length on primitive at byte ${offset}`);
    // Indefinite form (X.690 8.1.3.6): children up to the 00 00 end-of-contents.
    const start = pos;
    for (;;) {
      if (pos + 2 > end) throw new AsnError(`missing end-of-contents for byte ${offset}`);
      if (buf[pos] === 0 && buf[pos + 1] === 0) break;
      pos += readTlvAt(buf, pos, end, depth + 1).raw.length;
    }
    return {
      tag,
      raw: buf.subarray(offset, pos + 2),
      value: buf.subarray(start, pos),
      indefinite: true,
    };
  }
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count > 4) throw new AsnError(`length too large at byte ${offset}`);
    if (pos + count > end) throw new AsnError(`truncated length at byte ${pos}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
  }
  if (pos + length > end) {
    throw new AsnError(`truncated: element at byte ${offset} overruns its parent`);
  }
  return {
    tag,
    raw: buf.subarray(offset, pos + length),
    value: buf.subarray(pos, pos + length),
    indefinite: false,
  };
}

/** Parses `bytes` as exactly one element (trailing bytes are an error). */
export function parseTlv(bytes: Uint8Array): Tlv {
  const tlv = readTlvAt(bytes, 0, bytes.length, 0);
  if (tlv.raw.length !== bytes.length) {
    throw new AsnError(`${bytes.length - tlv.raw.length} trailing bytes after the outer element`);
  }
  return tlv;
}

/**
 * The length of the first element of `bytes`, which may be followed by
 * other data. Unlike {@link parseTlv} every constructed element is checked
 * down to its leaves, so damage anywhere inside fails with {@link AsnError}.
 */
export function firstElementLength(bytes: Uint8Array): number {
  const tlv = readTlvAt(bytes, 0, bytes.length, 0);
  checkNested(tlv, 1);
  return tlv.raw.length;
}

function checkNested(tlv: Tlv, depth: number): void {
  if (!isConstructed(tlv.tag)) return;
  const v = tlv.value;
  for (let pos = 0; pos < v.length;) {
    const child = readTlvAt(v, pos, v.length, depth);
    checkNested(child, depth + 1);
    pos += child.raw.length;
  }
}

/** Sequential reader over the children of a constructed element. */
export class DerReader {
  #buf: Uint8Array;
  #pos = 0;
  #depth: number;

  /** @param parent a constructed element, e.g. a SEQUENCE */
  constructor(parent: Tlv, depth = 1) {
    if (!isConstructed(parent.tag)) throw new AsnError("expected a constructed element");
    this.#buf = parent.value;
    this.#depth = depth;
  }

  /** True when every child has been read. */
  get done(): boolean {
    return this.#pos >= this.#buf.length;
  }

  /** The tag of the next child, or undefined at the end. */
  peekTag(): number | undefined {
    return this.done ? undefined : this.#buf[this.#pos];
  }

  /** Reads the next child; with `tag`, it must carry that tag. */
  next(tag?: number, what = "element"): Tlv {
    if (this.done) throw new AsnError(`missing ${what}`);
    const tlv = readTlvAt(this.#buf, this.#pos, this.#buf.length, this.#depth);
    if (tag !== undefined && tlv.tag !== tag) {
      throw new AsnError(
        `expected ${what} (tag 0x${hex2(tag)}), found tag 0x${hex2(tlv.tag)}`,
      );
    }
    this.#pos += tlv.raw.length;
    return tlv;
  }

  /** Reads the next child only when it carries `tag`. */
  optional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.next() : undefined;
  }

  /** A reader over the children of the next child, which must carry `tag`. */
  enter(tag: number, what: string): DerReader {
    return new DerReader(this.next(tag, what), this.#depth + 1);
  }

  /** Reads every remaining child. */
  rest(): Tlv[] {
    const out: Tlv[] = [];
    while (!this.done) out.push(this.next());
    return out;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** The children of a constructed element. */
export function childrenOf(tlv: Tlv): Tlv[] {
  return new DerReader(tlv).rest();
}

/** Dotted text of an OBJECT IDENTIFIER element. */
export function readOid(tlv: Tlv): string {
  if (tlv.tag !== Tag.oid || tlv.value.length === 0) throw new AsnError("expected an OID");
  const v = tlv.value;
  const parts: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    n = n * 128 + (v[i]! & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 256) throw new AsnError("OID arc too large");
    if ((v[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else parts.push(n);
      n = 0;
    }
  }
  if ((v[v.length - 1]! & 0x80) !== 0) throw new AsnError("truncated OID");
  return parts.join(".");
}

/** A small non-negative INTEGER (versions, lengths). */
export function readSmallInt(tlv: Tlv): number {
  if (tlv.tag !== Tag.integer || tlv.value.length === 0 || tlv.value.length > 4) {
    throw new AsnError("expected a small INTEGER");
  }
  let n = 0;
  for (const b of tlv.value) n = n * 256 + b;
  if (tlv.value[0]! & 0x80) throw new AsnError("negative INTEGER");
  return n;
}

/**
 * The octets of an OCTET STRING (or an implicitly tagged one), joining the
 * segments of a constructed (BER) encoding. Primitive ones are not copied.
 */
export function readOctets(tlv: Tlv, depth = 0): Uint8Array {
  if (!isConstructed(tlv.tag)) return tlv.value;
  if (depth > MAX_DEPTH) throw new AsnError("nesting too deep");
  const parts = childrenOf(tlv).map((c) => {
    if (c.tag !== Tag.octetString) throw new AsnError("bad segment in constructed OCTET STRING");
    return readOctets(c, depth + 1);
  });
  if (parts.length === 1) return parts[0]!;
  return concatBytes(parts);
}

/** The content of a BIT STRING with no unused bits. */
export function readBitString(tlv: Tlv): Uint8Array {
  if (tlv.tag !== Tag.bitString || tlv.value.length === 0 || tlv.value[0] !== 0) {
    throw new AsnError("expected a BIT STRING of whole bytes");
  }
  return tlv.value.subarray(1);
}

/** Parses UTCTime or GeneralizedTime (the forms RFC 5280 4.1.2.5 allows). */
export function readTime(tlv: Tlv): Date {
  const s = new TextDecoder().decode(tlv.value);
  const m = tlv.tag === Tag.utcTime
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s)
    : tlv.tag === Tag.generalizedTime
    ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(s)
    : null;
  if (!m) throw new AsnError("expected a UTCTime or GeneralizedTime in Z form");
  let year = Number(m[1]);
  // RFC 5280 4.1.2.5.1: two-digit years 50-99 are 19xx, 00-49 are 20xx.
  if (tlv.tag === Tag.utcTime) year += year >= 50 ? 1900 : 2000;
  return new Date(
    Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)),
  );
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += hex2(b);
  return s;
}

// ---------------------------------------------------------------- writer

/** A DER element under construction: finished bytes, a node of parts, or bytes made late. */
export type Der = Uint8Array | DerNode | LatePart;

/**
 * Content bytes that are made only while the encoding is written, piece by
 * piece, so they never exist whole: the ciphertext of a 50 MB message, say.
 * The size must be known up front (it goes in the length octets); every
 * call of `pieces` must give the same bytes, as {@link encode} and
 * {@link forEachChunk} may each call it. A piece may be a scratch buffer
 * that the next piece overwrites: the writers are done with each piece
 * before they ask for the next.
 */
export interface LatePart extends ByteSource {
  readonly late: true;
}

export { type ByteSource, joinSource } from "../bytes.ts";

/** A constructed or primitive element whose content is a list of parts. */
export interface DerNode {
  tag: number;
  parts: Der[];
  /** Content length. */
  length: number;
  /** Total encoded size, header included. */
  size: number;
}

function headerSize(length: number): number {
  if (length < 0x80) return 2;
  let n = 1;
  for (let l = length; l > 0; l = Math.floor(l / 256)) n++;
  return n + 1;
}

/** The encoded size of an element, header included. */
export function sizeOf(d: Der): number {
  return d instanceof Uint8Array ? d.length : d.size;
}

/** The pieces of a late part, checked against its announced size. */
function* latePieces(d: LatePart): Iterable<Uint8Array> {
  let made = 0;
  for (const piece of d.pieces()) {
    made += piece.length;
    if (made > d.size) break;
    yield piece;
  }
  if (made !== d.size) throw new Error(`late DER part: ${made} bytes made, ${d.size} announced`);
}

/** An element with tag `tag` whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Der[]): DerNode {
  let length = 0;
  for (const p of parts) length += sizeOf(p);
  return { tag, parts, length, size: headerSize(length) + length };
}

function writeInto(d: Der, out: Uint8Array, pos: number): number {
  if (d instanceof Uint8Array) {
    out.set(d, pos);
    return pos + d.length;
  }
  if ("late" in d) {
    for (const piece of latePieces(d)) {
      out.set(piece, pos);
      pos += piece.length;
    }
    return pos;
  }
  pos = writeHeader(d, out, pos);
  for (const p of d.parts) pos = writeInto(p, out, pos);
  return pos;
}

/**
 * Hands the encoding of `d` to `visit` in order, piece by piece: each
 * element's tag and length octets, then its parts. Finished parts (a large
 * content, say) are handed over as they are, not copied, so the encoding of
 * a 50 MB SignedData can go straight into base64 without ever existing as
 * one buffer. The pieces joined are exactly {@link encode}'s output.
 *
 * The tag and length octets are written into one small buffer, again for
 * each element (a new array for each of a message's hundred-odd elements
 * cost more than the base64 of its content): like a late part's pieces, a
 * piece is good only until `visit` returns.
 */
export function forEachChunk(d: Der, visit: (chunk: Uint8Array) => void): void {
  visitChunks(d, visit, new HeaderScratch());
}

function visitChunks(d: Der, visit: (chunk: Uint8Array) => void, scratch: HeaderScratch): void {
  if (d instanceof Uint8Array) {
    visit(d);
    return;
  }
  if ("late" in d) {
    for (const piece of latePieces(d)) visit(piece);
    return;
  }
  visit(scratch.header(d));
  for (const p of d.parts) visitChunks(p, visit, scratch);
}

/** One buffer for tag and length octets, and a view of it for each size. */
class HeaderScratch {
  /** A tag, a length-of-length octet and up to 7 length octets (lengths below 2^53). */
  readonly #bytes = new Uint8Array(9);
  readonly #views: Uint8Array[] = [];

  /** `d`'s tag and length octets, in the scratch buffer. */
  header(d: DerNode): Uint8Array {
    const n = writeHeader(d, this.#bytes, 0);
    return this.#views[n] ??= this.#bytes.subarray(0, n);
  }
}

/** {@link forEachChunk} as a generator, for readers that pull. */
export function* chunksOf(d: Der): Generator<Uint8Array> {
  if (d instanceof Uint8Array) {
    yield d;
    return;
  }
  if ("late" in d) {
    yield* latePieces(d);
    return;
  }
  const header = new Uint8Array(headerSize(d.length));
  writeHeader(d, header, 0);
  yield header;
  for (const p of d.parts) yield* chunksOf(p);
}

function writeHeader(d: DerNode, out: Uint8Array, pos: number): number {
  out[pos++] = d.tag;
  const length = d.length;
  if (length < 0x80) out[pos++] = length;
  else {
    const count = headerSize(length) - 2;
    out[pos++] = 0x80 | count;
    for (let i = count - 1; i >= 0; i--) out[pos++] = Math.floor(length / 256 ** i) & 0xff;
  }
  return pos;
}

/** Serialises a tree of parts into one buffer. */
export function encode(d: Der): Uint8Array {
  if (d instanceof Uint8Array) return d;
  const out = new Uint8Array(d.size);
  writeInto(d, out, 0);
  return out;
}

/** SEQUENCE of `parts`. */
export function seq(...parts: Der[]): DerNode {
  return tlv(Tag.sequence, ...parts);
}

/**
 * SET OF `items`, sorted by their encodings as DER requires (X.690 11.6):
 * byte-wise, a prefix before the longer encoding.
 */
export function setOf(items: Der[], tag: number = Tag.set): DerNode {
  const encoded = items.map(encode).sort(compareBytes);
  return tlv(tag, ...encoded);
}

/** Byte-wise order of two encodings, a proper prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const oidCache = new Map<string, Uint8Array>();

/** OBJECT IDENTIFIER from dotted text; cached, so callers must not mutate it. */
export function oid(dotted: string): Uint8Array {
  let hit = oidCache.get(dotted);
  if (hit) return hit;
  const arcs = dotted.split(".").map(Number);
  const body: number[] = [];
  const push = (n: number) => {
    const tmp = [n & 0x7f];
    for (n = Math.floor(n / 128); n > 0; n = Math.floor(n / 128)) tmp.unshift((n & 0x7f) | 0x80);
    body.push(...tmp);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  hit = encode(tlv(Tag.oid, new Uint8Array(body)));
  oidCache.set(dotted, hit);
  return hit;
}

/** INTEGER from a small non-negative number. */
export function int(n: number): Uint8Array {
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return encode(tlv(Tag.integer, new Uint8Array(bytes)));
}

/** OCTET STRING holding `bytes` (not copied until encode; a late part made then). */
export function octets(bytes: Uint8Array | LatePart, tag: number = Tag.octetString): DerNode {
  return tlv(tag, bytes);
}

/** The DER NULL. */
export const NULL: Uint8Array = new Uint8Array([0x05, 0x00]);

/** BIT STRING of whole bytes. */
export function bitString(bytes: Uint8Array): DerNode {
  return tlv(Tag.bitString, new Uint8Array([0]), bytes);
}

/** `[n] EXPLICIT` around one element. */
export function explicit(n: number, inner: Der): DerNode {
  return tlv(contextTag(n, true), inner);
}

/**
 * Time as RFC 5652 11.3 wants for signingTime: UTCTime for 1950-2049,
 * GeneralizedTime otherwise; whole seconds, Z.
 */
export function time(date: Date): Uint8Array {
  const y = date.getUTCFullYear();
  const p = (n: number) => String(n).padStart(2, "0");
  const rest = p(date.getUTCMonth() + 1) + p(date.getUTCDate()) + p(date.getUTCHours()) +
    p(date.getUTCMinutes()) + p(date.getUTCSeconds()) + "Z";
  const text = y >= 1950 && y < 2050 ? p(y % 100) + rest : String(y).padStart(4, "0") + rest;
  const tag = y >= 1950 && y < 2050 ? Tag.utcTime : Tag.generalizedTime;
  return encode(tlv(tag, new TextEncoder().encode(text)));
}

/**
 * `bytes` typed as a WebCrypto BufferSource. TypeScript 5.7+ types plain
 * `Uint8Array` as possibly shared-memory backed; ours never are. No copy.
 */
export function source(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
