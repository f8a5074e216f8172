/**
 * Signing and encryption spread over worker threads (default one per core),
 * or done on the main thread with zero workers. Each worker holds several
 * messages: with WebCrypto, their work overlaps on the runtime's threads;
 * with libcrypto, the next batch is there when one is done.
 *
 * The workers start only when a run turns out to need them. The first
 * messages are sealed on the main thread for `inlineFirstMs` (100 ms,
 * counted from the first one done, when the keys are loaded), and on until
 * a worker is ready: starting one costs about as much (70-150 ms of
 * blocking the main thread and about 100 ms of CPU, each), so a run of a
 * few dozen messages is done before a worker would be.
 *
 * Messages cross to a worker in batches: a busy worker gets more only when
 * half of what it holds is done, then as many as fill it, in one message
 * (an idle one gets a message at once). Each crossing wakes a thread and
 * dispatches an event, which cost about as much as base64 and MIME of a
 * whole message when every message crossed alone.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import type { SealOptions } from "../pipeline.ts";
import { sealAsked, SealedMessage } from "../smime/sealed.ts";
import type { Seal } from "../smime/sealed.ts";
import type { FromWorker, KeySettings, SealJob, SealReply, ToWorker } from "./seal_protocol.ts";
import { Sealer } from "./sealer.ts";

/** The outcome of sealing one message, back on the main thread. */
export type SealOutcome =
  | {
    ok: true;
    /** Each copy's bytes, envelope, seal and Message-ID, as delivery takes them. */
    copies: SealedMessage[];
    warnings: string[];
    /** The Message-ID the copies carry (sealing adds one when the input had none). */
    messageId: string;
  }
  | { ok: false; code: ErrorCode; reason: string; cause?: string };

/** What the pool needs to start. */
export interface SealPoolOptions {
  /** Worker threads at most; 0 seals everything on the main thread. */
  workers: number;
  /**
   * How long (ms, from the first message done) the main thread seals before
   * the workers start. Default 100; 0 starts them at once.
   */
  inlineFirstMs?: number;
  /** Messages in hand per worker (or on the main thread with no workers). Default 8. */
  perWorker?: number;
  keys: KeySettings;
  seal: SealOptions;
  /** Asked (by any worker) for a key file's passphrase; the caller caches it. */
  passphrase: (file: string) => Promise<string | undefined>;
}

interface Waiter {
  resolve: (reply: SealReply) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** The messages this worker holds. */
  pending: Map<number, Waiter>;
  /** Its modules are loaded and it has its settings. */
  ready: boolean;
  broken?: unknown;
}

/** A message waiting for room on a worker. */
interface Queued extends Waiter {
  id: number;
  job: SealJob;
}

/**
 * The buffers to move to a worker instead of copying: those that hold one
 * message's bytes and nothing else (a file read whole). Bytes that are a
 * view into a larger buffer (an mbox read in chunks) are copied, as moving
 * the buffer would take its other messages away too.
 */
function ownBuffers(views: Uint8Array[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const view of views) {
    const buffer = view.buffer;
    if (
      buffer instanceof ArrayBuffer && view.byteOffset === 0 &&
      view.byteLength === buffer.byteLength && !buffers.includes(buffer)
    ) buffers.push(buffer);
  }
  return buffers;
}

/** The main thread's sealer, then a fixed set of seal workers. */
export class SealPool {
  readonly #slots: Slot[] = [];
  readonly #options: SealPoolOptions;
  readonly #workers: number;
  readonly #perWorker: number;
  readonly #inline: Sealer | undefined;
  /** How long (ms) the main thread seals before the workers start; 0 once they have. */
  #inlineFirstMs: number;
  /** What every copy must be, as the options ask. */
  readonly #expected: Seal;
  readonly #waiting: (() => void)[] = [];
  /** Messages for the workers, not yet handed to one. */
  readonly #queue: Queued[] = [];
  #dispatchSoon = false;
  #inlineActive = 0;
  /** When the main thread's first message was done. */
  #inlineSince: number | undefined;
  #nextId = 0;

  constructor(options: SealPoolOptions) {
    this.#options = options;
    this.#workers = Math.max(0, options.workers);
    this.#perWorker = Math.max(1, options.perWorker ?? 8);
    this.#expected = sealAsked(options.seal);
    this.#inlineFirstMs = this.#workers === 0 ? Infinity : options.inlineFirstMs ?? 100;
    if (this.#inlineFirstMs > 0) {
      this.#inline = new Sealer(options.keys, options.seal, options.passphrase);
    } else this.#startWorkers();
  }

