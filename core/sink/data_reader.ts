/**
 * Reads the DATA part of an SMTP transaction as it streams in: finds the end
 * of data, removes dot-stuffing, spots bare CR and bare LF, and counts size,
 * without a per-byte JavaScript loop (indexOf does the searching) and
 * without copying the message more than once.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Where one call to {@link DataReader.feed} stopped. */
export type DataProgress =
  /** The chunk is used up; more data is needed. */
  | { done: false }
  /**
   * The end of data: `next` is the index in the chunk just after it. `smuggled`
   * is set (strict mode only) when the dot line was ended by, or came after,
   * a bare LF: a lenient server would end the message there (SMTP smuggling).
   */
  | { done: true; next: number; smuggled: boolean };

const MORE: DataProgress = { done: false };

/** One message's DATA, fed chunk by chunk. */
export class DataReader {
  /** The first bare line end seen, in strict mode. */
  bare: "CR" | "LF" | undefined;
  /** Bytes after unstuffing, including any dropped because the message is too big. */
  size = 0;
  /** Raw bytes fed so far. */
  rawBytes = 0;

  readonly #strict: boolean;
  readonly #maxSize: number;
  #parts: Uint8Array[] = [];
  #carry: Uint8Array | undefined;
  /** The next byte starts a line (the DATA command's CRLF starts the first). */
  #lineStart = true;
  /** The line end before the current line was CRLF, not a bare LF. */
  #lineStartProper = true;
  /** The last byte of the previous chunk was a CR that still needs its LF. */
  #pendingCr = false;

  /**
   * @param strict refuse bare CR and bare LF; otherwise LF alone ends a line
   * @param maxSize bytes kept at most; past it the message is counted, not kept
   */
  constructor(strict: boolean, maxSize: number) {
    this.#strict = strict;
    this.#maxSize = maxSize;
  }

  /** True when the message exceeds the size limit. */
  get isTooBig(): boolean {
    return this.size > this.#maxSize;
  }

  /**
   * Scans `chunk` from `start`. The reader keeps views into `chunk`, so the
   * caller must not reuse its memory.
   */
  feed(input: Uint8Array, start: number): DataProgress {
    this.rawBytes += input.length - start;
    let chunk = input;
    let i = start;
    let shift = 0;
    if (this.#carry) {
      // A line-start "." or ".\r" held back from the previous chunk.
      const rest = input.subarray(start);
      chunk = new Uint8Array(this.#carry.length + rest.length);
      chunk.set(this.#carry);
      chunk.set(rest, this.#carry.length);
      shift = start - this.#carry.length;
      i = 0;
      this.#carry = undefined;
    }
    const len = chunk.length;
    const strict = this.#strict;
    let segStart = i;
    let nextCr = -2; // -2: not searched yet; -1: none left in this chunk
    if (strict && this.#pendingCr && i < len && chunk[i] !== LF) this.bare ??= "CR";
    while (i < len) {
      if (this.#lineStart) {
        if (chunk[i] === DOT) {
          const b1 = chunk[i + 1];
          if (b1 === undefined || (b1 === CR && i + 2 >= len)) {
            // RFC 5321 4.5.2: whether this dot ends the data depends on the next bytes.
            this.#keep(chunk, segStart, i);
            this.#carry = new Uint8Array(chunk.subarray(i));
            return MORE;
          }
          const crlf = b1 === CR && chunk[i + 2] === LF;
          if (crlf || b1 === LF) {
            this.#keep(chunk, segStart, i);
            const smuggled = strict && !(crlf && this.#lineStartProper);
            if (smuggled) this.bare ??= "LF";
            return { done: true, next: i + (crlf ? 3 : 2) + shift, smuggled };
          }
          // RFC 5321 4.5.2: a leading dot was doubled by the client; drop one.
          this.#keep(chunk, segStart, i);
          segStart = i + 1;
          i++;
        }
        this.#lineStart = false;
      }
      const lf = chunk.indexOf(LF, i);
      if (strict) {
        const limit = lf < 0 ? len - 1 : lf - 1;
        if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
        if (nextCr >= 0 && nextCr < limit) this.bare ??= "CR";
      }
      if (lf < 0) {
        this.#pendingCr = i < len && chunk[len - 1] === CR;
        break;
      }
      const proper = lf > 0 ? chunk[lf - 1] === CR : this.#pendingCr;
      if (strict && !proper) this.bare ??= "LF";
      this.#lineStartProper = proper;
      this.#pendingCr = false;
      this.#lineStart = true;
      i = lf + 1;
    }
    this.#keep(chunk, segStart, len);
    return MORE;
  }

  /** The message bytes, joined once. Empty when it was too big. */
  data(): Uint8Array {
    if (this.isTooBig) return new Uint8Array(0);
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  #keep(chunk: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.size += to - from;
    if (this.size > this.#maxSize) {
      this.#parts = [];
      return;
    }
    this.#parts.push(chunk.subarray(from, to));
  }
}
