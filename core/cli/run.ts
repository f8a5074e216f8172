/**
 * A delivery run as the CLI drives it: seal pool, journal, report, signals,
 * the runner, the summary and the exit status. `send` runs it over files,
 * folders, mboxes and manifests, one message or a million, delivering or
 * writing them (core/deliver/write.ts); `worker` over jobs from a queue,
 * with hooks that acknowledge each job once its outcome is recorded.
 *
 * @module
 */
import { isSmimeError, reasonOf, SmimeError } from "../errors.ts";
import { readInput } from "../io.ts";
import type { SealOptions } from "../pipeline.ts";
import type { DeliveryTarget, Transport } from "../deliver/types.ts";
import type { BatchEvent } from "../batch/run.ts";
import type { BatchInput } from "../batch/sources/mod.ts";
import { loadTrust, passphraseSource } from "./keys.ts";
import type { KeyOptions } from "./keys.ts";
import { output, warn } from "./output.ts";
import { checkRunFlags, count, retryBaseMs, sessionsFor } from "./run_flags.ts";
import type { RunFlags } from "./run_flags.ts";
import { RunPrinter } from "./run_output.ts";

export type { RunFlags } from "./run_flags.ts";

/** Everything {@link deliverRun} reads from the command line. */
export type DeliverFlags = KeyOptions & RunFlags & { json?: true; debugSmtp?: true };

/** Where a run delivers: a resolved profile, or the messages written out. */
export interface RunDelivery {
  /** The profile name, "--send_smtp", or where messages are written. */
  profile: string;
  plugin: DeliveryTarget;
  /** The target's validated options. */
  options: unknown;
  warnings: string[];
  /** The messages are written to stdout: every line the run prints goes to stderr. */
  stdoutTaken?: boolean;
  /** The messages are written, not sent (no per-message lines without --verbose). */
  writing?: boolean;
}

