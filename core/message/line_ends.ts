/**
 * Line-end normalisation and small byte helpers shared by the message layer.
 *
 * RFC 5322 2.1 and RFC 8551 3.1.1 want CRLF line ends; inputs come with LF,
 * CRLF, bare CR or a mix of them.
 *
 * @module
 */

const CR = 13;
const LF = 10;

/** The two bytes of a line end in canonical form. */
export const CRLF_BYTES: Uint8Array = new Uint8Array([CR, LF]);

/**
 * Turns every bare LF and bare CR into CRLF.
 *
 * Returns `bytes` itself when every line end is already CRLF, so the common
 * canonical case costs one scan and no copy.
 *
 * @param bytes any bytes
 * @returns the bytes with canonical line ends
 * @example
 * ```ts
 * const out = toCrlf(new TextEncoder().encode("a\nb\r"));
 * // out is "a\r\nb\r\n"
 * ```
 */
export function toCrlf(bytes: Uint8Array): Uint8Array {
  const extra = countBareLineEnds(bytes);
  if (extra === 0) return bytes;
  const out = new Uint8Array(bytes.length + extra);
  writeCrlf(bytes, out, 0);
  return out;
}

/** A piece of output: bytes as they are, or bytes whose line ends are still to be made CRLF. */
export type Piece = Uint8Array | { readonly crlf: Uint8Array };

/**
 * Joins pieces into one new array; each `{ crlf }` piece gets its line ends
 * made CRLF on the way, exactly as {@link toCrlf} would do to it alone. The
 * converted bytes are written once, into the result: no converted copy of a
 * 50 MB body is made only to be copied again.
 *
 * @param length the result's size when the caller has it from {@link piecesLength}
 */
export function joinPieces(
  pieces: readonly Piece[],
  length: number = piecesLength(pieces),
): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      out.set(p, o);
      o += p.length;
    } else {
      o = writeCrlf(p.crlf, out, o);
    }
  }
  return out;
}

/** The size of {@link joinPieces}'s result, without making it. */
export function piecesLength(pieces: readonly Piece[]): number {
  let length = 0;
  for (const p of pieces) {
    length += p instanceof Uint8Array ? p.length : p.crlf.length + countBareLineEnds(p.crlf);
  }
  return length;
}

/** Bytes of a `{ crlf }` piece converted at a time. */
const CRLF_SLICE = 1 << 20;

/**
 * {@link joinPieces} streamed: the same bytes, piece by piece, `{ crlf }`
 * pieces converted a slice at a time into one scratch buffer (good until the
 * next piece is asked for). A slice never ends between a CR and its LF.
 */
export function* crlfPieces(pieces: readonly Piece[]): Generator<Uint8Array> {
  let scratch: Uint8Array | undefined;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      yield p;
      continue;
    }
    const raw = p.crlf;
    for (let at = 0; at < raw.length;) {
      let end = Math.min(raw.length, at + CRLF_SLICE);
      if (end < raw.length && raw[end - 1] === CR) end++;
      const slice = raw.subarray(at, end);
      const extra = countBareLineEnds(slice);
      if (extra === 0) yield slice;
      else {
        if (!scratch || scratch.length < slice.length + extra) {
          scratch = new Uint8Array(slice.length + extra);
        }
        yield scratch.subarray(0, writeCrlf(slice, scratch, 0));
      }
      at = end;
    }
  }
}

/** Runs shorter than this are copied byte by byte: a subarray costs more than the loop. */
const SHORT_RUN = 24;

/**
 * Writes `bytes` with every bare CR and LF made CRLF into `out` at `o`;
 * returns the end. The runs between line ends are found with the native
 * indexOf and copied with set(), so a typical line costs two native calls,
 * not a trip through the loop per byte.
 */
function writeCrlf(bytes: Uint8Array, out: Uint8Array, o: number): number {
  const n = bytes.length;
  // The next CR is looked for again only once passed: one far CR is not searched for per line.
  let cr = bytes.indexOf(CR);
  let i = 0;
  while (i < n) {
    let end = bytes.indexOf(LF, i);
    if (end === -1) end = n;
    if (cr !== -1 && cr < i) cr = bytes.indexOf(CR, i);
    if (cr !== -1 && cr < end) end = cr;
    o = copyRun(bytes, i, end, out, o);
    if (end === n) break;
    out[o++] = CR;
    out[o++] = LF;
    // A CR followed by its LF is one line end; a bare CR or LF is one too.
    i = bytes[end] === CR && bytes[end + 1] === LF ? end + 2 : end + 1;
  }
  return o;
}

/** Copies bytes[start, end) to `out` at `o`; returns the end. */
function copyRun(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  o: number,
): number {
  if (end - start < SHORT_RUN) {
    for (let i = start; i < end; i++) out[o++] = bytes[i]!;
    return o;
  }
  out.set(bytes.subarray(start, end), o);
  return o + end - start;
}

/** How many bytes toCrlf adds: one per bare CR or bare LF. */
function countBareLineEnds(bytes: Uint8Array): number {
  let extra = 0;
  // indexOf is native and fast: visit only the line-end bytes.
  let i = bytes.indexOf(LF);
  while (i !== -1) {
    if (i === 0 || bytes[i - 1] !== CR) extra++;
    i = bytes.indexOf(LF, i + 1);
  }
  i = bytes.indexOf(CR);
  while (i !== -1) {
    if (bytes[i + 1] !== LF) extra++;
    i = bytes.indexOf(CR, i + 1);
  }
  return extra;
}

/** Shortens text for an error message: at most `max` chars, "..." when cut. */
export function snippet(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

/** Escapes CR, LF, NUL and other controls so an error message stays one line. */
export function escapeControls(text: string): string {
  // deno-lint-ignore no-control-regex -- finding controls is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    if (c === "\r") return "\\r";
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}
