/**
 * Counting a run's outcomes as they happen (memory stays flat however many
 * messages), and the end-of-run summary.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import type { FinalStatus } from "../policy.ts";
import type { RecipientOutcome } from "./run.ts";

/** The end-of-run figures. */
export interface BatchSummary {
  messages: {
    accepted: number;
    partial: number;
    failed: number;
    /** Done in an earlier run (--resume). */
    skipped: number;
    /** Of those, the ones an earlier run left with a recipient not accepted. */
    skipped_unaccepted: number;
  };
  recipients: Record<FinalStatus, number>;
  /**
   * Recipients sent again after a reply was lost once the message had gone
   * out whole: they may have been delivered more than once (at-least-once).
   */
  resent: number;
  /** Failure reasons ("550 5.1.1", "E_CERT_NOT_FOUND", ...) with counts, most frequent first. */
  reasons: { reason: string; count: number; example: string }[];
  /** Messages that could not be sealed, by error code. */
  unsealed: Partial<Record<ErrorCode, number>>;
  /** The last connection-level failure (refused, timed out, 421) that made recipients fail. */
  transportFailure?: { code: ErrorCode; reason: string };
  elapsedMs: number;
}

/** How the summary's reasons name a final status. */
const STATUS_WORDS: Record<Exclude<FinalStatus, "accepted">, string> = {
  rejected: "rejected",
  failed: "deferred then failed",
  uncertain: "possibly delivered (no usable reply to the end of data)",
};

/** How the summary's reasons name why a message was not sealed. */
const UNSEALED: Partial<Record<ErrorCode, string>> = {
  E_INPUT: "unreadable input",
  E_MESSAGE: "not a valid message",
  E_CERT_NOT_FOUND: "no certificate",
  E_CERT_INVALID: "certificate not usable",
  E_CHAIN: "no trusted path to a certificate",
  E_KEY_NOT_FOUND: "no private key",
  E_KEY_INVALID: "private key not usable",
  E_KEY_MISMATCH: "private key and certificate do not match",
  E_KEY_PERMISSIONS: "key file readable by others",
  E_PASSPHRASE: "no passphrase for the key",
  E_UNSUPPORTED: "unsupported",
  E_USAGE: "refused by the options",
};

/** Collects outcomes; `result()` gives the summary. */
export class Summary {
  readonly #start = performance.now();
  readonly #messages = { accepted: 0, partial: 0, failed: 0, skipped: 0, skipped_unaccepted: 0 };
  readonly #recipients: Record<FinalStatus, number> = {
    accepted: 0,
    rejected: 0,
    failed: 0,
    uncertain: 0,
  };
  readonly #reasons = new Map<string, { count: number; example: string }>();
  readonly #unsealed: Partial<Record<ErrorCode, number>> = {};
  #resent = 0;
  #transportFailure: { code: ErrorCode; reason: string } | undefined;

  /** One message finished. */
  message(outcome: "accepted" | "partial" | "failed"): void {
    this.#messages[outcome]++;
  }

  /** One message skipped by --resume; `unaccepted` when an earlier run left a recipient refused. */
  skipped(unaccepted: boolean): void {
    this.#messages.skipped++;
    if (unaccepted) this.#messages.skipped_unaccepted++;
  }

  /** A message that could not be sealed (bad message, missing certificate). */
  unsealed(code: ErrorCode, reason: string): void {
    this.#unsealed[code] = (this.#unsealed[code] ?? 0) + 1;
    this.#reason(`not sealed, ${UNSEALED[code] ?? code}`, reason);
  }

  /** Recipients failed because the connection did (after the retries). */
  transport(code: ErrorCode, reason: string): void {
    this.#transportFailure = { code, reason };
  }

  /** One recipient reached a final status. */
  recipient(outcome: RecipientOutcome): void {
    const { status, code, enhanced, response } = outcome;
    this.#recipients[status]++;
    if (outcome.resent) this.#resent++;
    if (status === "accepted") return;
    if (outcome.stopped) {
      this.#reason("not sent, the run stopped", response);
      return;
    }
    // Grouped by reply code; without one (a connection that failed) by status alone.
    const reply = [code, enhanced].filter(Boolean).join(" ");
    this.#reason(reply ? `${STATUS_WORDS[status]} ${reply}` : STATUS_WORDS[status], response);
  }

  #reason(reason: string, example: string): void {
    const entry = this.#reasons.get(reason) ?? { count: 0, example };
    entry.count++;
    this.#reasons.set(reason, entry);
  }

  result(): BatchSummary {
    return {
      messages: { ...this.#messages },
      recipients: { ...this.#recipients },
      resent: this.#resent,
      reasons: [...this.#reasons].map(([reason, e]) => ({ reason, ...e }))
        .sort((a, b) => b.count - a.count),
      unsealed: { ...this.#unsealed },
      transportFailure: this.#transportFailure,
      elapsedMs: performance.now() - this.#start,
    };
  }
}

/** The summary as JSON (snake_case, as everywhere smimepost writes JSON). */
export function summaryJson(summary: BatchSummary): Record<string, unknown> {
  const { elapsedMs, transportFailure, ...counts } = summary;
  return {
    ...counts,
    transport_failure: transportFailure ?? null,
    elapsed_ms: Math.round(elapsedMs * 1000) / 1000,
  };
}
