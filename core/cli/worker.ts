/**
 * `worker`: takes jobs from a NATS JetStream run, seals and delivers them
 * with the same run as `send`, and records each outcome before the job is
 * acknowledged.
 *
 * @module
 */
import { ExitCode, SmimeError } from "../errors.ts";
import { redact } from "../config/secrets.ts";
import { escapeControls } from "../printable.ts";
import { deliveryInputs, loadDelivery } from "./delivery.ts";
import { output, setOutput, warn } from "./output.ts";
import { natsSettings } from "./queue.ts";
import type { WorkerFlags } from "./queue.ts";
import { count } from "./run_flags.ts";
import type { RunSource } from "./run.ts";
import { sealOptionsOf } from "./seal.ts";

/**
 * Takes jobs from the queue and seals and delivers them until stopped
 * (SIGTERM/SIGINT: finish what is held, exit 0) or, with --until-empty,
 * until nothing is queued or held anywhere.
 *
 * @returns 0; the outcome of each message is in the results stream
 * @throws {SmimeError} the error that stopped the run (its jobs were handed
 *   back); usage, configuration and connection errors before it starts
 */
export async function workerCommand(options: WorkerFlags): Promise<number> {
  setOutput(options);
  for (
    const [flag, given] of [
      ["--mbox", options.mbox],
      ["--manifest", options.manifest],
      ["--journal", options.journal],
      ["--resume", options.resume],
      ["--new-journal", options.newJournal],
    ] as const
  ) {
    if (given) {
      throw new SmimeError("E_USAGE", `worker: ${flag} does not apply (jobs come from the queue)`);
    }
  }
  const delivery = await loadDelivery(deliveryInputs(options));
  if (!delivery) {
    throw new SmimeError(
      "E_USAGE",
      "worker needs a delivery: --profile, --send_smtp or --send_api",
    );
  }
  const seal = sealOptionsOf(options);
  if (!seal.sign && !seal.encrypt) {
    warn("neither --sign nor --encrypt given; messages go as they are");
  }
  // The run's own bound on messages in memory is the worker's bound on jobs it holds.
  const plugin = delivery.plugin;
  const sessions = Math.min(
    count("--sessions", options.sessions, plugin.sessions ?? 4),
    plugin.maxSessions ?? Infinity,
  );
  const window = count("--window", options.window, plugin.window ?? 1);
  const threads = count("--workers", options.workers, navigator.hardwareConcurrency, 0);
  const limit = Math.max(8, sessions * window * 3 + Math.max(1, threads) * 4);
  const settings = await natsSettings(options);
  const node = options.node ?? await hostName();
  const [{ openQueue, setUpRun }, { JobSource }, { deliverRun }] = await Promise.all([
    import("../queue/connection.ts"),
    import("../queue/consumer.ts"),
    import("./run.ts"),
  ]);
  const queue = await openQueue(settings, {
    name: `smimepost worker ${node}:${Deno.pid}`,
    persistent: true,
  });
  const hide = (text: string) => redact(text, queue.secrets);
  let source: InstanceType<typeof JobSource> | undefined;
  try {
    await setUpRun(queue);
    const consumer = await queue.js.consumers.get(settings.stream, queue.names.consumer)
      .catch((err) => Promise.reject(queue.fail(err, "reach the workers' consumer on")));
    const info = await consumer.info(true).catch((err) =>
      Promise.reject(queue.fail(err, "reach the workers' consumer on"))
    );
    source = new JobSource(queue, consumer, {
      limit,
      ackWaitMs: Math.max(1000, Math.round((info.config.ack_wait ?? 30e9) / 1_000_000)),
      node,
      untilEmpty: Boolean(options.untilEmpty),
      log: (line) => {
        // The line may quote the NATS server's error: escaped, then masked.
        if (!output.quiet) console.error(`smimepost: ${hide(escapeControls(line))}`);
      },
    });
    const jobs = source;
    const runSource: RunSource = {
      inputs: () => jobs,
      count: () => Promise.resolve(undefined),
      stdinIsMessage: false,
      one: false,
    };
    await deliverRun(delivery, runSource, options, seal, {
      onEvent: (event) => jobs.onEvent(event),
      drain: () => {
        if (!output.quiet) console.error("smimepost: stopping: finishing the jobs in hand");
        jobs.drain();
      },
      onStop: () => jobs.stopping(),
      signal: jobs.signal,
      settle: () => jobs.settle(),
      maxOpen: limit,
      secrets: queue.secrets,
    });
    return ExitCode.ok;
  } finally {
    await source?.close();
    if (source && !output.quiet && !options.json) {
      const c = source.counts;
      console.error(
        `smimepost worker ${node}: ${c.recorded} job(s) recorded, ${c.alreadyDone} already ` +
          `done, ${c.handedBack} handed back`,
      );
    }
    await queue.close();
  }
}

/** This machine's name, for the results (no --allow-sys needed). */
async function hostName(): Promise<string> {
  for (const file of ["/proc/sys/kernel/hostname", "/etc/hostname"]) {
    try {
      const name = (await Deno.readTextFile(file)).trim();
      if (name) return name;
    } catch { /* next */ }
  }
  return "localhost";
}
