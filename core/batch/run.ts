/**
 * The batch runner: inputs -> seal workers -> a bounded queue -> N delivery
 * sessions, with retries of deferred recipients (exponential back-off with
 * jitter), a journal written per outcome, and --resume. Backpressure runs
 * end to end: a slow MTA fills the queue, which stops the sealing, which
 * stops the reading.
 *
 * @module
 */
import { isSmimeError, reasonOf } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import type {
  DeliveryFields,
  DeliveryResult,
  DeliveryTarget,
  EnhancedStatus,
  PluginContext,
  RecipientResult,
  SealedMessage,
  Transport,
} from "../deliver/types.ts";
import { givenUp, judgeError, judgeRecipient, settled } from "../policy.ts";
import type { Decision, FinalStatus, Guarantee } from "../policy.ts";
import { Channel } from "./channel.ts";
import type { Journal, JournalEntry, ResumeState } from "./journal.ts";
import { RateLimiter } from "./rate.ts";
import type { SealPool } from "./seal_pool.ts";
import { InputError } from "./sources/types.ts";
import type { BatchInput } from "./sources/types.ts";
import { Summary } from "./summary.ts";
import type { BatchSummary } from "./summary.ts";

/** Retry limits for deferred recipients. */
export interface RetryPolicy {
  /** Delivery attempts per recipient, the first included. */
  attempts: number;
  /** Give up on a recipient this long after its first attempt. */
  maxAgeMs: number;
  /** First back-off; doubled each attempt, with full jitter. */
  baseMs: number;
  capMs: number;
}

/** Everything a run needs. */
export interface BatchOptions {
  inputs: AsyncIterable<BatchInput>;
  pool: SealPool;
  plugin: DeliveryTarget;
  pluginOptions: unknown;
  context: PluginContext;
  sessions: number;
  /** Messages in flight on one session (pipelined on SMTP). */
  window: number;
  rate?: number;
  retry: RetryPolicy;
  /**
   * What becomes of a message whose final reply never came: sent again
   * (at-least-once, the default) or reported as possibly delivered.
   */
  guarantee?: Guarantee;
  journal?: Journal;
  resume?: ResumeState;
  onEvent?: (event: BatchEvent) => void;
  signal?: AbortSignal;
  /** Messages read but not finished, at most (memory bound); default from the concurrency. */
  maxOpen?: number;
  /**
   * Masks secrets in what servers say (replies, error lines) before any of
   * it reaches an event, the summary, the journal or the report.
   */
  redact?: (text: string) => string;
}

/** One recipient's final outcome. */
export interface RecipientOutcome {
  recipient: string;
  status: FinalStatus;
  code?: number;
  /** The server's enhanced status code (RFC 3463), when it gave one. */
  enhanced?: EnhancedStatus;
  response: string;
  attempts: number;
  /**
   * An earlier attempt lost its reply after the message went out whole and
   * this one sent it again: it may have been delivered more than once.
   */
  resent?: boolean;
  /** The run stopped (AUTH refused, an interrupt) before this copy was sent, or sent again. */
  stopped?: boolean;
}

/** What the runner reports as it goes. */
export type BatchEvent =
  | {
    type: "message";
    key: string;
    label: string;
    /** accepted: every recipient; partial: some; failed: none (or not sealed); skipped: resumed. */
    outcome: "accepted" | "partial" | "failed" | "skipped";
    recipients: RecipientOutcome[];
    error?: string;
    /** The error code when the message could not be read or sealed. */
    code?: ErrorCode;
    /** The underlying cause of that error, as text (what --verbose adds). */
    cause?: string;
    /** The Message-ID sent (sealing adds one when the input had none); absent when not sealed. */
    messageId?: string;
    /** From the first delivery attempt to the last answer. */
    elapsedMs: number;
  }
  | { type: "sending"; key: string; label: string; sender: string; recipients: readonly string[] }
  | {
    type: "deferred";
    key: string;
    label: string;
    recipients: string[];
    response: string;
    retryInMs: number;
    /** The reply to this attempt was lost after the message went out: it may arrive twice. */
    maybeSent: boolean;
  }
  | { type: "warning"; text: string };

