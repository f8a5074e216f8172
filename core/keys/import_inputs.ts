/**
 * The inputs of `keys import`: files, folders (recursive, the file kinds
 * that can hold certificates), mbox files (one input per message, by the
 * batch mbox reader) and stdin. Each yields its bytes or the error in its
 * place, so one bad input never stops the others.
 *
 * @module
 */

import { join } from "node:path";
import { readMbox } from "../batch/sources/mbox.ts";
import { isSmimeError, reasonOf, SmimeError } from "../errors.ts";
import { fileErrorReason, STDIN_NAME } from "../io.ts";
import { importMessage, type ImportOptions, MAX_INPUT_BYTES } from "./import.ts";
import { type ImportOutcome, refusal } from "./import_outcome.ts";

/** One input: its bytes, or why it could not be read. */
export type ImportInput =
  | { source: string; bytes: Uint8Array; error?: undefined }
  | { source: string; error: SmimeError; bytes?: undefined };

/** What a folder walk picks up; anything else in a folder is not an input. */
const EXTENSIONS = new Set([
  "eml",
  "msg",
  "mbox",
  "mbx",
  "p7m",
  "p7s",
  "p7b",
  "p7c",
  "crt",
  "cer",
  "pem",
  "der",
]);

/**
 * Imports every input of `paths` (see {@link readImportInputs}), one input
 * at a time, yielding each outcome as soon as it is known.
 *
 * @throws {SmimeError} E_INPUT when the key folder does not exist, E_USAGE
 *   without trust anchors
 */
export async function* runImport(
  paths: string[],
  options: ImportOptions,
): AsyncGenerator<ImportOutcome> {
  let folder: Deno.FileInfo | undefined;
  try {
    folder = await Deno.stat(options.keysDir);
  } catch (err) {
    throw new SmimeError(
      "E_INPUT",
      `Cannot import into ${options.keysDir}: ${fileErrorReason(err)}`,
      { cause: err },
    );
  }
  if (!folder.isDirectory) {
    throw new SmimeError("E_INPUT", `Cannot import into ${options.keysDir}: not a folder`);
  }
  for await (const input of readImportInputs(paths, options.maxBytes ?? MAX_INPUT_BYTES)) {
    if (input.error) {
      const prefix = `${input.source}: `;
      const message = input.error.message;
      const reason = message.startsWith(prefix) ? message.slice(prefix.length) : message;
      yield refusal(input.source, input.error.code, reason);
      continue;
    }
    let outcomes: ImportOutcome[];
    try {
      outcomes = await importMessage(input.bytes, input.source, options);
    } catch (err) {
      if (isSmimeError(err, "E_USAGE")) throw err;
      // Hostile input must not end the run: a failure nobody foresaw refuses this input only.
      const what = isSmimeError(err) ? reasonOf(err) : `internal error (a bug): ${reasonOf(err)}`;
      outcomes = [refusal(input.source, isSmimeError(err) ? err.code : "E_MESSAGE", what)];
    }
    yield* outcomes;
  }
}

/**
 * Reads every input of `paths` in order: "-" is stdin, a folder is walked
 * recursively (sorted, hidden entries and symbolic links skipped), a file
 * starting with an mbox From_ line is split into its messages.
 *
 * @param paths the INPUT arguments
 * @param maxBytes files larger than this are refused unread (mbox files
 *   are streamed, and each message is bounded by the import)
 */
export async function* readImportInputs(
  paths: string[],
  maxBytes: number,
): AsyncGenerator<ImportInput> {
  for (const path of paths) {
    if (path === "-") {
      yield await readStdin(maxBytes);
      continue;
    }
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (err) {
      yield inputError(path, "E_INPUT", `Cannot read ${path}: ${fileErrorReason(err)}`, err);
      continue;
    }
    if (info.isDirectory) yield* walk(path, maxBytes);
    else yield* readFile(path, info.size, maxBytes);
  }
}

async function* walk(dir: string, maxBytes: number): AsyncGenerator<ImportInput> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (err) {
    yield inputError(dir, "E_INPUT", `Cannot read ${dir}: ${fileErrorReason(err)}`, err);
    return;
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.isSymlink) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      yield* walk(path, maxBytes);
      continue;
    }
    const ext = entry.name.includes(".") ? entry.name.split(".").pop()!.toLowerCase() : "";
    if (!entry.isFile || !EXTENSIONS.has(ext)) continue;
    try {
      yield* readFile(path, (await Deno.stat(path)).size, maxBytes);
    } catch (err) {
      yield inputError(path, "E_INPUT", `Cannot read ${path}: ${fileErrorReason(err)}`, err);
    }
  }
}

async function* readFile(
  path: string,
  size: number,
  maxBytes: number,
): AsyncGenerator<ImportInput> {
  if (await startsWithFromLine(path)) {
    for await (const item of readMbox({ path })) {
      if (item instanceof Error) yield { source: item.label, error: item };
      else yield { source: item.label, bytes: item.bytes };
    }
    return;
  }
  if (size > maxBytes) {
    const limit = Math.round(maxBytes / 1024 / 1024);
    yield inputError(path, "E_MESSAGE", `${path}: larger than the ${limit} MB limit`);
    return;
  }
  try {
    yield { source: path, bytes: await Deno.readFile(path) };
  } catch (err) {
    yield inputError(path, "E_INPUT", `Cannot read ${path}: ${fileErrorReason(err)}`, err);
  }
}

/** True when the file begins with "From " (an mbox). */
async function startsWithFromLine(path: string): Promise<boolean> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path);
    const head = new Uint8Array(5);
    let got = 0;
    while (got < head.length) {
      const n = await file.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    return new TextDecoder().decode(head.subarray(0, got)) === "From ";
  } catch {
    return false; // reading the file reports the error
  } finally {
    file?.close();
  }
}

/** Stdin, read up to `maxBytes` and refused beyond it. */
async function readStdin(maxBytes: number): Promise<ImportInput> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of Deno.stdin.readable) {
    total += chunk.length;
    if (total > maxBytes) {
      const limit = Math.round(maxBytes / 1024 / 1024);
      return inputError(
        STDIN_NAME,
        "E_MESSAGE",
        `${STDIN_NAME}: larger than the ${limit} MB limit`,
      );
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { source: STDIN_NAME, bytes };
}

function inputError(
  source: string,
  code: "E_INPUT" | "E_MESSAGE",
  message: string,
  cause?: unknown,
): ImportInput {
  return { source, error: new SmimeError(code, message, { cause }) };
}
