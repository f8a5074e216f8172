/**
 * Signing and encryption spread over worker threads (default one per core),
 * or done on the main thread with zero workers. Much of the work (RSA, ECDH,
 * AES in WebCrypto) runs on the runtime's own threads while a worker waits,
 * so each worker keeps several messages in flight.
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
  workers: number;
  /** Messages in flight per worker (or on the main thread with no workers). Default 4. */
  perWorker?: number;
  keys: KeySettings;
  seal: SealOptions;
  /** Asked (by any worker) for a key file's passphrase; the caller caches it. */
  passphrase: (file: string) => Promise<string | undefined>;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (reply: SealReply) => void; reject: (err: unknown) => void }>;
  broken?: unknown;
}

/** A fixed set of seal workers. */
export class SealPool {
  readonly #slots: Slot[] = [];
  readonly #perWorker: number;
  readonly #inline: Sealer | undefined;
  /** What every copy must be, as the options ask. */
  readonly #expected: Seal;
  readonly #waiting: (() => void)[] = [];
  #inlineActive = 0;
  #nextId = 0;

  constructor(options: SealPoolOptions) {
    this.#perWorker = Math.max(1, options.perWorker ?? 4);
    this.#expected = sealAsked(options.seal);
    if (options.workers <= 0) {
      this.#inline = new Sealer(options.keys, options.seal, options.passphrase);
      return;
    }
    for (let i = 0; i < options.workers; i++) {
      const worker = new Worker(new URL("./seal_worker.ts", import.meta.url), { type: "module" });
      const slot: Slot = { worker, pending: new Map() };
      worker.onmessage = (event: MessageEvent<FromWorker>) =>
        this.#onMessage(slot, event.data, options);
      worker.onerror = (event) => {
        event.preventDefault();
        this.#break(slot, new Error(`seal worker crashed: ${event.message}`));
      };
      const init: ToWorker = { type: "init", keys: options.keys, seal: options.seal };
      worker.postMessage(init);
      this.#slots.push(slot);
    }
  }

  /** How many messages can be in sealing at once. */
  get size(): number {
    return Math.max(1, this.#slots.length) * this.#perWorker;
  }

  /**
   * Seals one message on the least busy worker.
   *
   * @throws {TypeError} when a copy came back sealed otherwise than asked
   *   (a bug: delivery never gets it)
   */
  async seal(job: SealJob): Promise<SealOutcome> {
    const reply = this.#inline ? await this.#sealInline(job) : await this.#sealOnWorker(job);
    if (!reply.ok) return reply;
    const copies = reply.copies.map((record) => SealedMessage.revive(record));
    const wrong = copies.find((c) => c.seal !== this.#expected);
    if (wrong) {
      throw new TypeError(`${job.label}: a copy came back ${wrong.seal}, not ${this.#expected}`);
    }
    return { ok: true, copies, warnings: reply.warnings, messageId: reply.messageId };
  }

  async #sealOnWorker(job: SealJob): Promise<SealReply> {
    let slot = this.#freeSlot();
    while (!slot) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      slot = this.#freeSlot();
    }
    if (slot.broken) throw slot.broken;
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<SealReply>();
    slot.pending.set(id, { resolve, reject });
    const message: ToWorker = { type: "seal", id, job };
    slot.worker.postMessage(message);
    try {
      return await promise;
    } finally {
      slot.pending.delete(id);
      this.#waiting.shift()?.();
    }
  }

  async #sealInline(job: SealJob): Promise<SealReply> {
    while (this.#inlineActive >= this.#perWorker) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#inlineActive++;
    try {
      return await this.#inline!.seal(job);
    } finally {
      this.#inlineActive--;
      this.#waiting.shift()?.();
    }
  }

  #freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.pending.size >= this.#perWorker) continue;
      if (!best || slot.pending.size < best.pending.size) best = slot;
    }
    return best;
  }

  #onMessage(slot: Slot, message: FromWorker, options: SealPoolOptions): void {
    if (message.type === "sealed") slot.pending.get(message.id)?.resolve(message.reply);
    else if (message.type === "fatal") this.#break(slot, new Error(message.reason));
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
  }

  /** Stops the workers. */
  close(): void {
    for (const slot of this.#slots) slot.worker.terminate();
    this.#slots.length = 0;
  }
}