  #startWorkers(): void {
    const options = this.#options;
    for (let i = 0; i < this.#workers; i++) {
      const worker = new Worker(new URL("./seal_worker.ts", import.meta.url), { type: "module" });
      const slot: Slot = { worker, pending: new Map(), ready: false };
      worker.onmessage = (event: MessageEvent<FromWorker>) =>
        this.#onMessage(slot, event.data, options);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#break(slot, new Error(`seal worker crashed: ${event.message}`));
      };
      const init: ToWorker = {
        type: "init",
        keys: options.keys,
        seal: options.seal,
        perWorker: this.#perWorker,
      };
      worker.postMessage(init);
      this.#slots.push(slot);
    }
  }

  /** Worker threads started so far (none while the main thread seals). */
  get threads(): number {
    return this.#slots.length;
  }

  /** How many messages can be in sealing at once. */
  get size(): number {
    return Math.max(1, this.#workers) * this.#perWorker;
  }

  /**
   * Seals one message: on the main thread while its budget lasts, then on
   * the least busy worker. `job.bytes` may be moved to the worker (see
   * {@link ownBuffers}): the caller must not read them afterwards.
   *
   * @throws {TypeError} when a copy came back sealed otherwise than asked
   *   (a bug: delivery never gets it)
   */
  async seal(job: SealJob): Promise<SealOutcome> {
    const reply = this.#onMainThread()
      ? await this.#sealInline(job)
      : await this.#sealOnWorker(job);
    if (!reply.ok) return reply;
    const copies = reply.copies.map((record) => SealedMessage.revive(record));
    const wrong = copies.find((c) => c.seal !== this.#expected);
    if (wrong) {
      throw new TypeError(`${job.label}: a copy came back ${wrong.seal}, not ${this.#expected}`);
    }
    return { ok: true, copies, warnings: reply.warnings, messageId: reply.messageId };
  }

  /** True while the main thread seals: its time is not up, or no worker is ready yet. */
  #onMainThread(): boolean {
    if (this.#inlineFirstMs > 0 && !this.#isInlineTimeUp()) return true;
    if (this.#slots.length === 0) this.#startWorkers();
    return this.#inline !== undefined && !this.#slots.some((slot) => slot.ready || slot.broken);
  }

  /** The main thread's time is up (for good, once it is). */
  #isInlineTimeUp(): boolean {
    const since = this.#inlineSince;
    if (since === undefined || performance.now() - since <= this.#inlineFirstMs) return false;
    this.#inlineFirstMs = 0;
    return true;
  }

  #sealOnWorker(job: SealJob): Promise<SealReply> {
    const { promise, resolve, reject } = Promise.withResolvers<SealReply>();
    this.#queue.push({ id: this.#nextId++, job, resolve, reject });
    // Messages queued in the same turn of the event loop go together.
    if (!this.#dispatchSoon) {
      this.#dispatchSoon = true;
      queueMicrotask(() => {
        this.#dispatchSoon = false;
        this.#dispatch();
      });
    }
    return promise;
  }

  /** Hands queued messages to workers that are idle or half done, least busy first. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#roomiest();
      if (!slot) return;
      if (slot.broken) {
        for (const queued of this.#queue.splice(0)) queued.reject(slot.broken);
        return;
      }
      const batch = this.#queue.splice(0, this.#perWorker - slot.pending.size);
      for (const { id, resolve, reject } of batch) slot.pending.set(id, { resolve, reject });
      const message: ToWorker = { type: "seal", jobs: batch.map(({ id, job }) => ({ id, job })) };
      slot.worker.postMessage(message, ownBuffers(batch.map(({ job }) => job.bytes)));
    }
  }

  /** The worker holding the fewest messages, if it is idle or at most half full. */
  #roomiest(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (!best || slot.pending.size < best.pending.size) best = slot;
    }
    return best && best.pending.size <= this.#perWorker / 2 ? best : undefined;
  }

  async #sealInline(job: SealJob): Promise<SealReply> {
    while (this.#inlineActive >= this.#perWorker) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#inlineActive++;
    try {
      return await this.#inline!.seal(job);
    } finally {
      // The clock starts when the first message is done (the keys are loaded).
      this.#inlineSince ??= performance.now();
      this.#inlineActive--;
      this.#waiting.shift()?.();
    }
  }

  #onMessage(slot: Slot, message: FromWorker, options: SealPoolOptions): void {
    if (message.type === "sealed") {
      const done = message.replies.map(({ id, reply }) => {
        const waiter = slot.pending.get(id);
        slot.pending.delete(id);
        return { waiter, reply };
      });
      // The next batch goes out before the replies are taken up.
      this.#dispatch();
      for (const { waiter, reply } of done) waiter?.resolve(reply);
    } else if (message.type === "ready") {
      slot.ready = true;
      this.#dispatch();
    } else if (message.type === "fatal") this.#break(slot, new Error(message.reason));
    else {
      options.passphrase(message.file).then(
        (value) => slot.worker.postMessage({ type: "passphrase", request: message.request, value }),
        (err) => this.#break(slot, err),
      );
    }
  }

  /** A worker failed: its messages and any later ones on it fail with the error. */
  #break(slot: Slot, err: unknown): void {
    slot.broken = err;
    for (const { reject } of slot.pending.values()) reject(err);
    slot.pending.clear();
  }

  /** Stops the workers. */
  close(): void {
    for (const slot of this.#slots) slot.worker.terminate();
    this.#slots.length = 0;
  }
}