interface MessageState {
  input: Pick<BatchInput, "key" | "label">;
  messageId?: string;
  /** performance.now() of the first delivery attempt. */
  started?: number;
  open: number;
  outcomes: RecipientOutcome[];
}

interface Job {
  state: MessageState;
  /** A sealed copy, for the recipients this attempt is for. */
  message: SealedMessage;
  /** The manifest's per-message fields, for the transport. */
  fields?: DeliveryFields;
  attempt: number;
  firstTry: number;
  /** An earlier attempt may have been delivered (its reply was lost). */
  resent?: boolean;
}

/** Runs a batch to the end; resolves with its summary. Fatal errors reject. */
export async function runBatch(options: BatchOptions): Promise<BatchResult> {
  return await new BatchRun(options).run();
}

/** How a run ended: its summary, and the error that stopped it early, if one did. */
export interface BatchResult {
  summary: BatchSummary;
  /**
   * A failure no retry can fix (AUTH refused, a certificate that does not
   * verify, a bad configuration, a bug): the run stopped at once; what it
   * did until then is in the summary and the journal.
   */
  fatal?: unknown;
}

class BatchRun {
  readonly #o: BatchOptions;
  readonly #queue: Channel<Job>;
  readonly #rate: RateLimiter | undefined;
  readonly #summary = new Summary();
  readonly #guarantee: Guarantee;
  readonly #abort = new AbortController();
  #fatal: unknown;
  /** Messages read but not finished (sealing, queued, delivering, waiting to retry). */
  #open = 0;
  /**
   * At most this many messages open at once. Deferred messages wait for
   * their retry outside the queue's bound, so without this an MTA that
   * defers everything would pull the whole run into memory.
   */
  readonly #maxOpen: number;
  #roomForMore: (() => void) | undefined;
  #producing = true;
  #journalChain: Promise<void> = Promise.resolve();

