/**
 * Messages from an mbox (RFC 4155; mboxrd and mboxo), streamed in chunks so
 * that a 2 GB file holds one message in memory at a time.
 *
 * The first line that is not empty must start "From " and begins the first
 * message. After that, a From_ line (sender and date, see from_line.ts) after
 * an empty line begins the next; the From_ line itself is dropped, and so is
 * the empty line before it (the separator RFC 4155 puts after each message).
 * Any other line starting "From " is body text: mboxo writers leave a body's
 * "From the desk of..." unquoted, and splitting there cut a message short. Lines matching /^>+From / lose
 * one ">" (mboxrd escaping; for mboxo that undoes its one level). Line ends
 * are kept as they are, LF or CRLF.
 *
 * @module
 */
import { STDIN_NAME } from "../../io.ts";
import {
  ByteBuilder,
  CHUNK_SIZE,
  type ChunkReader,
  openFileChunks,
  streamChunks,
} from "./chunks.ts";
import { readError } from "./files.ts";
import { isFromLine, MAX_FROM_LINE } from "./from_line.ts";
import { InputError, type InputItem } from "./types.ts";

const LF = 0x0a;
const CR = 0x0d;
const GT = 0x3e;
const FROM_ = [0x46, 0x72, 0x6f, 0x6d, 0x20]; // "From "
const LF_LINE = new Uint8Array([LF]);
const CRLF_LINE = new Uint8Array([CR, LF]);
/**
 * A counting splitter keeps this much of a partial line: enough to classify
 * it (a longer line is no From_ line, so both splitters see the same lines).
 */
const PREFIX = MAX_FROM_LINE + 1;

/** Thrown by {@link MboxSplitter} when the input does not start with a From_ line. */
export class NotMboxError extends Error {}

function startsWithFrom(line: Uint8Array, at: number): boolean {
  if (line.length < at + FROM_.length) return false;
  for (let i = 0; i < FROM_.length; i++) if (line[at + i] !== FROM_[i]) return false;
  return true;
}

function blankLineOf(line: Uint8Array): Uint8Array | undefined {
  if (line.length === 1 && line[0] === LF) return LF_LINE;
  if (line.length === 2 && line[0] === CR && line[1] === LF) return CRLF_LINE;
  return undefined;
}

function isEscapedFrom(line: Uint8Array): boolean {
  let at = 0;
  while (line[at] === GT) at++;
  return at > 0 && startsWithFrom(line, at);
}

/**
 * Splits mbox bytes pushed in chunks of any size into messages. With
 * `isCountOnly` it only counts them and keeps no message bytes.
 */
export class MboxSplitter {
  readonly #isCountOnly: boolean;
  readonly #carry = new ByteBuilder();
  readonly #message = new ByteBuilder();
  #done: Uint8Array[] = [];
  #count = 0;
  #hasStarted = false;
  /** An empty line not yet written: the separator, if a From_ line follows. */
  #heldBlank: Uint8Array | undefined;

  /** @param isCountOnly count the messages without keeping their bytes */
  constructor(isCountOnly = false) {
    this.#isCountOnly = isCountOnly;
  }

