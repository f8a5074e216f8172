/**
 * The batch input layer: every message of a run, in a stable order, from
 * files, folders, mboxes, manifests and stdin, one message in memory at a
 * time.
 *
 * An item that cannot be read (a missing file, a bad manifest line) makes
 * `next()` reject with an {@link InputError} carrying the item's key and
 * label. The sequence is not over: calling `next()` again goes on with the
 * following item, so the runner decides whether one bad file stops the run.
 * (A `for await` loop stops at the first; nothing is left open when it does.)
 *
 * @example
 * ```ts
 * import { countInputs, InputError, readInputs } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await Deno.writeTextFile(`${dir}/1.eml`, "From: a@example.com\nTo: b@example.com\n\nhi\n");
 *   const paths = [dir, `${dir}/missing.eml`];
 *   const total = await countInputs(paths);
 *   const inputs = readInputs(paths);
 *   const seen: string[] = [];
 *   while (true) {
 *     try {
 *       const { done, value } = await inputs.next();
 *       if (done) break;
 *       seen.push(`${value.key}: ${value.bytes.length} bytes of ${total}`);
 *     } catch (err) {
 *       if (!(err instanceof InputError)) throw err;
 *       seen.push(`${err.key}: refused`); // and go on
 *     }
 *   }
 *   if (seen.length !== 2) throw new Error(seen.join("\n"));
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 *
 * @module
 */
import { SmimeError } from "../../errors.ts";
import { STDIN_NAME } from "../../io.ts";
import { countPath, normalisePath, readPath } from "./files.ts";
import { countManifest, readManifest } from "./manifest.ts";
import { countMbox, readMbox } from "./mbox.ts";
import { type BatchInput, InputError, type InputItem, type InputOptions } from "./types.ts";

export type { BatchInput, DeliveryFields, InputOptions } from "./types.ts";
export { InputError } from "./types.ts";

/**
 * All inputs in order: each path argument (a file; a folder: its *.eml files
 * at any depth, sorted by path, symlinks followed, loops skipped; "-": one
 * message, all of stdin), then the mboxes, then the manifests. Streams: holds
 * one message (plus a read buffer) at a time; a folder is listed one
 * sub-folder at a time and no file is read before its turn.
 *
 * @param paths files, folders, or "-"
 * @param options mboxes, manifests, and the stream "-" reads
 * @returns the messages; `next()` rejects with an {@link InputError} (E_INPUT)
 *   for an item that cannot be read, and goes on with the next item when
 *   called again
 * @throws {SmimeError} E_USAGE, at once, when more than one input is "-", or
 *   the same file is given twice
 */
export function readInputs(
  paths: string[],
  options: InputOptions = {},
): AsyncGenerator<BatchInput> {
  checkArguments(paths, options);
  return new InputSequence(allInputs(paths, options));
}

/**
 * How many items {@link readInputs} will produce (messages, and errors in
 * place of unreadable ones) for the progress bar's total, reading no message
 * bodies: files are counted, folders walked, mboxes scanned for From_ lines,
 * manifest lines counted.
 *
 * @returns the count, or undefined when an mbox or manifest comes from stdin
 * @throws {SmimeError} E_USAGE as {@link readInputs}
 */
export async function countInputs(
  paths: string[],
  options: InputOptions = {},
): Promise<number | undefined> {
  checkArguments(paths, options);
  if (options.mbox?.includes("-") || options.manifest?.includes("-")) return undefined;
  let count = 0;
  for (const path of paths) count += path === "-" ? 1 : await countPath(path);
  for (const path of options.mbox ?? []) count += await countMbox({ path: normalisePath(path) });
  for (const path of options.manifest ?? []) count += await countManifest({ path });
  return count;
}

async function* allInputs(paths: string[], options: InputOptions): AsyncGenerator<InputItem> {
  const stdin = options.stdin;
  for (const path of paths) {
    if (path === "-") yield await readStdin(stdin ?? Deno.stdin.readable);
    else yield* readPath(path);
  }
  for (const path of options.mbox ?? []) {
    yield* readMbox({ path: path === "-" ? "-" : normalisePath(path), stream: stdin });
  }
  for (const path of options.manifest ?? []) yield* readManifest({ path, stream: stdin });
}

async function readStdin(stream: ReadableStream<Uint8Array>): Promise<InputItem> {
  try {
    return { key: "stdin", label: STDIN_NAME, bytes: await new Response(stream).bytes() };
  } catch (err) {
    return new InputError("stdin", STDIN_NAME, `Cannot read ${STDIN_NAME}: ${String(err)}`, {
      cause: err,
    });
  }
}

/** The inputs by kind, as the command line names them. */
function inputLists(paths: string[], options: InputOptions): [string, string[]][] {
  return [["", paths], ["--mbox ", options.mbox ?? []], ["--manifest ", options.manifest ?? []]];
}

/** E_USAGE before anything is read: stdin used twice, or one input given twice (keys must be unique). */
function checkArguments(paths: string[], options: InputOptions): void {
  const stdinUsers: string[] = [];
  for (const [flag, list] of inputLists(paths, options)) {
    const seen = new Set<string>();
    for (const path of list) {
      if (path === "-") {
        stdinUsers.push(flag === "" ? '"-"' : `${flag}-`);
        continue;
      }
      const name = normalisePath(path);
      if (seen.has(name)) {
        throw new SmimeError("E_USAGE", `Cannot read ${flag}${name} twice: it is given twice`);
      }
      seen.add(name);
    }
  }
  if (stdinUsers.length > 1) {
    throw new SmimeError(
      "E_USAGE",
      `Cannot read stdin for both ${stdinUsers[0]} and ${stdinUsers[1]}: only one input may be "-"`,
    );
  }
}

/**
 * The sequence readInputs returns: an error item rejects next() instead of
 * ending the sequence, so the caller may go on past it.
 */
class InputSequence implements AsyncGenerator<BatchInput, void, undefined> {
  readonly #items: AsyncGenerator<InputItem, void, undefined>;

  constructor(items: AsyncGenerator<InputItem, void, undefined>) {
    this.#items = items;
  }

  async next(): Promise<IteratorResult<BatchInput, void>> {
    return unwrap(await this.#items.next());
  }

  async return(): Promise<IteratorResult<BatchInput, void>> {
    return unwrap(await this.#items.return());
  }

  async throw(err: unknown): Promise<IteratorResult<BatchInput, void>> {
    return unwrap(await this.#items.throw(err));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

function unwrap(result: IteratorResult<InputItem, void>): IteratorResult<BatchInput, void> {
  if (!result.done && result.value instanceof InputError) throw result.value;
  return result as IteratorResult<BatchInput, void>;
}
