/**
 * The worker's side of the queue: jobs pulled from the durable consumer and
 * handed to the run as its inputs, each held (its ack deadline extended with
 * `working()`) until its outcome is in the results stream, then
 * acknowledged. A job whose outcome is already recorded (a redelivery after
 * a crash, or the same message enqueued again after the duplicate window)
 * is acknowledged without sending. When the run stops, what it had not
 * finished is handed back (`nak`) for another worker.
 *
 * @module
 */
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { ObjectStore } from "@nats-io/obj";
import { reasonOf, SmimeError } from "../errors.ts";
import type { BatchEvent } from "../batch/run.ts";
import { InputError } from "../batch/sources/mod.ts";
import type { BatchInput } from "../batch/sources/mod.ts";
import type { QueueConnection } from "./connection.ts";
import { decodeRecord, inputOf, JOB_HEADER } from "./job.ts";
import type { JobRecord } from "./job.ts";
import { lastResult, publishResult, resultOf } from "./results.ts";

/** How a worker pulls. */
export interface JobSourceOptions {
  /** Jobs held at once, at most: handed to the run and unfinished, plus fetched and not yet handed. */
  limit: number;
  /** The consumer's ack wait: `working()` goes out three times within it. */
  ackWaitMs: number;
  /** This node's name, in every result. */
  node: string;
  /** End when nothing is queued and no job is held by any worker. */
  untilEmpty?: boolean;
  /** One line about the queue itself (lost connection, a job handed back); no secrets. */
  log?(line: string): void;
}

/** What the source did besides handing jobs to the run. */
export interface JobSourceCounts {
  /** Jobs handed to the run. */
  taken: number;
  /** Jobs whose outcome was recorded and acknowledged. */
  recorded: number;
  /** Jobs found done already (their result was in the stream): acknowledged unsent. */
  alreadyDone: number;
  /** Jobs handed back for another worker. */
  handedBack: number;
}

interface Held {
  msg: JsMsg;
  record?: JobRecord;
  /** Given to the run (else waiting in the buffer). */
  handed: boolean;
  /** The run is waiting to retry it until then. */
  retryAt?: number;
  /** Its outcome is being recorded. */
  finishing?: boolean;
  /** Its record read, its result looked up, its object fetched: started as it arrives. */
  ready?: Promise<Prepared>;
}

/** What reading a fetched job found. */
type Prepared =
  | { kind: "input"; record: JobRecord; bytes: Uint8Array }
  /** Its outcome is recorded already. */
  | { kind: "done"; record: JobRecord }
  /** The record or the object can't be read: the job fails (its failure is recorded). */
  | { kind: "unreadable"; record?: JobRecord; error: string }
  /** The server could not say: back to the queue for now. */
  | { kind: "later"; record: JobRecord; error: string };

/**
 * The jobs of a run as the runner's input sequence. Like readInputs, a job
 * that cannot be read makes `next()` reject with an InputError, and the
 * sequence goes on.
 */
export class JobSource implements AsyncIterableIterator<BatchInput> {
  readonly counts: JobSourceCounts = { taken: 0, recorded: 0, alreadyDone: 0, handedBack: 0 };
  readonly #queue: QueueConnection;
  readonly #consumer: Consumer;
  readonly #o: JobSourceOptions;
  readonly #held = new Map<string, Held>();
  readonly #buffer: Held[] = [];
  readonly #tasks = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  #puller: Promise<void> | undefined;
  #pulling = false;
  #draining = false;
  /** The run stopped reading: what is fetched and not handed goes back. */
  #handingBack = false;
  #exhausted = false;
  #stopping = false;
  #wakeReader: (() => void) | undefined;
  #wakePuller: (() => void) | undefined;
  #store: Promise<ObjectStore | undefined> | undefined;
  #troubled = false;
  /** How long a redelivered job waits for its first worker's outcome before it is sent. */
  readonly #regrace: number;

