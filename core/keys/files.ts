/**
 * The key folder on disk: case-insensitive lookup of `<address>.<ext>`,
 * reading files, and the ssh-style permission check on key files. The only
 * file in core/keys that touches the file system.
 *
 * @module
 */

import { join } from "node:path";
import { SmimeError } from "../errors.ts";

/** Extensions of certificate files, in lookup order. */
export const CERT_EXTS = ["crt", "cer"] as const;
/** Extensions of private key files, in lookup order. */
export const KEY_EXTS = ["pem", "key"] as const;
/** Extensions of PKCS#12 files, in lookup order. */
export const P12_EXTS = ["p12", "pfx"] as const;

/** One listing of the key folder, names indexed case-insensitively. */
export class KeyFolder {
  readonly dir: string;
  #listing?: Promise<Listing>;

  /** @param dir the key folder, as the user gave it (used in messages) */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** The path of `name` in the folder, as messages show it. */
  pathOf(name: string): string {
    return join(this.dir, name);
  }

  /** Every file name in the folder (listed once per KeyFolder). */
  async names(): Promise<Map<string, string>> {
    return (await this.#list()).files;
  }

  #list(): Promise<Listing> {
    this.#listing ??= listFolder(this.dir);
    return this.#listing;
  }

  /**
   * Finds `<base>.<ext>` for the first extension that exists, matching the
   * name case-insensitively.
   *
   * @returns the path, or undefined
   * @throws {SmimeError} E_INPUT when `<base>.<ext>` is a folder (not "not found")
   */
  async find(base: string, exts: readonly string[]): Promise<string | undefined> {
    const { files, folders } = await this.#list();
    for (const ext of exts) {
      const key = `${base}.${ext}`.toLowerCase();
      const name = files.get(key);
      if (name !== undefined) return this.pathOf(name);
      const folder = folders.get(key);
      if (folder !== undefined) {
        throw new SmimeError("E_INPUT", `Cannot read ${this.pathOf(folder)}: it is a folder`);
      }
    }
    return undefined;
  }
}

/** A folder's entries, by lower-cased name: files (and symlinks), and sub-folders. */
interface Listing {
  files: Map<string, string>;
  folders: Map<string, string>;
}

async function listFolder(dir: string): Promise<Listing> {
  const files = new Map<string, string>();
  const folders = new Map<string, string>();
  try {
    for await (const entry of Deno.readDir(dir)) {
      (entry.isDirectory ? folders : files).set(entry.name.toLowerCase(), entry.name);
    }
  } catch (err) {
    throw new SmimeError("E_INPUT", `Cannot read key folder ${dir}: ${describe(err)}`, {
      cause: err,
    });
  }
  return { files, folders };
}

function describe(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "it does not exist";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (err instanceof Deno.errors.NotADirectory) return "it is not a folder";
  return err instanceof Error ? err.message.split("\n")[0] ?? "" : String(err);
}

/**
 * Reads a whole file.
 *
 * @throws {SmimeError} E_INPUT naming the file when it can't be read
 */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new SmimeError("E_INPUT", `Cannot read ${path}: ${describe(err)}`, { cause: err });
  }
}

/**
 * Refuses a private key file that group or others may read, as ssh does.
 * No-op where the platform reports no mode (Windows).
 *
 * @throws {SmimeError} E_KEY_PERMISSIONS, or E_INPUT when it can't be stat'ed
 */
export async function checkKeyPermissions(path: string): Promise<void> {
  const problem = await keyPermissionProblem(path);
  if (problem) throw new SmimeError("E_KEY_PERMISSIONS", problem);
}

/** The permission complaint for a key file, or undefined when it is private. */
export async function keyPermissionProblem(path: string): Promise<string | undefined> {
  let mode: number | null;
  try {
    mode = (await Deno.stat(path)).mode;
  } catch (err) {
    throw new SmimeError("E_INPUT", `Cannot read ${path}: ${describe(err)}`, { cause: err });
  }
  if (mode === null || (mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return `permissions ${octal} for ${path} are too open; chmod 600 it, or pass ` +
    "--allow-insecure-key-permissions";
}

/** True when `path` exists (following symlinks). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
