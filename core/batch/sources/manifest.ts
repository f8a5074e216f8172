/**
 * Messages listed in a manifest: JSON Lines, one object per line naming a
 * message file (relative to the manifest's folder) and, optionally, its
 * envelope and delivery fields. Blank lines and lines starting with "#" are
 * skipped. Read line by line; a manifest of a million lines is fine.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { z } from "zod";
import { didYouMean } from "../../config/suggest.ts";
import { TOKEN } from "../../deliver/headers.ts";
import { STDIN_NAME } from "../../io.ts";
import {
  ByteBuilder,
  CHUNK_SIZE,
  type ChunkReader,
  openFileChunks,
  streamChunks,
} from "./chunks.ts";
import { normalisePath, readError, readMessageFile } from "./files.ts";
import { type BatchInput, type DeliveryFields, InputError, type InputItem } from "./types.ts";

// Control characters, spaces and <> could smuggle SMTP commands into the envelope.
// deno-lint-ignore no-control-regex
const ADDRESS = /^[^\x00-\x20\x7f<>]+$/;
const ADDRESS_TEXT = "an address without spaces, control characters or <>";

const address = z.string({ error: `must be ${ADDRESS_TEXT}` }).regex(ADDRESS, {
  error: `must be ${ADDRESS_TEXT}`,
});
const token = z.string({ error: "must be a string" }).regex(TOKEN, {
  error: "must be visible ASCII without spaces",
});
const text = z.string({ error: "must be a string" });

/** One manifest line. */
export const manifestLineSchema = z.strictObject({
  file: z.string({ error: "is required: the message file" }).min(1, { error: "must not be empty" }),
  from: z.union([z.literal(""), address], { error: `must be ${ADDRESS_TEXT}, or "" (null sender)` })
    .optional(),
  to: z.union([address, z.array(address).min(1, { error: "must list at least one address" })], {
    error: `must be ${ADDRESS_TEXT}, or a non-empty list of them`,
  }).optional(),
  campaign_id: text.optional(),
  metadata: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
  tags: z.array(text, { error: "must be a list of strings" }).optional(),
  virtual_mta: token.optional(),
  job: token.optional(),
  binding: text.min(1, { error: "must not be empty" }).optional(),
});

/** One manifest line, validated. */
export type ManifestLine = z.infer<typeof manifestLineSchema>;

const KEYS = Object.keys(manifestLineSchema.shape);
const FIELD_KEYS = ["campaign_id", "metadata", "tags", "virtual_mta", "job", "binding"] as const;

/**
 * Parses one manifest line (not blank, not a comment).
 *
 * @returns the line, or the reason it is refused ("unknown key ...", "not JSON")
 */
export function parseManifestLine(line: string): ManifestLine | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { reason: "not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { reason: "not a JSON object" };
  }
  const parsed = manifestLineSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  // A misspelt key also makes its field missing: the spelling is the news.
  const issues = parsed.error.issues;
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(", ");
    const plural = issue.keys.length > 1 ? "s" : "";
    return { reason: `unknown key${plural} ${keys}${didYouMean(issue.keys[0]!, KEYS)}` };
  }
  const where = issue.path.map((part) => String(part)).join(".");
  return { reason: `${JSON.stringify(where)} ${issue.message}` };
}

/** Where a manifest comes from. */
export interface ManifestSource {
  /** The path as given, or "-" for `stream` (whose files are relative to the working folder). */
  path: string;
  /** What "-" reads. */
  stream?: ReadableStream<Uint8Array>;
  /** Read size for files. */
  chunkSize?: number;
  /** Opens the file; tests wrap it to see that nothing is left open. */
  openFile?: typeof openFileChunks;
}

/**
 * The messages a manifest lists, keyed "manifest:<path>#<line>". A bad line
 * or a missing message file is an error item; the manifest file is closed
 * while the error is out (and reopened where it was if the caller goes on),
 * so a caller that stops at the first error leaks nothing.
 */
export async function* readManifest(source: ManifestSource): AsyncGenerator<InputItem> {
  const path = source.path === "-" ? "-" : normalisePath(source.path);
  const name = path === "-" ? STDIN_NAME : path;
  const folder = path === "-" ? "." : dirname(path);
  const lines = new ManifestLines(path, source);
  try {
    while (true) {
      let line: Line | null;
      try {
        line = await lines.next();
      } catch (err) {
        lines.close();
        yield readError(`manifest:${path}`, name, err);
        return;
      }
      if (line === null) return;
      const key = `manifest:${path}#${line.number}`;
      const where = `${name} line ${line.number}`;
      const item = itemOf(line.text, key, where, folder);
      if (item instanceof InputError) lines.suspend();
      yield item;
    }
  } finally {
    lines.close();
  }
}

