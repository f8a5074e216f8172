/**
 * Helpers shared by the core/keys tests: a fresh test PKI per test file, an
 * openssl runner, and an assertion on SmimeError codes.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type ErrorCode, isSmimeError, type SmimeError } from "../errors.ts";
import { makeTestPki, type TestPki } from "../../scripts/make_pki.ts";

/** Makes the test PKI in a temp folder, removed when the test file ends. */
export async function freshPki(now?: Date): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-keys-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return await makeTestPki(join(dir, "keys"), { now });
}

/** Asserts that `promise` rejects with a SmimeError of `code`; returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<SmimeError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isSmimeError(err), `expected SmimeError ${code}, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

/** Asserts that `fn` throws a SmimeError of `code`; returns it. */
export function throwsWith(fn: () => unknown, code: ErrorCode): SmimeError {
  try {
    fn();
  } catch (err) {
    assert.ok(isSmimeError(err), `expected SmimeError ${code}, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it returned`);
}

/** Runs openssl; returns exit status and output. */
export async function openssl(
  args: string[],
  stdin?: Uint8Array,
): Promise<{ ok: boolean; out: string }> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const { success, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return { ok: success, out: text };
}

/** Reads a test file as text. */
export const readText = (path: string): Promise<string> => Deno.readTextFile(path);
