/**
 * Counting a run's outcomes as they happen (memory stays flat however many
 * messages), and the end-of-run summary.
 *
 * @module
 */
import { ErrorCodes } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import type { FinalStatus } from "./journal.ts";

/** The end-of-run figures. */
export interface BatchSummary {
  messages: { accepted: number; partial: number; failed: number; skipped: number };
  recipients: Record<FinalStatus, number>;
  /** Failure reasons ("550 5.1.1", "E_CERT_NOT_FOUND", ...) with counts, most frequent first. */
  reasons: { reason: string; count: number; example: string }[];
  /** Messages that could not be sealed, by error code. */
  unsealed: Record<string, number>;
  /** The last connection-level failure (refused, timed out, 421) that made recipients fail. */
  transportFailure?: { code: string; reason: string };
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
  readonly #unsealed: Record<string, number> = {};
  #transportFailure: { code: string; reason: string } | undefined;

  /** One message finished. */
  message(outcome: "accepted" | "partial" | "failed"): void {
    this.#messages[outcome]++;
  }

  /** One message skipped by --resume. */
  skipped(): void {
    this.#messages.skipped++;
  }

  /** A message that could not be sealed (bad message, missing certificate). */
  unsealed(code: string, reason: string): void {
    this.#unsealed[code] = (this.#unsealed[code] ?? 0) + 1;
    this.#reason(`not sealed: ${code}`, reason);
  }

  /** Recipients failed because the connection did (after the retries). */
  transport(code: string, reason: string): void {
    this.#transportFailure = { code, reason };
  }

  /** One recipient reached a final status. */
  recipient(status: FinalStatus, code: number | undefined, response: string): void {
    this.#recipients[status]++;
    if (status === "accepted") return;
    const enhanced = /\b[245]\.\d{1,3}\.\d{1,3}\b/.exec(response)?.[0];
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
      reasons: [...this.#reasons].map(([reason, e]) => ({ reason, ...e }))
        .sort((a, b) => b.count - a.count),
      unsealed: { ...this.#unsealed },
      transportFailure: this.#transportFailure,
      elapsedMs: performance.now() - this.#start,
    };
  }
}

/**
 * The exit status of a run: 0 every recipient of every message accepted;
 * 3 some accepted and some not; 75 nothing accepted but some only deferred
 * or possibly delivered (worth another run); 65 nothing accepted, all refused.
 */
export function batchExitCode(summary: BatchSummary): number {
  const { messages, recipients } = summary;
  const accepted = recipients.accepted;
  const troubled = messages.failed + messages.partial + recipients.uncertain;
  if (troubled === 0) return 0;
  if (accepted > 0) return 3;
  // Nothing got through because the server could not be reached: its status.
  if (summary.transportFailure && recipients.rejected === 0 && recipients.uncertain === 0) {
    return ErrorCodes[summary.transportFailure.code as ErrorCode] ?? 69;
  }
  // Nothing could even be sealed, all for one reason: that reason's status.
  const codes = Object.keys(summary.unsealed);
  if (codes.length === 1 && messages.failed === summary.unsealed[codes[0]!]) {
    return ErrorCodes[codes[0] as ErrorCode] ?? 65;
  }
  if (recipients.failed > 0 || recipients.uncertain > 0) return 75;
  return 65;
}
