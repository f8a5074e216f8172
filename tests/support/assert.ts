/**
 * The assertions every test uses, on node:assert (the Deno standard library
 * is on JSR, which is unreachable from here). The one assertion module: tests
 * beside the code in core/ import it too.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";
import { SmimeError } from "../../core/errors.ts";
import type { ErrorCode } from "../../core/errors.ts";

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Deep, strict equality (byte arrays included). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fails unless `text` contains `part`. */
export function assertIncludes(text: string, part: string, message?: string): void {
  nodeAssert.ok(
    text.includes(part),
    message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message);
}

/** Runs `fn`, fails if it returns, and returns what it threw. */
export function assertThrows(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an exception");
}

/**
 * Awaits `work` (a promise, or a function returning one), fails if it
 * resolves, and returns what it rejected with.
 */
export async function assertRejects(
  work: Promise<unknown> | (() => Promise<unknown>),
): Promise<unknown> {
  try {
    await (typeof work === "function" ? work() : work);
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/** Fails unless `fn` rejects with exactly `reason` (the signal's reason, rethrown as is). */
export async function assertRejectsWith(
  fn: () => Promise<unknown>,
  reason: unknown,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert(err === reason, `expected the rejection ${String(reason)}, got ${err}`);
    return;
  }
  throw new Error("expected a rejection, nothing was thrown");
}

/** Fails unless `fn` throws or rejects with a SmimeError of `code`; returns it. */
export async function assertSmimeError(
  fn: () => unknown,
  code: ErrorCode,
): Promise<SmimeError> {
  try {
    await fn();
  } catch (err) {
    return expectCode(err, code);
  }
  throw new Error(`expected SmimeError ${code}, nothing was thrown`);
}

/** Runs `fn`, expecting it to throw a SmimeError of `code` at once; returns it. */
export function assertThrowsSmimeError(fn: () => unknown, code: ErrorCode): SmimeError {
  try {
    fn();
  } catch (err) {
    return expectCode(err, code);
  }
  throw new Error(`expected SmimeError ${code}, nothing was thrown`);
}

function expectCode(err: unknown, code: ErrorCode): SmimeError {
  if (err instanceof SmimeError && err.code === code) return err;
  throw new Error(
    `expected SmimeError ${code}, got ${err instanceof SmimeError ? err.code : err}`,
    { cause: err },
  );
}
