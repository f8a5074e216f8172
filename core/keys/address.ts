/**
 * E-mail address handling for key lookup: one normal form, used both for
 * file names in the key folder and for comparing with certificate addresses.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";

// An address becomes part of a file name, so anything that could escape the
// key folder (slashes, backslashes, NUL, "..") is refused outright.
// deno-lint-ignore no-control-regex -- control characters are what it refuses
const ADDRESS = /^[^\s@/\\<>"\x00-\x1f]+@[^\s@/\\<>"\x00-\x1f]+$/;

/**
 * Normalises an e-mail address for lookup and comparison: trims it, takes
 * the part inside `<...>` when given a display form, and lower-cases it.
 *
 * Mailbox local parts are case-insensitive in practice and key files are
 * matched case-insensitively, so the whole address is lower-cased.
 *
 * @param address e.g. `"Alice <Alice@Example.COM>"`
 * @returns e.g. `"alice@example.com"`
 * @throws {SmimeError} E_INPUT when it is not a plain address or could
 *   name a path outside the key folder
 */
export function normaliseAddress(address: string): string {
  let text = address.trim();
  const angle = /<([^<>]*)>\s*$/.exec(text);
  if (angle?.[1] !== undefined) text = angle[1].trim();
  const lower = text.toLowerCase();
  if (!ADDRESS.test(lower) || lower.startsWith(".") || lower.includes("..")) {
    throw new SmimeError(
      "E_CERT_NOT_FOUND",
      `Cannot look up keys: "${address}" is not an address a key file can be named after`,
    );
  }
  return lower;
}

/**
 * True when the file base name (without extension) looks like an address,
 * which is how the key folder names certificate and key files.
 */
export function isAddressLike(name: string): boolean {
  return ADDRESS.test(name) && !name.startsWith(".");
}
