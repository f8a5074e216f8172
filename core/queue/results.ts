/**
 * The results stream: one record per finished job, on a subject of the
 * job's own, published with the job's stream sequence (and a digest of its
 * id) as Nats-Msg-Id: a redelivered job's repeat result is dropped by the
 * server inside the duplicate window. A worker asks it whether a job already has its
 * outcome before sending; `status` reads the last record of every job.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import { DeliverPolicy } from "@nats-io/jetstream";
import type { BatchEvent, RecipientOutcome } from "../batch/run.ts";
import type { QueueConnection } from "./connection.ts";
import { digestOf, resultSubject } from "./names.ts";

/** How a job ended: every recipient accepted, some, none, or possibly delivered. */
export type ResultOutcome = "accepted" | "partial" | "failed" | "uncertain";

/** One job's outcome, as the results stream keeps it. Versioned. */
export interface ResultRecord {
  v: 1;
  /** The job id (the Message-ID, see job.ts): the run's key for the message. */
  key: string;
  label: string;
  message_id: string | null;
  outcome: ResultOutcome;
  /** Why the message could not be sealed or read, when it could not. */
  error: string | null;
  /** That error's code (E_CERT_NOT_FOUND...). */
  code: ErrorCode | null;
  recipients: RecipientOutcome[];
  /** The node (host) and process that sent it. */
  node: string;
  pid: number;
  /** The job's sequence in the jobs stream, and how often it had been handed out. */
  job_seq: number;
  deliveries: number;
  at: string;
  elapsed_ms: number;
}

/** A job that ended: its runner event and where it came from. */
export interface FinishedJob {
  event: Extract<BatchEvent, { type: "message" }>;
  seq: number;
  deliveries: number;
  node: string;
}

/**
 * The record of a finished job. A message whose only trouble is recipients
 * possibly delivered (no usable reply to the end of data) is "uncertain".
 */
export function resultOf(job: FinishedJob): ResultRecord {
  const { event } = job;
  const troubled = event.recipients.filter((r) => r.status !== "accepted");
  const outcome: ResultOutcome = event.outcome === "skipped"
    ? "accepted"
    : !event.code && troubled.length > 0 && troubled.every((r) => r.status === "uncertain")
    ? "uncertain"
    : event.outcome;
  return {
    v: 1,
    key: event.key,
    label: event.label,
    message_id: event.messageId ?? null,
    outcome,
    error: event.error ?? null,
    code: event.code ?? null,
    recipients: event.recipients,
    node: job.node,
    pid: Deno.pid,
    job_seq: job.seq,
    deliveries: job.deliveries,
    at: new Date().toISOString(),
    elapsed_ms: Math.round(event.elapsedMs),
  };
}

/**
 * Publishes a result and waits for the server to store it.
 *
 * @throws whatever the NATS client throws (the caller retries)
 */
export async function publishResult(queue: QueueConnection, record: ResultRecord): Promise<void> {
  await queue.js.publish(
    resultSubject(queue.names, record.key),
    new TextEncoder().encode(JSON.stringify(record)),
    {
      // The same job (a redelivery) gives the same id; a stream made anew reuses sequences, so
      // the id also holds the job's own.
      msgID: `job-${record.job_seq}-${digestOf(record.key).slice(0, 12)}`,
      expect: { streamName: queue.names.resultsStream },
      timeout: 10_000,
    },
  );
}

/**
 * The last result recorded for a job id, or undefined when it has none.
 *
 * @throws whatever the NATS client throws
 */
export async function lastResult(
  queue: QueueConnection,
  key: string,
): Promise<ResultRecord | undefined> {
  const stored = await queue.jsm.streams.getMessage(queue.names.resultsStream, {
    last_by_subj: resultSubject(queue.names, key),
  });
  return stored ? parseResult(stored.data) : undefined;
}

/**
 * The last result of every job, in the order they were last recorded.
 *
 * @throws whatever the NATS client throws
 */
export async function* lastResults(queue: QueueConnection): AsyncGenerator<ResultRecord> {
  const info = await queue.jsm.streams.info(queue.names.resultsStream);
  if (info.state.messages === 0) return;
  const consumer = await queue.js.consumers.get(queue.names.resultsStream, {
    filter_subjects: queue.names.resultsFilter,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 5000 });
    let got = 0;
    let last = false;
    for await (const m of batch) {
      got++;
      const record = parseResult(m.data);
      if (record) yield record;
      if (m.info.pending === 0) {
        last = true;
        break;
      }
    }
    if (last || got === 0) break;
  }
  await consumer.delete().catch(() => {});
}

function parseResult(data: Uint8Array): ResultRecord | undefined {
  try {
    const record = JSON.parse(new TextDecoder().decode(data));
    return record && record.v === 1 && typeof record.key === "string" ? record : undefined;
  } catch {
    return undefined;
  }
}
