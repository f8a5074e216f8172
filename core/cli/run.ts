/**
 * A delivery run as the CLI drives it: flags checked, seal pool, journal,
 * report, progress line, signals, the runner, the summary and the exit
 * status. `send` runs it over files, folders, mboxes and manifests (or one
 * message, the old tool's mode); `worker` over jobs from a queue, with hooks
 * that acknowledge each job once its outcome is recorded.
 *
 * @module
 */
import { isSmimeError, SmimeError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { readInput } from "../io.ts";
import type { SealOptions } from "../pipeline.ts";
import type { ResolvedDelivery } from "../config/mod.ts";
import type { DeliveryPlugin, Transport } from "../deliver/types.ts";
import type { Progress } from "../batch/progress.ts";
import type { BatchEvent } from "../batch/run.ts";
import type { BatchInput } from "../batch/sources/mod.ts";
import { deferredLine, messageJson, messageLines, sendingLine, summaryLines } from "../report.ts";
import { readEnv } from "./delivery.ts";
import { loadTrust, passphraseSource } from "./keys.ts";
import type { KeyOptions } from "./keys.ts";
import { output, warn } from "./output.ts";

const encoder = new TextEncoder();

/** The options of a run (see withRunOptions in options.ts). */
export type RunFlags = {
  mbox?: string[];
  manifest?: string[];
  sessions?: string;
  window?: string;
  workers?: string;
  rate?: string;
  retries?: string;
  retryMaxAge: string;
  atMostOnce?: true;
  journal?: string;
  resume?: true;
  newJournal?: true;
  report?: string;
};

/** Everything {@link deliverRun} reads from the command line. */
export type DeliverFlags = KeyOptions & RunFlags & { json?: true; debugSmtp?: true };

/** Where a run's messages come from. */
export interface RunSource {
  /** The messages; called once, when the runner starts. */
  inputs(): AsyncIterable<BatchInput>;
  /** How many messages there will be, for the progress line; undefined when unknown. */
  count(): Promise<number | undefined>;
  /** A message arrives on stdin, so a passphrase cannot be asked there. */
  stdinIsMessage: boolean;
}

/** What a caller adds to a run (the queue worker). */
export interface RunHooks {
  /** Every runner event, after the run's own handling of it. */
  onEvent?(event: BatchEvent): void;
  /**
   * The first SIGINT/SIGTERM calls this instead of stopping the run: the
   * source ends, and what is in flight finishes. A second signal stops it.
   */
  drain?(): void;
  /**
   * The run is stopping (a fatal error, an interrupt, `signal`): what it
   * still holds is given up as failed from now on. Called once, before that.
   */
  onStop?(): void;
  /** Stops the run as an interrupt does. */
  signal?: AbortSignal;
  /** Awaited once the runner has finished, before the summary is printed. */
  settle?(): Promise<void>;
  /** Messages read but not finished, at most. */
  maxOpen?: number;
  /** More secrets to mask in every line the run prints. */
  secrets?: readonly string[];
}

/** The files, folders, mboxes and manifests of `send`, or its one message. */
export async function filesSource(
  paths: string[],
  flags: RunFlags,
  single: boolean,
): Promise<RunSource> {
  const { countInputs, readInputs } = await import("../batch/sources/mod.ts");
  const lists = { mbox: flags.mbox, manifest: flags.manifest };
  return {
    inputs: () => single ? oneInput(paths[0]!) : readInputs(paths, lists),
    count: async () => single ? 1 : await countInputs(paths, lists),
    stdinIsMessage: paths.includes("-"),
  };
}

/** A positive whole number from a flag, or the default. */
export function count(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new SmimeError("E_USAGE", `${flag}: expected a whole number >= ${min}, got "${value}"`);
  }
  return n;
}

/**
 * Seals and delivers every input through the resolved plugin. One message
 * prints the old tool's lines; a run prints progress and a summary.
 *
 * @returns the exit status (see runExitCode in core/policy.ts)
 * @throws {SmimeError} usage and configuration errors before anything is
 *   sent; the error that stopped the run; one message's own error
 */
