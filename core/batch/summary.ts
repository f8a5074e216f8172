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
  messages: { accepted: number; partial: number; failed: number; skipped: number };
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

/** Collects outcomes; `result()` gives the summary. */
export class Summary {
  readonly #start = performance.now();
  readonly #messages = { accepted: 0, partial: 0, failed: 0, skipped: 0 };
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

  /** One message skipped by --resume. */
  skipped(): void {
    this.#messages.skipped++;
  }

  /** A message that could not be sealed (bad message, missing certificate). */
  unsealed(code: ErrorCode, reason: string): void {
    this.#unsealed[code] = (this.#unsealed[code] ?? 0) + 1;
    this.#reason(`not sealed: ${code}`, reason);
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
    const reason = status === "uncertain"
      ? "possibly delivered (connection lost after the data)"
      : [code, enhanced].filter(Boolean).join(" ") || response.slice(0, 60);
    this.#reason(`${status}: ${reason}`, response);
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
