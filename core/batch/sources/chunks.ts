/**
 * Reading files and streams in chunks, and collecting bytes without
 * reallocating for every line.
 *
 * @module
 */

/** The read size for mboxes and manifests. */
export const CHUNK_SIZE = 64 * 1024;

/** A source of chunks: a file read into one reused buffer, or a stream. */
export interface ChunkReader {
  /** The next chunk, or null at the end. A file's chunk is valid only until the next read. */
  read(): Promise<Uint8Array | null>;
  /** Closes the file, or releases the stream for the next reader; idempotent. */
  close(): void;
}

/**
 * Opens `path` for reading in `chunkSize` chunks from byte `offset`.
 *
 * @throws the file system's error (the caller names the file)
 */
export async function openFileChunks(
  path: string,
  chunkSize = CHUNK_SIZE,
  offset = 0,
): Promise<ChunkReader> {
  const file = await Deno.open(path, { read: true });
  let isOpen = true;
  const close = () => {
    if (isOpen) file.close();
    isOpen = false;
  };
  try {
    if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
  } catch (err) {
    close();
    throw err;
  }
  const buffer = new Uint8Array(chunkSize);
  return {
    async read() {
      const n = await file.read(buffer);
      return n === null ? null : buffer.subarray(0, n);
    },
    close,
  };
}

/** Reads `stream` chunk by chunk; close() releases it without cancelling it. */
export function streamChunks(stream: ReadableStream<Uint8Array>): ChunkReader {
  const reader = stream.getReader();
  let isLocked = true;
  return {
    async read() {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return null;
        if (value.length > 0) return value;
      }
    },
    close() {
      if (isLocked) reader.releaseLock();
      isLocked = false;
    },
  };
}

/** A growable byte buffer that is reused from one message to the next. */
export class ByteBuilder {
  #buffer = new Uint8Array(0);
  #length = 0;

  /** How many bytes it holds. */
  get length(): number {
    return this.#length;
  }

  /** Appends a copy of `bytes`. */
  append(bytes: Uint8Array): void {
    const needed = this.#length + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2, 1024));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#length);
    this.#length = needed;
  }

  /** The bytes held, valid until the next append or reset. */
  view(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** A copy of the bytes held; empties the builder. */
  take(): Uint8Array {
    const bytes = this.#buffer.slice(0, this.#length);
    this.reset();
    return bytes;
  }

  /** Empties the builder; lets a buffer grown for one huge message go. */
  reset(): void {
    this.#length = 0;
    if (this.#buffer.length > 4 * 1024 * 1024) this.#buffer = new Uint8Array(0);
  }
}
