/**
 * Delivering the sealed copies of one message through one transport, and
 * judging the outcome: every recipient accepted, some, none, or unknown.
 *
 * @module
 */
import { ExitCode } from "../errors.ts";
import type { OutboundMessage } from "../pipeline.ts";
import type { DeliveryResult, RecipientResult, Transport } from "./types.ts";

/** One copy's delivery, timed. */
export interface CopyOutcome {
  message: OutboundMessage;
  result: DeliveryResult;
  elapsedMs: number;
}

/** Hooks the caller prints through (the CLI owns stdout). */
export interface DeliverHooks {
  /** Before each copy goes out. */
  sending?(message: OutboundMessage): void;
  /** After each copy, with its outcome. */
  delivered?(outcome: CopyOutcome): void;
}

/**
 * Delivers each copy in turn over `transport` (opened by the caller).
 * A transport exception (dead connection, refused login) stops the run and
 * propagates; rejected recipients are results.
 */
export async function deliverCopies(
  transport: Transport,
  copies: readonly OutboundMessage[],
  hooks: DeliverHooks = {},
  signal?: AbortSignal,
): Promise<CopyOutcome[]> {
  const outcomes: CopyOutcome[] = [];
  for (const message of copies) {
    hooks.sending?.(message);
    const start = performance.now();
    const result = await transport.deliver(message, signal);
    const outcome = { message, result, elapsedMs: performance.now() - start };
    outcomes.push(outcome);
    hooks.delivered?.(outcome);
  }
  return outcomes;
}

/** Every recipient result of a set of outcomes. */
export function recipientResults(outcomes: readonly CopyOutcome[]): RecipientResult[] {
  return outcomes.flatMap((o) => o.result.recipients);
}

/**
 * The exit status of a delivery: 0 all accepted; 3 some accepted and some
 * not; 75 none accepted but some only deferred (or possibly delivered);
 * 65 all rejected.
 */
export function deliveryExitCode(outcomes: readonly CopyOutcome[]): number {
  const results = recipientResults(outcomes);
  const accepted = results.filter((r) => r.status === "accepted").length;
  const uncertain = outcomes.some((o) => o.result.uncertain);
  if (accepted === results.length && !uncertain) return ExitCode.ok;
  if (accepted > 0) return ExitCode.partial;
  if (uncertain || results.some((r) => r.status === "deferred")) return ExitCode.tempFail;
  return ExitCode.dataErr;
}