export async function deliverRun(
  delivery: ResolvedDelivery,
  source: RunSource,
  options: DeliverFlags,
  seal: Omit<SealOptions, "singleCopy">,
  single: boolean,
  hooks: RunHooks = {},
): Promise<number> {
  delivery.warnings.forEach(warn);
  if (options.resume && !options.journal) {
    throw new SmimeError("E_USAGE", "--resume needs --journal FILE");
  }
  if (options.newJournal && (!options.journal || options.resume)) {
    throw new SmimeError(
      "E_USAGE",
      "--new-journal needs --journal FILE, and conflicts with --resume",
    );
  }
  // Every number is checked before a journal, report or connection is opened, and also
  // those one message ignores (--sessions, --workers): a bad value is a usage error.
  count("--sessions", options.sessions, 1);
  count("--workers", options.workers, 0, 0);
  count("--window", options.window, 1);
  if (options.rate !== undefined) count("--rate", options.rate, 0);
  count("--retries", options.retries, 0, 0);
  count("--retry-max-age", options.retryMaxAge, 0, 0);
  const [
    { redact, secretsOf },
    { Journal, refuseUsedJournal, resumeState, setJournalAside },
    { Progress },
    { ReportFile },
    { runBatch },
    { SealPool },
    { runExitCode },
  ] = await Promise.all([
    import("../config/mod.ts"),
    import("../batch/journal.ts"),
    import("../batch/progress.ts"),
    import("../batch/report_file.ts"),
    import("../batch/run.ts"),
    import("../batch/seal_pool.ts"),
    import("../policy.ts"),
  ]);
  const secrets = [...secretsOf(delivery), ...(hooks.secrets ?? [])];
  const hide = (line: string) => redact(line, secrets);
  const quiet = output.quiet || Boolean(options.json);
  // The old tool printed progress on stdout; under --json stdout is the JSON.
  const say = (line: string) => {
    if (!output.quiet) (options.json ? console.error : console.log)(hide(line));
  };
  if (options.journal && options.newJournal) {
    const aside = await setJournalAside(options.journal);
    if (aside) say(`the earlier journal is kept as ${aside}`);
  } else if (options.journal && !options.resume) {
    await refuseUsedJournal(options.journal);
  }
  const guarantee = options.atMostOnce ? "at-most-once" : "at-least-once";
  const trustAnchors = await loadTrust(options.trust);
  const pool = new SealPool({
    workers: single ? 0 : count("--workers", options.workers, navigator.hardwareConcurrency, 0),
    keys: {
      dir: options.keys,
      trustAnchors,
      allowInvalid: Boolean(options.allowInvalidCert),
      allowInsecurePermissions: Boolean(options.allowInsecureKeyPermissions),
    },
    seal,
    passphrase: passphraseSource(options.passphraseFile, source.stdinIsMessage),
  });
  const journal = options.journal ? await Journal.open(options.journal) : undefined;
  const report = options.report ? await ReportFile.create(options.report) : undefined;
  const stop = new AbortController();
  const onStop = hooks.onStop && once(hooks.onStop);
  if (onStop) stop.signal.addEventListener("abort", () => onStop(), { once: true });
  let draining = false;
  const onSignal = () => {
    if (hooks.drain && !draining) {
      draining = true;
      hooks.drain();
    } else stop.abort(new SmimeError("E_TEMPFAIL", "interrupted"));
  };
  const onHookAbort = () => stop.abort(new SmimeError("E_TEMPFAIL", "interrupted"));
  hooks.signal?.addEventListener("abort", onHookAbort, { once: true });
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const total = await source.count();
  const progress = new Progress(total);
  const ticker = single || output.quiet || options.json ? undefined : startTicker(progress);
  const warned = new Set<string>();
  let unsealed: { code: string; reason: string } | undefined;
  try {
    const { summary, fatal } = await runBatch({
      inputs: source.inputs(),
      pool,
      plugin: onStop ? watchedPlugin(delivery.plugin, onStop) : delivery.plugin,
      pluginOptions: delivery.options,
      context: {
        // A run reconnects often (max_messages_per_connection): say each line once.
        info: single ? say : (line) => {
          if (!warned.has(line)) say(line);
          warned.add(line);
        },
        warn: (line) => warn(hide(line)),
        debug: options.debugSmtp ? (line) => console.error(hide(line)) : undefined,
      },
      sessions: sessionsFor(delivery.plugin, single ? "1" : options.sessions),
      window: count("--window", options.window, delivery.plugin.window ?? 1),
      rate: options.rate === undefined ? undefined : count("--rate", options.rate, 0),
      retry: {
        attempts: 1 + count("--retries", options.retries, single ? 0 : 5, 0),
        maxAgeMs: count("--retry-max-age", options.retryMaxAge, 600, 0) * 1000,
        baseMs: retryBaseMs(),
        capMs: 60_000,
      },
      journal,
      guarantee,
      resume: options.resume ? await resumeState(options.journal!, guarantee) : undefined,
      redact: hide,
      signal: stop.signal,
      maxOpen: hooks.maxOpen,
      onEvent: (event) => {
        progress.update(event);
        if (event.type === "warning") {
          if (!warned.has(event.text)) warn(hide(event.text));
          warned.add(event.text);
        } else if (event.type === "sending" && single) {
          say(sendingLine(event.label, event.sender, event.recipients));
        } else if (event.type === "deferred" && event.maybeSent) {
          warn(hide(deferredLine(event)));
        } else if (event.type === "deferred" && single) {
          say(deferredLine(event));
        } else if (event.type === "message") {
          report?.add(event);
          if (event.code) unsealed = { code: event.code, reason: event.error ?? event.code };
          if (options.json) console.log(JSON.stringify(messageJson(event)));
          else if (single && !event.code && !transportFailed(event)) {
            messageLines(event).forEach(say);
          }
        }
        hooks.onEvent?.(event);
      },
    });
    await hooks.settle?.();
    ticker?.stop();
    if (!single && !quiet) summaryLines(summary).forEach((line) => console.error(hide(line)));
    await report?.finish(summary);
    if (fatal) throw fatal;
    // One message that could not be sealed or sent at all: its own error and exit status.
    const failure = unsealed ??
      (summary.recipients.accepted === 0 ? summary.transportFailure : undefined);
    if (single && failure) throw new SmimeError(failure.code as ErrorCode, hide(failure.reason));
    return runExitCode(summary);
  } catch (err) {
    ticker?.stop();
    await report?.abandon();
    if (isSmimeError(err)) throw new SmimeError(err.code, hide(err.message));
    throw err;
  } finally {
    hooks.signal?.removeEventListener("abort", onHookAbort);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    pool.close();
    journal?.close();
  }
}

