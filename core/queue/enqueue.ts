/**
 * Enqueueing: every input becomes one job on the run's WorkQueue stream,
 * published with its id as Nats-Msg-Id so that the server drops a repeat
 * inside its duplicate window (the publish ack says so: counted apart). A
 * message too large for one NATS message goes to the run's object store and
 * the job carries a reference to it.
 *
 * @module
 */
import { headers } from "@nats-io/transport-node";
import type { PubAck } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { ObjectStore } from "@nats-io/obj";
import { SmimeError } from "../errors.ts";
import { InputError } from "../batch/sources/mod.ts";
import type { BatchInput } from "../batch/sources/mod.ts";
import { encodeRecord, JOB_HEADER, prepareJob } from "./job.ts";
import type { JobRecord } from "./job.ts";
import { digestOf } from "./names.ts";
import type { QueueConnection } from "./connection.ts";

/** What an enqueue did. */
export interface EnqueueCounts {
  /** New jobs on the stream. */
  queued: number;
  /** Inputs the server already had (same id inside the duplicate window). */
  duplicates: number;
  /** Inputs that could not be read. */
  failed: number;
  /** Of the queued, those whose bytes went to the object store. */
  objects: number;
  /** Messages given a Message-ID here. */
  addedMessageIds: number;
}

/** How to enqueue. */
export interface EnqueueOptions {
  /** An input that could not be read; the others go on. */
  onFailed?(err: InputError): void;
  /** Each input's fate, for --json. */
  onJob?(
    job: { id: string; label: string; seq: number; duplicate: boolean; object: boolean },
  ): void;
  /** Publishes awaiting their ack at once (default 64). */
  inFlight?: number;
  /** Stops reading inputs; what was published is kept. */
  signal?: AbortSignal;
  /** Bytes kept free for the job's headers below the server's max_payload (default 4096). */
  headroom?: number;
  /** Filled as jobs are published, so a caller still has them when publishing fails. */
  counts?: EnqueueCounts;
}

/** Counts at zero. */
export function noCounts(): EnqueueCounts {
  return { queued: 0, duplicates: 0, failed: 0, objects: 0, addedMessageIds: 0 };
}

/**
 * Publishes every input as a job.
 *
 * @throws {SmimeError} E_UNAVAILABLE (naming the server) when publishing
 *   still fails after the client's reconnects and a few retries; E_USAGE as
 *   readInputs for bad arguments
 */
export async function enqueue(
  queue: QueueConnection,
  inputs: AsyncIterator<BatchInput>,
  options: EnqueueOptions = {},
): Promise<EnqueueCounts> {
  const counts = options.counts ?? noCounts();
  const window = Math.max(1, options.inFlight ?? 64);
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  let store: Promise<ObjectStore> | undefined;
  const objects = () => store ??= new Objm(queue.js).create(queue.names.bucket);
  const maxPayload = queue.nc.info?.max_payload ?? 1024 * 1024;
  const headroom = options.headroom ?? 4096;
  for (;;) {
    if (options.signal?.aborted || failure) {
      await inputs.return?.();
      break;
    }
    let next: IteratorResult<BatchInput>;
    try {
      next = await inputs.next();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      counts.failed++;
      options.onFailed?.(err);
      continue;
    }
    if (next.done) break;
    const job = prepareJob(next.value);
    if (job.addedMessageId) counts.addedMessageIds++;
    const large = job.bytes.length + encodeRecord(job.record).length + headroom > maxPayload;
    const task = publishJob(queue, job.record, job.bytes, large ? objects : undefined)
      .then((result) => {
        if (result.duplicate) counts.duplicates++;
        else {
          counts.queued++;
          if (large) counts.objects++;
        }
        options.onJob?.({
          id: job.record.id,
          label: job.record.label,
          seq: result.seq,
          duplicate: result.duplicate,
          object: large,
        });
      })
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => pending.delete(task));
    pending.add(task);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure) throw failure instanceof SmimeError ? failure : queue.fail(failure, "publish to");
  return counts;
}

/** Publishes one job (its bytes first into the object store when `objects` is given). */
async function publishJob(
  queue: QueueConnection,
  record: JobRecord,
  bytes: Uint8Array,
  objects: (() => Promise<ObjectStore>) | undefined,
): Promise<PubAck> {
  let stored: { store: ObjectStore; name: string } | undefined;
  let data = bytes;
  if (objects) {
    const store = await retrying(queue, () => objects());
    // A name of its own per attempt: a duplicate's object is ours to delete, never another's.
    const name = `${digestOf(record.id)}.${crypto.randomUUID().slice(0, 8)}`;
    await retrying(queue, () => store.put({ name }, streamOf(bytes)));
    stored = { store, name };
    record = { ...record, object: { bucket: queue.names.bucket, name, size: bytes.length } };
    data = new Uint8Array();
  }
  const h = headers();
  h.set(JOB_HEADER, encodeRecord(record));
  const ack = await retrying(queue, () =>
    queue.js.publish(queue.names.jobsSubject, data, {
      msgID: record.id,
      headers: h,
      expect: { streamName: queue.names.stream },
      timeout: 10_000,
    }));
  if (ack.duplicate && stored) await stored.store.delete(stored.name).catch(() => {});
  return ack;
}

/**
 * Runs `fn` again while the server is away (the client reconnects in the
 * meantime), up to about half a minute. A repeat publish is harmless: the
 * job id deduplicates it.
 */
async function retrying<T>(queue: QueueConnection, fn: () => Promise<T>): Promise<T> {
  let wait = 250;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 8 || queue.nc.isClosed() || !isTransient(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 8000);
    }
  }
}

/** Errors a reconnect may cure: timeouts, no responders, a lost connection. */
export function isTransient(err: unknown): boolean {
  const name = (err as Error | undefined)?.name ?? "";
  const text = String((err as Error | undefined)?.message ?? err).toLowerCase();
  return ["TimeoutError", "NoRespondersError", "RequestError", "ConnectionError"].includes(name) ||
    /timeout|no responders|disconnect|connection|503/.test(text);
}

/** The bytes as a stream, for the object store. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
