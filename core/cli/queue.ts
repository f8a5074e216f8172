/**
 * The queue commands: `enqueue` publishes messages as jobs on a NATS
 * JetStream run, and `status` shows the run across all nodes (`worker`, which
 * seals and delivers them with the same run as `send`, is in worker.ts). The
 * NATS modules load only here, and this module only when one of these
 * commands runs.
 *
 * @module
 */
import { ExitCode, SmimeError } from "../errors.ts";
import { redact } from "../config/secrets.ts";
import type { NatsSettings } from "../config/nats.ts";
import type { ConfigInputs } from "../config/mod.ts";
import { readEnv } from "./delivery.ts";
import type { DeliveryFlags } from "./delivery.ts";
import { printLines, setOutput, warn } from "./output.ts";
import type { DeliverFlags } from "./run.ts";
import type { SealFlags } from "./seal.ts";

/** Where the queue is: --nats, --stream, --config. */
export type QueueFlags = {
  nats?: string;
  stream?: string;
  config?: string;
  verbose?: true;
  quiet?: true;
};

/** The flags of `enqueue`. */
export type EnqueueFlags = QueueFlags & { mbox?: string[]; manifest?: string[]; json?: true };

/** The flags of `worker`: send's, less its inputs, plus the queue's. */
export type WorkerFlags =
  & QueueFlags
  & DeliveryFlags
  & SealFlags
  & DeliverFlags
  & { node?: string; untilEmpty?: true };

/** The flags of `status`. */
export type StatusFlags = QueueFlags & { json?: true; report?: string };

/**
 * Publishes every input as a job.
 *
 * @returns the exit status: 0 all queued (or already queued), 3 some could
 *   not be read, 66 none could
 * @throws {SmimeError} E_USAGE, E_CONFIG, E_UNAVAILABLE (69), E_AUTH (77)
 */
export async function enqueueCommand(inputs: string[], options: EnqueueFlags): Promise<number> {
  setOutput(options);
  if (inputs.length === 0 && !options.mbox && !options.manifest) {
    throw new SmimeError(
      "E_USAGE",
      'no input: give message files or folders, "-", --mbox or --manifest',
    );
  }
  const settings = await natsSettings(options);
  const [{ readInputs }, { openQueue, setUpRun }, { enqueue, noCounts }] = await Promise.all([
    import("../batch/sources/mod.ts"),
    import("../queue/connection.ts"),
    import("../queue/enqueue.ts"),
  ]);
  const items = readInputs(inputs, { mbox: options.mbox, manifest: options.manifest });
  const queue = await openQueue(settings, { name: "smimepost enqueue", persistent: false });
  const hide = (text: string) => redact(text, queue.secrets);
  const counts = noCounts();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const report = async () => {
    if (options.json) {
      await printLines([JSON.stringify({
        stream: settings.stream,
        server: settings.display,
        queued: counts.queued,
        duplicates: counts.duplicates,
        failed: counts.failed,
        objects: counts.objects,
        added_message_ids: counts.addedMessageIds,
      })]);
    } else {
      const extra = [
        counts.objects ? `${counts.objects} through the object store` : "",
        counts.addedMessageIds ? `${counts.addedMessageIds} given a Message-ID` : "",
      ].filter(Boolean);
      await printLines([
        `queued ${counts.queued}, duplicates ${counts.duplicates}, failed to read ` +
        `${counts.failed}${extra.length ? ` (${extra.join(", ")})` : ""}`,
      ]);
    }
  };
  try {
    await setUpRun(queue);
    await enqueue(queue, items, {
      counts,
      signal: stop.signal,
      onFailed: (err) => console.error(`smimepost: ${hide(err.message)}`),
    });
    await report();
  } catch (err) {
    if (counts.queued + counts.duplicates + counts.failed > 0) await report().catch(() => {});
    throw err;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await queue.close();
  }
  if (stop.signal.aborted) throw new SmimeError("E_TEMPFAIL", "interrupted");
  if (counts.failed === 0) return ExitCode.ok;
  return counts.queued + counts.duplicates > 0 ? ExitCode.partial : ExitCode.noInput;
}

/**
 * Shows the run: queued, in flight, and the outcome of every finished job.
 *
 * @returns 0
 * @throws {SmimeError} E_INPUT (66) when the server has no such run;
 *   connection errors; E_OUTPUT when the report can't be written
 */
export async function statusCommand(options: StatusFlags): Promise<number> {
  setOutput(options);
  const settings = await natsSettings(options);
  const [{ openQueue }, { runStatus, statusJson, statusLines }, { ReportFile }] = await Promise
    .all([
      import("../queue/connection.ts"),
      import("../queue/status.ts"),
      import("../batch/report_file.ts"),
    ]);
  const queue = await openQueue(settings, { name: "smimepost status", persistent: false });
  const report = options.report ? await ReportFile.create(options.report) : undefined;
  try {
    const status = await runStatus(queue, (record) =>
      report?.add({
        key: record.key,
        label: record.label,
        outcome: record.outcome,
        messageId: record.message_id ?? undefined,
        error: record.error ?? undefined,
        recipients: record.recipients,
      }));
    await report?.finish(status.summary);
    await printLines(
      options.json ? [JSON.stringify(statusJson(status))] : statusLines(status),
    );
    return ExitCode.ok;
  } catch (err) {
    await report?.abandon();
    throw err;
  } finally {
    await queue.close();
  }
}

/**
 * The [nats] settings `config check` shows, or undefined when no queue is
 * configured (no [nats] table, no SMIMEPOST_NATS_URL).
 */
export async function queueSettings(inputs: ConfigInputs): Promise<NatsSettings | undefined> {
  const [{ loadConfig, locateConfig }, { NATS_ENV, resolveNats }] = await Promise.all([
    import("../config/file.ts"),
    import("../config/nats.ts"),
  ]);
  const location = await locateConfig(inputs);
  const config = location ? await loadConfig(location) : undefined;
  if (!config?.nats && !inputs.env(NATS_ENV.url!)) return undefined;
  return await resolveNats(inputs, {});
}

/** The lines `config check` prints for the queue, secrets masked. */
export function queueLines(settings: NatsSettings): string[] {
  const settingLines = settings.values.map((v) => `  ${v.key} = ${v.display}`);
  const width = Math.max(0, ...settingLines.map((line) => line.length));
  return [
    `queue: stream ${settings.stream} on ${settings.display}`,
    ...settings.values.map((v, i) => `${settingLines[i]!.padEnd(width)}   (${v.source})`),
    ...settings.warnings.map((w) => `warning: ${w}`),
  ];
}

/** The queue as `config check --json` prints it, secrets masked. */
export function queueJson(settings: NatsSettings): Record<string, unknown> {
  return {
    stream: settings.stream,
    server: settings.display,
    values: settings.values.map((v) => ({ key: v.key, value: v.display, source: v.source })),
    warnings: settings.warnings,
  };
}

/** The [nats] settings with --nats / --stream on top; warnings printed. */
export async function natsSettings(options: QueueFlags): Promise<NatsSettings> {
  const { resolveNats } = await import("../config/nats.ts");
  const settings = await resolveNats(
    { configFile: options.config, cwd: Deno.cwd(), env: readEnv },
    { url: options.nats, stream: options.stream },
  );
  settings.warnings.forEach(warn);
  return settings;
}