/**
 * The first retry back-off: 1 s. Hidden, for tests of retries only:
 * $SMIMEPOST_RETRY_BASE_MS (1-60000) sets it in milliseconds.
 */
function retryBaseMs(): number {
  const value = readEnv("SMIMEPOST_RETRY_BASE_MS");
  if (value === undefined || value === "") return 1000;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) {
    throw new SmimeError("E_CONFIG", `SMIMEPOST_RETRY_BASE_MS: expected 1-60000, got "${value}"`);
  }
  return ms;
}

/** --sessions, or the plugin's default, within the platform's limit. */
function sessionsFor(plugin: DeliveryPlugin, value: string | undefined): number {
  const sessions = count("--sessions", value, plugin.sessions ?? 4);
  if (plugin.maxSessions && sessions > plugin.maxSessions) {
    warn(`--sessions ${sessions}: ${plugin.id} allows at most ${plugin.maxSessions}; using that`);
    return plugin.maxSessions;
  }
  return sessions;
}

/** Every recipient failed without an SMTP or HTTP reply (connection trouble). */
function transportFailed(event: Extract<BatchEvent, { type: "message" }>): boolean {
  return event.recipients.length > 0 &&
    event.recipients.every((r) => r.status === "failed" && r.code === undefined);
}

/** The one message of the old tool's mode, read as a run's input. */
async function* oneInput(path: string): AsyncGenerator<BatchInput> {
  const { bytes, source } = await readInput(path);
  yield { key: path === "-" ? "stdin" : path, label: source, bytes };
}

/** Redraws the progress line on a terminal, or prints it every 5 s elsewhere. */
function startTicker(progress: Progress): { stop(): void } {
  const tty = Deno.stderr.isTerminal();
  const draw = () => {
    const line = progress.line();
    if (tty) Deno.stderr.writeSync(encoder.encode(`\r\x1b[K${line}`));
    else console.error(line);
  };
  const timer = setInterval(draw, tty ? 250 : 5000);
  return {
    stop() {
      clearInterval(timer);
      draw();
      if (tty) Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}

/**
 * The plugin, with each transport telling `onStop` when the runner's own
 * stop signal (which it hands to open and deliver) fires: a fatal error
 * stops the run there, before the runner gives up what it holds.
 */
function watchedPlugin(plugin: DeliveryPlugin, onStop: () => void): DeliveryPlugin {
  const watched = new WeakSet<AbortSignal>();
  const watch = (signal: AbortSignal | undefined) => {
    if (!signal || watched.has(signal)) return;
    watched.add(signal);
    if (signal.aborted) onStop();
    else signal.addEventListener("abort", () => onStop(), { once: true });
  };
  return {
    ...plugin,
    create(options, context): Transport {
      const transport = plugin.create(options, context);
      return {
        open: (signal) => {
          watch(signal);
          return transport.open(signal);
        },
        deliver: (message, signal) => {
          watch(signal);
          return transport.deliver(message, signal);
        },
        close: () => transport.close(),
      };
    },
  };
}

/** `fn`, called at most once. */
function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