  constructor(options: BatchOptions) {
    this.#o = options;
    this.#guarantee = options.guarantee ?? "at-least-once";
    this.#queue = new Channel(Math.max(options.sessions * options.window * 2, 8));
    this.#maxOpen = options.maxOpen ??
      Math.max(256, 4 * (options.sessions * options.window * 3 + options.pool.size));
    // A producer waiting for room must see a stop.
    this.#abort.signal.addEventListener("abort", () => this.#maybeFinish(), { once: true });
    this.#rate = options.rate ? new RateLimiter(options.rate) : undefined;
    options.signal?.addEventListener("abort", () => this.#abort.abort(options.signal!.reason), {
      once: true,
    });
  }

  async run(): Promise<BatchResult> {
    await this.#journal({ type: "run", event: "start", resume: Boolean(this.#o.resume) });
    const sessions = Array.from({ length: this.#o.sessions }, () => this.#session());
    try {
      await this.#produce();
    } catch (err) {
      this.#stop(err);
    }
    this.#producing = false;
    this.#maybeFinish();
    await Promise.all(sessions);
    await this.#journalChain;
    if (this.#fatal) return { summary: this.#summary.result(), fatal: this.#fatal };
    await this.#journal({ type: "run", event: "end", resume: Boolean(this.#o.resume) });
    await this.#journalChain;
    return { summary: this.#summary.result() };
  }

  /**
   * Reads, seals (as many at once as the pool allows) and queues. An input
   * that can't be read is that message's failure; the run goes on.
   */
  async #produce(): Promise<void> {
    const sealing = new Set<Promise<void>>();
    const inputs = this.#o.inputs[Symbol.asyncIterator]();
    for (;;) {
      if (this.#abort.signal.aborted) {
        await inputs.return?.();
        break;
      }
      let next: IteratorResult<BatchInput>;
      try {
        next = await inputs.next();
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        this.#open++;
        this.#summary.unsealed(err.code, err.message);
        await this.#finishMessage(
          { input: { key: err.key, label: err.label }, open: 0, outcomes: [] },
          { code: err.code, reason: err.message },
        );
        continue;
      }
      if (next.done) break;
      const input = next.value;
      if (this.#o.resume?.doneKeys.has(input.key)) {
        this.#summary.skipped(this.#leftUnaccepted(input.key));
        this.#emit({
          type: "message",
          key: input.key,
          label: input.label,
          outcome: "skipped",
          recipients: [],
          elapsedMs: 0,
        });
        continue;
      }
      while (this.#open >= this.#maxOpen && !this.#abort.signal.aborted) {
        await new Promise<void>((resolve) => this.#roomForMore = resolve);
      }
      this.#open++;
      const task: Promise<void> = this.#sealAndQueue(input)
        .catch((err) => this.#sealFailed(err))
        .finally(() => sealing.delete(task));
      sealing.add(task);
      if (sealing.size >= this.#o.pool.size) await Promise.race(sealing);
    }
    await Promise.all(sealing);
  }

  async #sealAndQueue(input: BatchInput): Promise<void> {
    // The state keeps what names the message, not its bytes: they are done with once sealed.
    const state: MessageState = {
      input: { key: input.key, label: input.label },
      open: 0,
      outcomes: [],
    };
    const reply = await this.#o.pool.seal({
      key: input.key,
      label: input.label,
      bytes: input.bytes,
      sender: input.sender,
      recipients: input.recipients,
    });
    if (!reply.ok) {
      this.#summary.unsealed(reply.code, reply.reason);
      await this.#finishMessage(state, {
        code: reply.code,
        reason: reply.reason,
        cause: reply.cause,
      });
      return;
    }
    state.messageId = reply.messageId;
    reply.warnings.forEach((text) => this.#emit({ type: "warning", text }));
    const done = this.#o.resume?.finalRecipients.get(input.key);
    const jobs: Job[] = [];
    for (const copy of reply.copies) {
      const recipients = copy.recipients.filter((r) => !done?.has(r.toLowerCase()));
      if (recipients.length === 0) continue;
      const message = recipients.length === copy.recipients.length
        ? copy
        : copy.forRecipients(recipients);
      jobs.push({ state, message, fields: input.fields, attempt: 1, firstTry: 0 });
    }
    if (jobs.length === 0) {
      await this.#finishMessage(state);
      return;
    }
    state.open = jobs.length;
    for (const job of jobs) await this.#queue.send(job);
  }

  /**
   * The pool itself failed (a seal worker crashed): the run ends with that
   * error, and the message counts as finished so the run can wind down. It
   * gets no journal line, so --resume sends it.
   */
  #sealFailed(err: unknown): void {
    this.#stop(err);
    this.#open--;
    this.#maybeFinish();
  }

  /** One delivery session: its own transport, `window` messages in flight. */
  async #session(): Promise<void> {
    const created = this.#o.plugin.create(this.#o.pluginOptions, this.#o.context);
    const transport = this.#o.redact ? redacting(created, this.#o.redact) : created;
    let opened: Promise<void> | undefined;
    const lane = async () => {
      for (;;) {
        const next = await this.#queue.receive();
        if (next.done) return;
        const job = next.value;
        if (this.#abort.signal.aborted) {
          await this.#giveUp(job, this.#stopReason(), "failed", true);
          continue;
        }
        try {
          opened ??= transport.open(this.#abort.signal);
          await opened;
          await this.#rate?.take(this.#abort.signal);
          job.firstTry ||= Date.now();
          job.state.started ??= performance.now();
          if (job.attempt === 1) {
            const { sender, recipients } = job.message;
            const { key, label } = job.state.input;
            this.#emit({ type: "sending", key, label, sender, recipients });
          }
          const result = await transport.deliver(job.message, this.#abort.signal, job.fields);
          await this.#record(job, result);
        } catch (err) {
          opened = undefined;
          await this.#failed(job, err);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: this.#o.window }, lane));
    } finally {
      await transport.close().catch(() => {});
    }
  }

  /** Journals each recipient as the policy judges it; queues the ones to try again. */
  async #record(job: Job, result: DeliveryResult): Promise<void> {
    const retry: string[] = [];
    let again: Extract<Decision, { action: "retry" }> | undefined;
    let response = "";
    for (const r of result.recipients) {
      const decision = judgeRecipient(r.status, Boolean(result.uncertain), this.#guarantee);
      if (decision.action === "retry" && this.#canRetry(job)) {
        retry.push(r.recipient);
        again = decision;
        response = r.response;
        await this.#journalRecipient(job, r.recipient, "deferred", r, undefined, decision);
      } else {
        const status = decision.action === "retry" ? givenUp(decision) : decision.status;
        // The queue id is where an accepted copy went; the others' copies went nowhere.
        this.#final(job, r.recipient, status, r, status === "accepted" ? result.id : undefined);
      }
    }
    await this.#journalChain;
    if (again) this.#retry(job, retry, again, response);
    else await this.#copyDone(job);
  }

  /** A transport that threw: the whole copy is judged by the policy as one. */
  async #failed(job: Job, err: unknown): Promise<void> {
    // Once the run is stopping, other sessions' errors are only its echo.
    if (this.#abort.signal.aborted && err !== this.#fatal) {
      await this.#giveUp(job, this.#stopReason(), "failed", true);
      return;
    }
    const reason = reasonOf(err);
    const decision = judgeError(err);
    if (decision.action === "stop") {
      this.#stop(err);
      await this.#giveUp(job, reason, "failed", true);
      return;
    }
    if (decision.action === "retry") {
      if (this.#canRetry(job)) {
        const answer = { response: reason };
        for (const r of job.message.recipients) {
          await this.#journalRecipient(job, r, "deferred", answer, undefined, decision);
        }
        this.#retry(job, [...job.message.recipients], decision, reason);
        return;
      }
      // judgeError retries only SmimeErrors; the guard keeps the type honest.
      this.#summary.transport(isSmimeError(err) ? err.code : "E_UNAVAILABLE", reason);
      await this.#giveUp(job, reason, givenUp(decision));
      return;
    }
    for (const r of job.message.recipients) {
      this.#final(job, r, decision.status, { response: reason });
    }
    await this.#journalChain;
    await this.#copyDone(job);
  }

  #canRetry(job: Job): boolean {
    const age = Date.now() - (job.firstTry || Date.now());
    return !this.#abort.signal.aborted && job.attempt < this.#o.retry.attempts &&
      age < this.#o.retry.maxAgeMs;
  }

  #retry(
    job: Job,
    recipients: string[],
    decision: Extract<Decision, { action: "retry" }>,
    response: string,
  ): void {
    const { baseMs, capMs } = this.#o.retry;
    const ceiling = Math.min(capMs, baseMs * 2 ** (job.attempt - 1));
    const delay = Math.max(decision.afterMs, Math.round(Math.random() * ceiling));
    const again: Job = {
      ...job,
      attempt: job.attempt + 1,
      message: job.message.forRecipients(recipients),
      resent: job.resent || decision.maybeSent,
    };
    this.#emit({
      type: "deferred",
      key: job.state.input.key,
      label: job.state.input.label,
      recipients,
      response,
      retryInMs: delay,
      maybeSent: decision.maybeSent,
    });
    const timer = setTimeout(() => {
      this.#abort.signal.removeEventListener("abort", cancel);
      this.#queue.push(again);
    }, delay);
    const cancel = () => {
      clearTimeout(timer);
      this.#queue.push(again);
    };
    this.#abort.signal.addEventListener("abort", cancel, { once: true });
  }

  /**
   * Every recipient of the copy is final as "failed" (or as `status`);
   * `stopped` when that is because the run stopped before it was sent.
   */
  async #giveUp(
    job: Job,
    reason: string,
    status: FinalStatus = "failed",
    stopped = false,
  ): Promise<void> {
    for (const r of job.message.recipients) {
      this.#final(job, r, status, { response: reason }, undefined, stopped);
    }
    await this.#journalChain;
    await this.#copyDone(job);
  }

  #final(
    job: Job,
    recipient: string,
    status: FinalStatus,
    answer: Answer,
    id?: string,
    stopped = false,
  ): void {
    const { code, enhanced, response } = answer;
    const outcome: RecipientOutcome = {
      recipient,
      status,
      code,
      enhanced,
      response,
      attempts: job.attempt,
    };
    if (job.resent) outcome.resent = true;
    if (stopped) outcome.stopped = true;
    job.state.outcomes.push(outcome);
    this.#summary.recipient(outcome);
    void this.#journalRecipient(job, recipient, status, answer, id);
  }

  #journalRecipient(
    job: Job,
    recipient: string,
    status: FinalStatus | "deferred",
    answer: Answer,
    id?: string,
    decision?: Decision,
  ): Promise<void> {
    return this.#journal({
      type: "recipient",
      key: job.state.input.key,
      recipient,
      status,
      attempt: job.attempt,
      code: answer.code,
      enhanced: answer.enhanced,
      response: answer.response,
      id,
      message_id: job.state.messageId,
      // The reply to this attempt was lost: the next one may deliver it twice.
      maybe_sent: decision?.action === "retry" && decision.maybeSent ? true : undefined,
      resent: job.resent && status !== "deferred" ? true : undefined,
    });
  }

  async #copyDone(job: Job): Promise<void> {
    if (--job.state.open > 0) return;
    await this.#finishMessage(job.state);
  }

  async #finishMessage(
    state: MessageState,
    error?: { code: ErrorCode; reason: string; cause?: string },
  ): Promise<void> {
    const statuses = state.outcomes.map((o) => o.status);
    const accepted = statuses.filter((s) => s === "accepted").length;
    // No outcomes and no error: every recipient was final in an earlier run (it
    // died before this message's line), so nothing was left to send.
    const outcome = error
      ? "failed"
      : statuses.length === 0
      ? "skipped"
      : accepted === 0
      ? "failed"
      : accepted === statuses.length
      ? "accepted"
      : "partial";
    if (outcome === "skipped") this.#summary.skipped(this.#leftUnaccepted(state.input.key));
    else this.#summary.message(outcome);
    // done: nothing left for a resumed run.
    const done = !error && statuses.every((s) => settled(s, this.#guarantee));
    await this.#journal({
      type: "message",
      key: state.input.key,
      label: state.input.label,
      done,
      error: error && { code: error.code, reason: error.reason },
    });
    this.#emit({
      type: "message",
      key: state.input.key,
      label: state.input.label,
      outcome,
      recipients: state.outcomes,
      error: error?.reason,
      code: error?.code,
      cause: error?.cause,
      messageId: state.messageId,
      elapsedMs: state.started === undefined ? 0 : performance.now() - state.started,
    });
    this.#open--;
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    const wake = this.#roomForMore;
    this.#roomForMore = undefined;
    wake?.();
    if (!this.#producing && this.#open === 0) this.#queue.close();
  }

  /** An earlier run (--resume) left a recipient of this message refused, failed or uncertain. */
  #leftUnaccepted(key: string): boolean {
    const earlier = this.#o.resume?.finalRecipients.get(key);
    return [...earlier?.values() ?? []].some((status) => status !== "accepted");
  }

  /** Why the rest of the run is given up: the fatal error, or an interrupt. */
  #stopReason(): string {
    return this.#fatal ? reasonOf(this.#fatal) : "the run was stopped before this was sent";
  }

  #stop(err: unknown): void {
    this.#fatal ??= err;
    this.#abort.abort(err);
  }

  #emit(event: BatchEvent): void {
    this.#o.onEvent?.(event);
  }

  /** Appends to the journal in order; a journal failure ends the run. */
  #journal(entry: Unstamped<JournalEntry>): Promise<void> {
    const journal = this.#o.journal;
    if (!journal) return Promise.resolve();
    const line: JournalEntry = { ...entry, at: new Date().toISOString() };
    this.#journalChain = this.#journalChain.then(() =>
      journal.append(line).catch((err) => this.#stop(err))
    );
    return this.#journalChain;
  }
}

/** A journal entry before the runner stamps its time. */
type Unstamped<E> = E extends unknown ? Omit<E, "at"> : never;

/** What a server said for one recipient (a transport failure: only its reason). */
type Answer = Pick<RecipientResult, "code" | "enhanced" | "response">;

/**
 * The transport with every server text it hands back masked: per-recipient
 * replies, and the message of an error it throws (the error keeps its class
 * and fields).
 */
function redacting(transport: Transport, hide: (text: string) => string): Transport {
  const clean = (err: unknown) => {
    if (err instanceof Error) err.message = hide(err.message);
    return err;
  };
  return {
    open: (signal) => transport.open(signal).catch((err) => Promise.reject(clean(err))),
    deliver: async (message, signal, fields) => {
      try {
        const result = await transport.deliver(message, signal, fields);
        return {
          ...result,
          recipients: result.recipients.map((r) => ({ ...r, response: hide(r.response) })),
        };
      } catch (err) {
        throw clean(err);
      }
    },
    close: () => transport.close(),
  };
}
