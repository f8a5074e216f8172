/**
 * Reading inputs and writing outputs with errors that name the file, and
 * writes that are never left half-done.
 *
 * @module
 */
import type { ByteSource } from "./bytes.ts";
import { SmimeError } from "./errors.ts";

/** The name stdin goes by in messages. */
export const STDIN_NAME = "<stdin>";

/**
 * Reads a whole file, or stdin when `path` is "-".
 *
 * @throws {SmimeError} E_INPUT naming the file: missing, a folder, unreadable.
 */
export async function readInput(path: string): Promise<{ bytes: Uint8Array; source: string }> {
  if (path === "-") {
    return { bytes: await new Response(Deno.stdin.readable).bytes(), source: STDIN_NAME };
  }
  try {
    return { bytes: await readWholeFile(path), source: path };
  } catch (err) {
    throw new SmimeError("E_INPUT", `Cannot read ${path}: ${fileErrorReason(err)}`, {
      cause: err,
    });
  }
}

/** A short reason for a file-system error, without the OS's long text. */
export function fileErrorReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a folder";
  if (err instanceof Error && /EISDIR|Is a directory/.test(err.message)) return "is a folder";
  return err instanceof Error ? err.message : String(err);
}

/** The most written to a file, or read from one, in one call. */
const IO_SLICE = 1 << 20;

/**
 * A file's bytes in one array of the size it has, read in slices: a large
 * message costs its size once. (Deno.readFile held a 95 MB file several
 * times over at its peak.) A file that turns out longer than it said (still
 * growing, a pipe) is read to its end all the same.
 */
async function readWholeFile(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path);
  let out = new Uint8Array((await file.stat()).size);
  let length = 0;
  const probe = new Uint8Array(64 * 1024);
  for (;;) {
    const room = out.length - length;
    const into = room > 0 ? out.subarray(length, length + Math.min(room, IO_SLICE)) : probe;
    const n = await file.read(into);
    if (n === null) return length === out.length ? out : out.subarray(0, length);
    if (into !== probe) {
      length += n;
      continue;
    }
    const grown = new Uint8Array(Math.max(out.length * 2, length + n));
    grown.set(out.subarray(0, length));
    grown.set(probe.subarray(0, n), length);
    out = grown;
    length += n;
  }
}

/**
 * Writes `bytes` to `path` atomically: into a temporary file beside it, then
 * renamed over it, so a reader never sees half a message. A source is
 * written piece by piece as it is made (a large sealed message, never whole);
 * if making it fails, the temporary file is removed and nothing is renamed.
 *
 * @param mode the new file's permissions: by default only its owner's (a
 *   decrypted message, a signed one, a report with its recipients)
 * @throws {SmimeError} E_OUTPUT naming the file.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array | ByteSource,
  mode = 0o600,
): Promise<void> {
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    // In slices: Deno.writeFile copies its whole input first, which for a
    // 95 MB sealed message is 95 MB more at the peak.
    using file = await Deno.open(temp, { write: true, createNew: true, mode });
    await writeAll(file, bytes);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw new SmimeError("E_OUTPUT", `Cannot write ${path}: ${fileErrorReason(err)}`, {
      cause: err,
    });
  }
}

/**
 * Writes all of `bytes` to stdout.
 *
 * @throws {SmimeError} E_OUTPUT when the reader went away (broken pipe).
 */
export async function writeStdout(bytes: Uint8Array | ByteSource): Promise<void> {
  try {
    await writeAll(Deno.stdout, bytes);
  } catch (err) {
    throw new SmimeError("E_OUTPUT", `Cannot write to stdout: ${fileErrorReason(err)}`, {
      cause: err,
    });
  }
}

/**
 * Writes every byte, in slices of at most {@link IO_SLICE}; a source's
 * pieces one after another, each written out before the next is made (a
 * piece may be a scratch buffer the next one overwrites).
 */
async function writeAll(
  to: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array | ByteSource,
): Promise<void> {
  const pieces = bytes instanceof Uint8Array ? [bytes] : bytes.pieces();
  for (const piece of pieces) {
    for (let at = 0; at < piece.length;) {
      at += await to.write(piece.subarray(at, at + IO_SLICE));
    }
  }
}