/** How many items {@link readManifest} yields: lines that are neither blank nor comments. */
export async function countManifest(source: ManifestSource): Promise<number> {
  const lines = new ManifestLines(source.path, source);
  let count = 0;
  try {
    while (await lines.next()) count++;
    return count;
  } catch {
    return count + 1;
  } finally {
    lines.close();
  }
}

function itemOf(
  text: string,
  key: string,
  where: string,
  folder: string,
): BatchInput | InputError {
  const line = parseManifestLine(text);
  if ("reason" in line) {
    return new InputError(key, where, `Cannot read ${where}: ${line.reason}`);
  }
  const file = normalisePath(isAbsolute(line.file) ? line.file : join(folder, line.file));
  const item = readMessageFile(file, key, ` (${where})`);
  if (item instanceof InputError) return item;
  if (line.from !== undefined) item.sender = line.from;
  if (line.to !== undefined) item.recipients = typeof line.to === "string" ? [line.to] : line.to;
  const fields: DeliveryFields = {};
  for (const field of FIELD_KEYS) {
    if (line[field] !== undefined) Object.assign(fields, { [field]: line[field] });
  }
  if (Object.keys(fields).length > 0) item.fields = fields;
  return item;
}

interface Line {
  /** 1-based line number in the manifest. */
  number: number;
  text: string;
}

/**
 * The content lines of a manifest. suspend() closes a file between lines
 * and the next call reopens it at the byte where it stopped; a stream stays
 * as it is.
 */
class ManifestLines {
  readonly #path: string;
  readonly #source: ManifestSource;
  readonly #decoder = new TextDecoder();
  readonly #carry = new ByteBuilder();
  #reader: ChunkReader | undefined;
  #chunk: Uint8Array = new Uint8Array(0);
  #at = 0;
  /** Bytes of the file consumed by the lines returned so far. */
  #offset = 0;
  #number = 0;
  #isAtEnd = false;

  constructor(path: string, source: ManifestSource) {
    this.#path = path;
    this.#source = source;
  }

  /** The next line that is neither blank nor a comment, or null at the end. */
  async next(): Promise<Line | null> {
    while (true) {
      const bytes = await this.#nextLine();
      if (bytes === null) return null;
      this.#number++;
      let text = this.#decoder.decode(bytes);
      if (this.#number === 1 && text.startsWith("\uFEFF")) text = text.slice(1);
      text = text.trim();
      if (text !== "" && !text.startsWith("#")) return { number: this.#number, text };
    }
  }

  /** Closes a file until the next call to next(). */
  suspend(): void {
    if (this.#path === "-") return;
    this.close();
    this.#chunk = new Uint8Array(0);
    this.#at = 0;
  }

  /** Closes the file or releases the stream. */
  close(): void {
    this.#reader?.close();
    this.#reader = undefined;
  }

  async #nextLine(): Promise<Uint8Array | null> {
    while (true) {
      if (this.#at < this.#chunk.length) {
        const end = this.#chunk.indexOf(0x0a, this.#at);
        const piece = this.#chunk.subarray(this.#at, end === -1 ? undefined : end + 1);
        this.#at += piece.length;
        this.#offset += piece.length;
        if (end === -1) {
          this.#carry.append(piece);
          continue;
        }
        if (this.#carry.length === 0) return piece;
        this.#carry.append(piece);
        return this.#carry.take();
      }
      if (this.#isAtEnd) return null;
      this.#reader ??= await this.#open();
      const chunk = await this.#reader.read();
      if (chunk === null) {
        this.#isAtEnd = true;
        this.close();
        if (this.#carry.length > 0) return this.#carry.take();
        return null;
      }
      this.#chunk = chunk;
      this.#at = 0;
    }
  }

  #open(): Promise<ChunkReader> {
    if (this.#path === "-") {
      return Promise.resolve(streamChunks(this.#source.stream ?? Deno.stdin.readable));
    }
    const open = this.#source.openFile ?? openFileChunks;
    return open(this.#path, this.#source.chunkSize ?? CHUNK_SIZE, this.#offset);
  }
}