  /** How many messages have begun so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Takes the next chunk (copied where kept; the caller may reuse it).
   *
   * @returns the messages it completed, in order
   * @throws {NotMboxError} when the first line that is not empty is no From_ line
   */
  push(chunk: Uint8Array): Uint8Array[] {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) {
        this.#keepPartial(chunk.subarray(start));
        break;
      }
      const piece = chunk.subarray(start, end + 1);
      if (this.#carry.length > 0) {
        this.#keepPartial(piece);
        this.#line(this.#carry.view());
        this.#carry.reset();
      } else {
        this.#line(piece);
      }
      start = end + 1;
    }
    return this.#takeDone();
  }

  /**
   * Ends the input: a last line without a line end, and the last message.
   *
   * @returns the messages it completed
   * @throws {NotMboxError} as {@link push}
   */
  end(): Uint8Array[] {
    if (this.#carry.length > 0) {
      this.#line(this.#carry.view());
      this.#carry.reset();
    }
    if (this.#hasStarted) this.#finish();
    this.#hasStarted = false;
    return this.#takeDone();
  }

  #keepPartial(piece: Uint8Array): void {
    if (!this.#isCountOnly) return this.#carry.append(piece);
    // A line longer than PREFIX is neither empty nor a From_ line.
    const room = PREFIX - this.#carry.length;
    if (room > 0) this.#carry.append(piece.subarray(0, room));
  }

  #line(line: Uint8Array): void {
    const blank = blankLineOf(line);
    if (!this.#hasStarted) {
      if (blank) return;
      if (!startsWithFrom(line, 0)) {
        throw new NotMboxError('not an mbox: the first line does not start with "From "');
      }
      this.#hasStarted = true;
      this.#count++;
      return;
    }
    if (this.#heldBlank && isFromLine(line)) {
      this.#heldBlank = undefined;
      this.#finish();
      this.#count++;
      return;
    }
    if (this.#isCountOnly) {
      this.#heldBlank = blank;
      return;
    }
    if (this.#heldBlank) this.#message.append(this.#heldBlank);
    this.#heldBlank = blank;
    if (blank) return;
    this.#message.append(isEscapedFrom(line) ? line.subarray(1) : line);
  }

  #finish(): void {
    // A blank line still held here is the separator after the last message.
    this.#heldBlank = undefined;
    if (!this.#isCountOnly) this.#done.push(this.#message.take());
  }

  #takeDone(): Uint8Array[] {
    if (this.#done.length === 0) return [];
    const done = this.#done;
    this.#done = [];
    return done;
  }
}

/** Where an mbox comes from, and how to read it. */
export interface MboxSource {
  /** The path as given (normalised), or "-" for `stream`. */
  path: string;
  /** What "-" reads. */
  stream?: ReadableStream<Uint8Array>;
  /** Read size for files; tests make it tiny to split lines across chunks. */
  chunkSize?: number;
}

/**
 * The messages of one mbox, keyed "mbox:<path>#<n>". A file that cannot be
 * opened, is no mbox, or fails part way is one error item, yielded after the
 * file is closed.
 */
export async function* readMbox(source: MboxSource): AsyncGenerator<InputItem> {
  const label = source.path === "-" ? STDIN_NAME : source.path;
  const key = `mbox:${source.path}`;
  let reader: ChunkReader;
  try {
    reader = await openMbox(source);
  } catch (err) {
    yield readError(key, label, err);
    return;
  }
  const splitter = new MboxSplitter();
  let number = 0;
  let failure: InputError | undefined;
  try {
    while (true) {
      let messages: Uint8Array[];
      let chunk: Uint8Array | null;
      try {
        chunk = await reader.read();
        messages = chunk === null ? splitter.end() : splitter.push(chunk);
      } catch (err) {
        failure = mboxError(key, label, err);
        break;
      }
      for (const bytes of messages) {
        number++;
        yield { key: `${key}#${number}`, label: `${label} message ${number}`, bytes };
      }
      if (chunk === null) break;
    }
  } finally {
    reader.close();
  }
  if (failure) yield failure;
}

/** How many items {@link readMbox} yields: From_ lines, or 1 for an error. */
export async function countMbox(source: MboxSource): Promise<number> {
  let reader: ChunkReader;
  try {
    reader = await openMbox(source);
  } catch {
    return 1;
  }
  const splitter = new MboxSplitter(true);
  try {
    for (let chunk = await reader.read(); chunk !== null; chunk = await reader.read()) {
      splitter.push(chunk);
    }
    splitter.end();
    return splitter.count;
  } catch {
    return splitter.count + 1;
  } finally {
    reader.close();
  }
}

function openMbox(source: MboxSource): Promise<ChunkReader> {
  if (source.path === "-") {
    return Promise.resolve(streamChunks(source.stream ?? Deno.stdin.readable));
  }
  return openFileChunks(source.path, source.chunkSize ?? CHUNK_SIZE);
}

function mboxError(key: string, label: string, err: unknown): InputError {
  if (err instanceof NotMboxError) {
    return new InputError(key, label, `Cannot read ${label}: ${err.message}`);
  }
  return readError(key, label, err);
}