  constructor(queue: QueueConnection, consumer: Consumer, options: JobSourceOptions) {
    this.#queue = queue;
    this.#consumer = consumer;
    this.#o = options;
    this.#regrace = Math.min(2000, Math.floor(options.ackWaitMs / 4));
    const every = Math.max(1000, Math.floor(options.ackWaitMs / 3));
    this.#heartbeat = setInterval(() => {
      for (const held of this.#held.values()) quietly(() => held.msg.working());
      this.#maybeStopDrained();
    }, every);
  }

  /** Aborts when a drained run has only jobs waiting for a retry left: give those back. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next job as the run's input.
   *
   * @throws {InputError} for a job that cannot be read (the sequence goes on)
   */
  async next(): Promise<IteratorResult<BatchInput, undefined>> {
    this.#puller ??= this.#pull();
    for (;;) {
      const held = this.#buffer.shift();
      if (held) {
        this.#wakePuller?.();
        const input = await this.#open(held);
        if (input) return { done: false, value: input };
        continue;
      }
      if (this.#exhausted || (this.#draining && !this.#pulling)) {
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
  }

  /** The run stopped reading (it was aborted): jobs not yet handed go back. */
  return(): Promise<IteratorResult<BatchInput, undefined>> {
    this.#handingBack = true;
    this.drain();
    for (const held of this.#buffer.splice(0)) this.#handBack(held);
    return Promise.resolve({ done: true, value: undefined });
  }

  /**
   * Stops pulling: the pull under way runs to its end (a job the server
   * sends for it is never dropped), and what was fetched is still handed to
   * the run, so that nothing is left unacknowledged.
   */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#wakeReader?.();
    this.#wakePuller?.();
    this.#maybeStopDrained();
  }

  /** From now on the run gives up what it holds: outcomes that are not "accepted" go back. */
  stopping(): void {
    this.#stopping = true;
  }

  /** Takes the run's events: per-job state, and each finished job's outcome. */
  onEvent(event: BatchEvent): void {
    if (event.type === "deferred") {
      const held = this.#held.get(event.key);
      if (held) held.retryAt = Date.now() + event.retryInMs;
    } else if (event.type === "message") {
      const held = this.#held.get(event.key);
      if (!held) return;
      held.finishing = true;
      const task: Promise<void> = this.#finish(held, event)
        .catch((err) => this.#o.log?.(`cannot record ${event.key}: ${reasonOf(err)}`))
        .finally(() => this.#tasks.delete(task));
      this.#tasks.add(task);
    }
  }

  /** Waits until every finished job is recorded and acknowledged (or handed back). */
  async settle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }

  /** Hands back whatever is still held, and stops the timers. Idempotent. */
  async close(): Promise<void> {
    await this.return();
    await this.#puller?.catch(() => {});
    clearInterval(this.#heartbeat);
    for (const held of [...this.#held.values()]) {
      if (!held.finishing) this.#handBack(held);
    }
  }

  /** Fetches while there is room, until drained or the run is done. */
  async #pull(): Promise<void> {
    this.#pulling = true;
    try {
      await this.#pullLoop();
    } finally {
      this.#pulling = false;
      this.#wakeReader?.();
    }
  }

  async #pullLoop(): Promise<void> {
    let wait = 250;
    while (!this.#draining && !this.#exhausted) {
      const room = this.#o.limit - this.#held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => this.#wakePuller = resolve);
        continue;
      }
      let got = 0;
      try {
        const expires = this.#o.untilEmpty ? 1000 : 2000;
        const fetched = await this.#consumer.fetch({ max_messages: room, expires });
        for await (const msg of fetched) {
          got++;
          if (this.#handingBack) {
            quietly(() => msg.nak());
            continue;
          }
          const held: Held = { msg, handed: false, ready: this.#prepare(msg) };
          this.#buffer.push(held);
          // Held under its stream sequence until its record is read.
          this.#held.set(`#${msg.seq}`, held);
          this.#wakeReader?.();
        }
        if (this.#troubled) this.#o.log?.("the NATS server answers again");
        this.#troubled = false;
        wait = 250;
        if (got === 0 && this.#o.untilEmpty && this.#held.size === 0 && await this.#isEmpty()) {
          this.#exhausted = true;
          this.#wakeReader?.();
        }
      } catch (err) {
        if (this.#draining) break;
        if (!this.#troubled) this.#o.log?.(`cannot fetch jobs, trying again: ${reasonOf(err)}`);
        this.#troubled = true;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 4000);
      }
    }
  }

  /** Nothing queued and nothing held anywhere. */
  async #isEmpty(): Promise<boolean> {
    const info = await this.#consumer.info(false);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }

  /**
   * Reads a job as it arrives (so the lookups of a batch overlap): its
   * record, whether its outcome is recorded already, its object. Never throws.
   */
  async #prepare(msg: JsMsg): Promise<Prepared> {
    let record: JobRecord;
    try {
      record = decodeRecord(msg.headers?.get(JOB_HEADER), `job ${msg.seq}`);
    } catch (err) {
      return { kind: "unreadable", error: reasonOf(err) };
    }
    try {
      if (await lastResult(this.#queue, record.id)) return { kind: "done", record };
      if (msg.info.deliveryCount > 1) {
        // Handed out again: its first worker died, or is alive and the server forgot it (a
        // restart). Give a live one a moment to record the outcome before sending it twice.
        await new Promise((resolve) => setTimeout(resolve, this.#regrace));
        if (await lastResult(this.#queue, record.id)) return { kind: "done", record };
      }
      if (!record.object) return { kind: "input", record, bytes: msg.data };
      const bytes = await this.#readObject(record);
      if (bytes) return { kind: "input", record, bytes };
      return {
        kind: "unreadable",
        record,
        error: `Cannot read ${record.label}: its object ${record.object.name} is gone from ` +
          `bucket ${record.object.bucket}`,
      };
    } catch (err) {
      return { kind: "later", record, error: reasonOf(err) };
    }
  }

  /**
   * Hands a fetched job to the run, or settles it here: done already (ack),
   * the server could not say (back to the queue), the same message held
   * already (back, for later). Undefined when the run gets nothing.
   *
   * @throws {InputError} for a job that can't be read: the run records its failure
   */
  async #open(held: Held): Promise<BatchInput | undefined> {
    const { msg } = held;
    const prepared = await (held.ready ??= this.#prepare(msg));
    const letGo = () => {
      this.#held.delete(`#${msg.seq}`);
      this.#wakePuller?.();
      return undefined;
    };
    if (prepared.kind === "unreadable" && !prepared.record) {
      // Not ours to read: recorded as failed under its sequence, so it is not lost silently.
      const key = `job-${msg.seq}`;
      this.#hold(key, held);
      throw new InputError(key, `job ${msg.seq}`, prepared.error);
    }
    const record = prepared.record!;
    held.record = record;
    if (this.#held.has(record.id)) {
      // The same message twice at once (enqueued again after the window): after this one.
      quietly(() => msg.nak(5000));
      return letGo();
    }
    switch (prepared.kind) {
      case "done":
        this.counts.alreadyDone++;
        await this.#deleteObject(record);
        await msg.ackAck().catch(() => false);
        return letGo();
      case "later":
        this.#o.log?.(`cannot read job ${record.id}, handing it back: ${prepared.error}`);
        quietly(() => msg.nak(1000));
        this.counts.handedBack++;
        return letGo();
      case "unreadable":
        this.#hold(record.id, held);
        throw new InputError(record.id, record.label, prepared.error);
      case "input":
        this.#hold(record.id, held);
        this.counts.taken++;
        return inputOf(record, prepared.bytes);
    }
  }

  /** Holds a job under the run's key for it. */
  #hold(key: string, held: Held): void {
    held.handed = true;
    this.#held.delete(`#${held.msg.seq}`);
    this.#held.set(key, held);
  }

  /** Records the outcome, deletes the object, acknowledges; or hands the job back. */
  async #finish(held: Held, event: Extract<BatchEvent, { type: "message" }>): Promise<void> {
    const key = event.key;
    try {
      if (this.#stopping && event.outcome !== "accepted") {
        this.#handBack(held);
        return;
      }
      const record = resultOf({
        event,
        seq: held.msg.seq,
        deliveries: held.msg.info.deliveryCount,
        node: this.#o.node,
      });
      const published = await this.#persist(() => publishResult(this.#queue, record));
      if (!published) return; // stopped hard: the job comes back after its ack wait
      if (held.record) await this.#deleteObject(held.record);
      await held.msg.ackAck().catch(() => false);
      this.counts.recorded++;
    } finally {
      this.#held.delete(key);
      this.#wakePuller?.();
      this.#maybeStopDrained();
    }
  }

  /**
   * Retries `fn` while the server is away, until it works; once the run is
   * stopping, only a few times (a stopped worker must not hang on a server
   * that is gone: the job then comes back after its ack wait).
   */
  async #persist(fn: () => Promise<void>): Promise<boolean> {
    let wait = 250;
    for (let attempt = 1;; attempt++) {
      try {
        await fn();
        return true;
      } catch (err) {
        if (this.#queue.nc.isClosed() || (this.#stopping && attempt >= 4)) return false;
        if (!this.#troubled) {
          this.#o.log?.(`cannot record a result, trying again: ${reasonOf(err)}`);
        }
        this.#troubled = true;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 4000);
      }
    }
  }

  #handBack(held: Held): void {
    const delay = held.retryAt ? Math.max(0, held.retryAt - Date.now()) : 0;
    quietly(() => held.msg.nak(delay));
    this.counts.handedBack++;
    this.#held.delete(held.record?.id ?? `#${held.msg.seq}`);
    this.#held.delete(`#${held.msg.seq}`);
  }

  /**
   * Drained, and every job still held only waits for a retry (nothing is on
   * the wire): stop the run, so those go back rather than keep the worker.
   */
  #maybeStopDrained(): void {
    if (!this.#draining || this.#abort.signal.aborted || this.#held.size === 0) return;
    const soon = Date.now() + 500;
    for (const held of this.#held.values()) {
      if (held.finishing || held.retryAt === undefined || held.retryAt < soon) return;
    }
    this.#abort.abort(new SmimeError("E_TEMPFAIL", "stopped while retries were waiting"));
  }

  #objects(): Promise<ObjectStore | undefined> {
    this.#store ??= new Objm(this.#queue.js).open(this.#queue.names.bucket).catch(() => {
      this.#store = undefined;
      return undefined;
    });
    return this.#store;
  }

  async #readObject(record: JobRecord): Promise<Uint8Array | undefined> {
    const store = await this.#objects();
    const result = await store?.get(record.object!.name);
    if (!result) return undefined;
    const bytes = new Uint8Array(await new Response(result.data).arrayBuffer());
    const error = await result.error;
    if (error) throw error;
    return bytes;
  }

  async #deleteObject(record: JobRecord): Promise<void> {
    if (!record.object) return;
    const store = await this.#objects();
    await store?.delete(record.object.name).catch(() => {});
  }
}

/**
 * Runs a fire-and-forget protocol message (working, nak): on a closed
 * connection it throws, and then the job comes back after its ack wait anyway.
 */
function quietly(send: () => void): void {
  try {
    send();
  } catch { /* closed: nothing more to tell the server */ }
}