/** Where a run's messages come from. */
export interface RunSource {
  /** The messages; called once, when the runner starts. */
  inputs(): AsyncIterable<BatchInput>;
  /** How many messages there will be, for the progress line; undefined when unknown. */
  count(): Promise<number | undefined>;
  /** A message arrives on stdin, so a passphrase cannot be asked there. */
  stdinIsMessage: boolean;
  /**
   * Exactly one message, the old tool's mode: its lines as the old tool
   * printed them, no retries or seal threads by default, and its own error
   * and exit status when it fails.
   */
  one: boolean;
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

/**
 * The files, folders, mboxes and manifests of `send`. One file or stdin,
 * and no --mbox or --manifest, is a run of one message.
 */
export async function filesSource(paths: string[], flags: RunFlags): Promise<RunSource> {
  const one = await isOneMessage(paths, flags);
  if (one) {
    return {
      inputs: () => oneInput(paths[0]!),
      count: () => Promise.resolve(1),
      stdinIsMessage: paths[0] === "-",
      one,
    };
  }
  const { countInputs, readInputs } = await import("../batch/sources/mod.ts");
  const lists = { mbox: flags.mbox, manifest: flags.manifest };
  return {
    inputs: () => readInputs(paths, lists),
    count: () => countInputs(paths, lists),
    stdinIsMessage: paths.includes("-"),
    one,
  };
}

/**
 * Seals and delivers every input through the target.
 *
 * @returns the exit status (see runExitCode in core/policy.ts)
 * @throws {SmimeError} usage and configuration errors before anything is
 *   sent; the error that stopped the run; one message's own error
 */
export async function deliverRun(
  delivery: RunDelivery,
  source: RunSource,
  options: DeliverFlags,
  seal: SealOptions,
  hooks: RunHooks = {},
): Promise<number> {
  delivery.warnings.forEach(warn);
  checkRunFlags(options);
  // The journal and the report file load only when asked for: one message needs neither.
  const [
    { redact, secretsOf },
    journals,
    reports,
    { runBatch },
    { SealPool },
    { runExitCode },
  ] = await Promise.all([
    import("../config/secrets.ts"),
    options.journal ? import("../batch/journal.ts") : undefined,
    options.report ? import("../batch/report_file.ts") : undefined,
    import("../batch/run.ts"),
    import("../batch/seal_pool.ts"),
    import("../policy.ts"),
  ]);
  const secrets = [...secretsOf(delivery), ...(hooks.secrets ?? [])];
  const hide = (line: string) => redact(line, secrets);
  const { one } = source;
  if (options.journal && options.newJournal) {
    const aside = await journals!.setJournalAside(options.journal);
    if (aside && !output.quiet) console.error(`the earlier journal is kept as ${aside}`);
  } else if (options.journal && !options.resume) {
    await journals!.refuseUsedJournal(options.journal);
  }
  const guarantee = options.atMostOnce ? "at-most-once" : "at-least-once";
  const trustAnchors = await loadTrust(options.trust);
  const pool = new SealPool({
    workers: one ? 0 : count("--workers", options.workers, navigator.hardwareConcurrency, 0),
    keys: {
      dir: options.keys,
      trustAnchors,
      allowInvalid: Boolean(options.allowInvalidCert),
      allowInsecurePermissions: Boolean(options.allowInsecureKeyPermissions),
    },
    seal,
    passphrase: passphraseSource(options.passphraseFile, source.stdinIsMessage),
  });
  const journal = options.journal ? await journals!.Journal.open(options.journal) : undefined;
  const report = options.report ? await reports!.ReportFile.create(options.report) : undefined;
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
  const printer = new RunPrinter({
    one,
    json: Boolean(options.json),
    stdoutTaken: Boolean(delivery.stdoutTaken),
    writing: Boolean(delivery.writing),
    hide,
  }, await source.count());
  let unsealed: { code: SmimeError["code"]; reason: string; cause?: string } | undefined;
  try {
    const { summary, fatal } = await runBatch({
      inputs: source.inputs(),
      pool,
      plugin: onStop ? watchedTarget(delivery.plugin, onStop) : delivery.plugin,
      pluginOptions: delivery.options,
      context: {
        info: (line) => printer.info(line),
        warn: (line) => printer.warn(line),
        debug: options.debugSmtp ? (line) => console.error(hide(line)) : undefined,
      },
      sessions: sessionsFor(delivery.plugin, one ? "1" : options.sessions),
      window: count("--window", options.window, delivery.plugin.window ?? 1),
      rate: options.rate === undefined ? undefined : count("--rate", options.rate, 0),
      retry: {
        attempts: 1 + count("--retries", options.retries, one ? 0 : 5, 0),
        maxAgeMs: count("--retry-max-age", options.retryMaxAge, 600, 0) * 1000,
        baseMs: retryBaseMs(),
        capMs: 60_000,
      },
      journal,
      guarantee,
      resume: options.resume ? await journals!.resumeState(options.journal!, guarantee) : undefined,
      redact: hide,
      signal: stop.signal,
      maxOpen: hooks.maxOpen,
      onEvent: (event) => {
        printer.event(event);
        if (event.type === "message") {
          report?.add(event);
          if (event.code) {
            unsealed = { code: event.code, reason: event.error ?? event.code, cause: event.cause };
          }
        }
        hooks.onEvent?.(event);
      },
    });
    await hooks.settle?.();
    printer.summary(summary);
    await report?.finish(summary);
    if (fatal) throw fatal;
    // One message that could not be sealed or sent at all: its own error and exit status.
    const failure = unsealed ??
      (summary.recipients.accepted === 0 ? summary.transportFailure : undefined);
    if (one && failure) {
      const cause = failure === unsealed && unsealed.cause ? hide(unsealed.cause) : undefined;
      throw new SmimeError(failure.code, hide(failure.reason), { cause });
    }
    return runExitCode(summary);
  } catch (err) {
    printer.stop();
    await report?.abandon();
    if (isSmimeError(err)) {
      const cause = err.cause === undefined ? undefined : hide(reasonOf(err.cause));
      throw new SmimeError(err.code, hide(err.message), { cause });
    }
    throw err;
  } finally {
    hooks.signal?.removeEventListener("abort", onHookAbort);
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    pool.close();
    journal?.close();
  }
}

/** One file or stdin and nothing that makes a run: the old tool's one-message mode. */
async function isOneMessage(paths: string[], flags: RunFlags): Promise<boolean> {
  if (paths.length !== 1 || flags.mbox || flags.manifest) return false;
  if (paths[0] === "-") return true;
  try {
    return !(await Deno.stat(paths[0]!)).isDirectory;
  } catch {
    return true; // reading it reports the error
  }
}

/** The one message of the old tool's mode, read as a run's input. */
async function* oneInput(path: string): AsyncGenerator<BatchInput> {
  const { bytes, source } = await readInput(path);
  yield { key: path === "-" ? "stdin" : path, label: source, bytes };
}

/**
 * The target, with each transport telling `onStop` when the runner's own
 * stop signal (which it hands to open and deliver) fires: a fatal error
 * stops the run there, before the runner gives up what it holds.
 */
function watchedTarget(target: DeliveryTarget, onStop: () => void): DeliveryTarget {
  const watched = new WeakSet<AbortSignal>();
  const watch = (signal: AbortSignal | undefined) => {
    if (!signal || watched.has(signal)) return;
    watched.add(signal);
    if (signal.aborted) onStop();
    else signal.addEventListener("abort", () => onStop(), { once: true });
  };
  return {
    ...target,
    create(options, context): Transport {
      const transport = target.create(options, context);
      return {
        open: (signal) => {
          watch(signal);
          return transport.open(signal);
        },
        deliver: (message, signal, fields) => {
          watch(signal);
          return transport.deliver(message, signal, fields);
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
