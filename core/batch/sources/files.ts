/**
 * Messages from path arguments: a file is one message; a folder is every
 * *.eml file under it, in path order, walked one folder at a time.
 *
 * @module
 */
import { join, normalize, sep } from "node:path";
import { fileErrorReason } from "../../io.ts";
import { type BatchInput, InputError, type InputItem } from "./types.ts";

/** A path as keys and labels show it: normalised, no "./", no trailing separator. */
export function normalisePath(path: string): string {
  const normal = normalize(path);
  return normal.length > 1 && normal.endsWith(sep) ? normal.slice(0, -1) : normal;
}

/** True for the names a folder walk picks up. */
export function isEmlName(name: string): boolean {
  return name.toLowerCase().endsWith(".eml");
}

/** The error for a file or folder that cannot be read. */
export function readError(key: string, path: string, err: unknown, where = ""): InputError {
  return new InputError(key, path, `Cannot read ${path}: ${fileErrorReason(err)}${where}`, {
    cause: err,
  });
}

/**
 * Reads one file as one message; a failure is the item's error. The read is
 * synchronous: a message file is read whole anyway, and an asynchronous
 * read's trip through the runtime's thread pool cost the main thread about
 * 30 us of CPU more per message (45-50 us against 14-19 for 7 KB).
 */
export function readMessageFile(
  path: string,
  key = path,
  where = "",
): BatchInput | InputError {
  try {
    return { key, label: path, bytes: Deno.readFileSync(path) };
  } catch (err) {
    return readError(key, path, err, where);
  }
}

/**
 * The items of one path argument: the file, or the *.eml files of the folder.
 * The argument is stat'ed once; files in folders are not stat'ed at all
 * (symlinks once, to follow them).
 */
export async function* readPath(path: string): AsyncGenerator<InputItem> {
  for await (const item of walkPath(path)) {
    yield typeof item === "string" ? readMessageFile(item) : item;
  }
}

/** How many items {@link readPath} yields, without reading any file. */
export async function countPath(path: string): Promise<number> {
  let count = 0;
  for await (const _ of walkPath(path)) count++;
  return count;
}

/** The files one path argument stands for, or the errors in their place. */
async function* walkPath(path: string): AsyncGenerator<string | InputError> {
  const name = normalisePath(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(name);
  } catch (err) {
    yield readError(name, name, err);
    return;
  }
  if (!info.isDirectory) {
    yield name;
    return;
  }
  let real: string;
  try {
    real = await Deno.realPath(name);
  } catch (err) {
    yield readError(name, name, err);
    return;
  }
  let found = 0;
  for await (const item of walkFolder(name, real, new Set([real]))) {
    found++;
    yield item;
  }
  if (found === 0) yield new InputError(name, name, `No *.eml files in ${name}`);
}

interface Entry {
  name: string;
  isFolder: boolean;
  isSymlink: boolean;
  /** name, plus a separator for folders: sorting on it sorts the walk by full path. */
  order: string;
}

/**
 * Depth first through `dir`, entries sorted so the files come out in path
 * order. Symlinks are followed; one that leads back to a folder being
 * walked (`ancestors`, by real path) is skipped, so loops end.
 */
async function* walkFolder(
  dir: string,
  real: string,
  ancestors: Set<string>,
): AsyncGenerator<string | InputError> {
  let entries: Entry[];
  try {
    entries = await listFolder(dir);
  } catch (err) {
    yield readError(dir, dir, err);
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (!entry.isFolder) {
      yield path;
      continue;
    }
    let childReal = join(real, entry.name);
    if (entry.isSymlink) {
      try {
        childReal = await Deno.realPath(path);
      } catch (err) {
        yield readError(path, path, err);
        continue;
      }
    }
    if (ancestors.has(childReal)) continue;
    ancestors.add(childReal);
    yield* walkFolder(path, childReal, ancestors);
    ancestors.delete(childReal);
  }
}

/** The sub-folders and *.eml files of `dir`, sorted; names only, no bodies. */
async function listFolder(dir: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const dirEntry of Deno.readDir(dir)) {
    let { isFile, isDirectory } = dirEntry;
    if (dirEntry.isSymlink) {
      try {
        ({ isFile, isDirectory } = await Deno.stat(join(dir, dirEntry.name)));
      } catch {
        // A dangling *.eml link is reported when its turn comes; others are no message.
        isFile = true;
      }
    }
    if (isDirectory || (isFile && isEmlName(dirEntry.name))) {
      entries.push({
        name: dirEntry.name,
        isFolder: isDirectory,
        isSymlink: dirEntry.isSymlink,
        order: isDirectory ? dirEntry.name + "/" : dirEntry.name,
      });
    }
  }
  // Code-unit order, not the locale's: the same on every machine.
  return entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
}
