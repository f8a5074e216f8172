/**
 * The few assertions the CMS tests use (JSR's @std/assert is not reachable
 * from these machines), on top of node:assert. Test support only.
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  ok(value, message);
}

/** Fails unless `actual` and `expected` are deeply equal (bytes included). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Awaits `fn`, fails if it resolves, and returns what it threw. */
export async function assertRejects(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
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
