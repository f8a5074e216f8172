/**
 * One inbound message, from bytes to an outcome: its single From address,
 * the DKIM check, then the injected import step under that address's lock.
 * One log line per message.
 *
 * @module
 */

import { isSmimeError, reasonOf } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { escapeControls, snippet } from "../message/line_ends.ts";
import { checkDkim, fromAddressOf } from "./dkim.ts";
import { KeyedLock } from "./keyed_lock.ts";
import type { InboundMessage } from "./payload.ts";
import type { HarvestMeta, HarvestOptions, MessageResult } from "./types.ts";

/** Errors from the import step that may go away by themselves: retry. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "E_OUTPUT",
  "E_TEMPFAIL",
  "E_UNAVAILABLE",
  "E_INPUT",
]);

/** Checks and imports messages; one instance per server, so one lock table. */
export class Processor {
  readonly #options: Pick<HarvestOptions, "dkim" | "handle" | "log">;
  readonly #locks = new KeyedLock();

  /** @param options the server's DKIM policy, import step and log */
  constructor(options: Pick<HarvestOptions, "dkim" | "handle" | "log">) {
    this.#options = options;
  }

  /**
   * Checks one message and, when it may be believed, imports it. Never
   * throws: every failure becomes a result ("refused", or "failed" for what
   * may pass later) and a log line.
   *
   * @param message the bytes and what the platform said about them
   * @param source names the message in the log and in the import's errors
   * @param index its 1-based position in the request
   */
  async process(message: InboundMessage, source: string, index: number): Promise<MessageResult> {
    const result = await this.#decide(message, source);
    this.#options.log(`harvest: ${source}: ${result.status} ${clean(result.detail)}`);
    return { message: index, ...result };
  }

  async #decide(
    message: InboundMessage,
    source: string,
  ): Promise<Omit<MessageResult, "message">> {
    let from: string;
    try {
      from = fromAddressOf(message.bytes, source);
    } catch (err) {
      return { status: "refused", detail: reasonOf(err) };
    }
    const meta: HarvestMeta = { source, from };
    if (message.msgFrom !== undefined) meta.msgFrom = message.msgFrom;
    if (message.rcptTo !== undefined) meta.rcptTo = message.rcptTo;
    if (this.#options.dkim.required) {
      let verdict;
      try {
        verdict = await checkDkim(message.bytes, from, this.#options.dkim);
      } catch (err) {
        // mailauth rejects on input it can't parse at all.
        return { status: "refused", detail: `${from}: DKIM check failed (${reasonOf(err)})` };
      }
      if (!verdict.ok) {
        return {
          status: verdict.isTemporary ? "failed" : "refused",
          detail: `${from}: ${verdict.reason}`,
        };
      }
      meta.dkimDomain = verdict.domain;
    }
    return await this.#locks.run(from, async () => {
      try {
        return await this.#options.handle(message.bytes, meta);
      } catch (err) {
        if (isSmimeError(err) && !TRANSIENT.has(err.code)) {
          return { status: "refused", detail: reasonOf(err) };
        }
        const kind = isSmimeError(err)
          ? err.code
          : `internal error (${(err as Error)?.name ?? typeof err})`;
        return { status: "failed", detail: `${from}: ${kind}: ${reasonOf(err)}` };
      }
    });
  }
}

/** One line whatever the detail holds: controls escaped, length bounded. */
function clean(detail: string): string {
  return escapeControls(snippet(detail, 300));
}
