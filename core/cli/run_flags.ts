/**
 * The flags of a run (`send`, `worker`), checked before a journal, report or
 * connection is opened: a bad value is a usage error, even one a run of one
 * message does not use.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import type { DeliveryTarget } from "../deliver/types.ts";
import { readEnv } from "./delivery.ts";
import { warn } from "./output.ts";

/** The options of a run (see withRunOptions in options.ts). */
export type RunFlags = {
  mbox?: string[];
  manifest?: string[];
  sessions?: string;
  window?: string;
  workers?: string;
  rate?: string;
  retries?: string;
  retryMaxAge: string;
  atMostOnce?: true;
  journal?: string;
  resume?: true;
  newJournal?: true;
  report?: string;
};

/** A positive whole number from a flag, or the default. */
export function count(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new SmimeError("E_USAGE", `${flag}: expected a whole number >= ${min}, got "${value}"`);
  }
  return n;
}

/**
 * Checks every flag of a run up front.
 *
 * @throws {SmimeError} E_USAGE for a malformed number or flags that conflict
 */
export function checkRunFlags(options: RunFlags): void {
  if (options.resume && !options.journal) {
    throw new SmimeError("E_USAGE", "--resume needs --journal FILE");
  }
  if (options.newJournal && (!options.journal || options.resume)) {
    throw new SmimeError(
      "E_USAGE",
      "--new-journal needs --journal FILE, and conflicts with --resume",
    );
  }
  count("--sessions", options.sessions, 1);
  count("--workers", options.workers, 0, 0);
  count("--window", options.window, 1);
  if (options.rate !== undefined) count("--rate", options.rate, 0);
  count("--retries", options.retries, 0, 0);
  count("--retry-max-age", options.retryMaxAge, 0, 0);
}

/** --sessions, or the target's default, within the platform's limit. */
export function sessionsFor(target: DeliveryTarget, value: string | undefined): number {
  const sessions = count("--sessions", value, target.sessions ?? 4);
  if (target.maxSessions && sessions > target.maxSessions) {
    if (value !== undefined) {
      warn(`--sessions ${sessions}: ${target.id} allows at most ${target.maxSessions}; using that`);
    }
    return target.maxSessions;
  }
  return sessions;
}

/**
 * The first retry back-off: 1 s. Hidden, for tests of retries only:
 * $SMIMEPOST_RETRY_BASE_MS (1-60000) sets it in milliseconds.
 */
export function retryBaseMs(): number {
  const value = readEnv("SMIMEPOST_RETRY_BASE_MS");
  if (value === undefined || value === "") return 1000;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) {
    throw new SmimeError("E_CONFIG", `SMIMEPOST_RETRY_BASE_MS: expected 1-60000, got "${value}"`);
  }
  return ms;
}
