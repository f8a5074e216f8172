/**
 * A run's state across all its nodes: jobs waiting in the stream, jobs
 * held by workers, and the outcome of every finished job (its last result),
 * counted, by node, and as a summary in the shape `send --report` writes.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import type { FinalStatus } from "../batch/journal.ts";
import { Summary } from "../batch/summary.ts";
import type { BatchSummary } from "../batch/summary.ts";
import { isNotFound, streamInfo } from "./connection.ts";
import type { QueueConnection } from "./connection.ts";
import { lastResults } from "./results.ts";
import type { ResultOutcome, ResultRecord } from "./results.ts";

/** What `status` shows. */
export interface RunStatus {
  stream: string;
  server: string;
  /** Jobs not yet handed to any worker. */
  queued: number;
  /** Jobs handed out and not yet acknowledged. */
  inFlight: number;
  /** Messages by the outcome of their last result. */
  messages: Record<ResultOutcome, number>;
  recipients: Record<FinalStatus, number>;
  /** Messages by the node that recorded their last result. */
  nodes: Record<string, number>;
  /** The same figures as a run's summary (for --report). */
  summary: BatchSummary;
}

/**
 * Reads the run's counters and every job's last result (`onResult` sees
 * each, for a report).
 *
 * @throws {SmimeError} E_INPUT when the server has no such run; what the
 *   connection's `fail` makes of a NATS error
 */
export async function runStatus(
  queue: QueueConnection,
  onResult?: (record: ResultRecord) => void,
): Promise<RunStatus> {
  const { jsm, names, settings } = queue;
  try {
    const jobs = await streamInfo(jsm, names.stream);
    if (!jobs) {
      throw new SmimeError(
        "E_INPUT",
        `Cannot show run ${names.stream}: ${settings.display} has no such stream ` +
          `(nothing was enqueued there; see --stream)`,
      );
    }
    const consumer = await jsm.consumers.info(names.stream, names.consumer).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const status: RunStatus = {
      stream: names.stream,
      server: settings.display,
      queued: consumer ? consumer.num_pending : jobs.state.messages,
      inFlight: consumer ? consumer.num_ack_pending : 0,
      messages: { accepted: 0, partial: 0, failed: 0, uncertain: 0 },
      recipients: { accepted: 0, rejected: 0, failed: 0, uncertain: 0 },
      nodes: {},
      summary: new Summary().result(),
    };
    const summary = new Summary();
    let first = Infinity;
    let last = -Infinity;
    if (await streamInfo(jsm, names.resultsStream)) {
      for await (const record of lastResults(queue)) {
        status.messages[record.outcome]++;
        status.nodes[record.node] = (status.nodes[record.node] ?? 0) + 1;
        for (const r of record.recipients) {
          status.recipients[r.status]++;
          summary.recipient(r);
        }
        if (record.code) summary.unsealed(record.code, record.error ?? record.code);
        summary.message(summaryOutcome(record));
        const at = Date.parse(record.at);
        first = Math.min(first, at - record.elapsed_ms);
        last = Math.max(last, at);
        onResult?.(record);
      }
    }
    status.summary = { ...summary.result(), elapsedMs: last > first ? last - first : 0 };
    return status;
  } catch (err) {
    if (err instanceof SmimeError) throw err;
    throw queue.fail(err, `read run ${names.stream} on`);
  }
}

/** A run summary counts a possibly delivered message as send does: partial or failed. */
function summaryOutcome(record: ResultRecord): "accepted" | "partial" | "failed" {
  if (record.outcome !== "uncertain") return record.outcome;
  return record.recipients.some((r) => r.status === "accepted") ? "partial" : "failed";
}

/** The lines `status` prints. */
export function statusLines(status: RunStatus): string[] {
  const m = status.messages;
  const r = status.recipients;
  const total = m.accepted + m.partial + m.failed + m.uncertain;
  const lines = [
    `run ${status.stream} on ${status.server}`,
    `queued ${status.queued}, in flight ${status.inFlight}`,
    `${total} message(s) done: accepted ${m.accepted}, partial ${m.partial}, ` +
    `failed ${m.failed}, uncertain ${m.uncertain}`,
    `recipients: accepted ${r.accepted}, rejected ${r.rejected}, failed ${r.failed}, ` +
    `uncertain ${r.uncertain}`,
  ];
  const nodes = Object.entries(status.nodes).sort(([a], [b]) => a.localeCompare(b));
  if (nodes.length) lines.push(`by node: ${nodes.map(([n, c]) => `${n} ${c}`).join(", ")}`);
  for (const { reason, count } of status.summary.reasons.slice(0, 5)) {
    lines.push(`  ${count} x ${reason}`);
  }
  return lines;
}

/** The JSON `status --json` prints. */
export function statusJson(status: RunStatus): Record<string, unknown> {
  return {
    stream: status.stream,
    server: status.server,
    queued: status.queued,
    in_flight: status.inFlight,
    messages: status.messages,
    recipients: status.recipients,
    nodes: status.nodes,
    reasons: status.summary.reasons,
  };
}
