/**
 * The assertions the tests use, on node:assert (the Deno standard library is
 * on JSR, which is unreachable from here).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";
import { SmimeError } from "../core/errors.ts";
import type { ErrorCode } from "../core/errors.ts";

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Deep, strict equality. */
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

/** Fails unless `fn` throws or rejects with a SmimeError of `code`; returns it. */
export async function assertSmimeError(
  fn: () => unknown,
  code: ErrorCode,
): Promise<SmimeError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SmimeError && err.code === code) return err;
    throw new Error(
      `expected SmimeError ${code}, got ${err instanceof SmimeError ? err.code : err}`,
      {
        cause: err,
      },
    );
  }
  throw new Error(`expected SmimeError ${code}, nothing was thrown`);
}
