/**
 * What a run prints, the same for one message and a million: the old
 * tool's lines for each message (always for a run of one, with --verbose
 * for more, each then led by its file), a JSON object per message and one
 * for the summary with --json, a progress line, the summary, warnings once.
 *
 * Lines go to stdout as the old tool printed them, and to stderr when
 * stdout carries something else: the JSON, or the messages themselves.
 *
 * --quiet drops progress, warnings and what says a message went out, not a
 * failure: a message not accepted by every recipient still gets its lines
 * (a run of one, or with --verbose) and a run that was not all accepted its
 * summary, on stderr: the exit status alone does not say which failed or why.
 *
 * @module
 */
import type { BatchEvent } from "../batch/run.ts";
import type { BatchSummary } from "../batch/summary.ts";
import { summaryJson } from "../batch/summary.ts";
import { Progress } from "../batch/progress.ts";
import { deferredLine, messageJson, messageLines, sendingLine, summaryLines } from "../report.ts";
import { output, warn } from "./output.ts";

type MessageEvent = Extract<BatchEvent, { type: "message" }>;

/** How a run prints. */
export interface PrintMode {
  /** The run is one message (the old tool's mode): its lines carry no file name. */
  one: boolean;
  /** One JSON object per message, then one for the summary, on stdout. */
  json: boolean;
  /** The messages are written to stdout: every line goes to stderr. */
  stdoutTaken: boolean;
  /** The messages are written, not sent: no per-message lines without --verbose. */
  writing: boolean;
  /** Masks secrets in every line. */
  hide: (line: string) => string;
}

const encoder = new TextEncoder();

/** Prints a run's events, its progress and its summary. */
export class RunPrinter {
  readonly #mode: PrintMode;
  readonly #progress: Progress;
  readonly #perMessage: boolean;
  readonly #said = new Set<string>();
  #ticker: { stop(): void } | undefined;

  constructor(mode: PrintMode, total: number | undefined) {
    this.#mode = mode;
    this.#progress = new Progress(total);
    this.#perMessage = output.verbose || (mode.one && !mode.writing);
    const silent = output.quiet || mode.json || mode.one;
    if (!silent) this.#ticker = startTicker(this.#progress);
  }

  /** A plugin's line (`Opened SMTP connection ...`): each once, as a run reconnects often. */
  info(line: string): void {
    if (this.#mode.one || !this.#said.has(line)) this.#say(line);
    this.#said.add(line);
  }

  /** A warning, each once. */
  warn(line: string): void {
    if (!this.#said.has(line)) warn(this.#mode.hide(line));
    this.#said.add(line);
  }

  /** Takes one runner event. */
  event(event: BatchEvent): void {
    this.#progress.update(event);
    if (event.type === "warning") this.warn(event.text);
    else if (event.type === "deferred" && event.maybeSent) {
      warn(this.#mode.hide(deferredLine(event)));
    } else if (event.type === "sending" && this.#perMessage) {
      this.#say(sendingLine(event.label, event.sender, event.recipients));
    } else if (event.type === "deferred" && this.#perMessage) {
      this.#say(this.#labelled(event.label, deferredLine(event)));
    } else if (event.type === "message") this.#message(event);
  }

  /**
   * Stops the progress line, then prints the summary: for a run of several
   * messages (with --quiet only when not all was accepted), and with --json
   * always (one message's lines are its summary).
   */
  summary(summary: BatchSummary): void {
    this.stop();
    if (this.#mode.json) console.log(JSON.stringify({ summary: summaryJson(summary) }));
    else if (!this.#mode.one && (!output.quiet || !isAllAccepted(summary))) {
      summaryLines(summary).forEach((line) => console.error(this.#mode.hide(line)));
    }
  }

  /** Stops the progress line; idempotent. */
  stop(): void {
    this.#ticker?.stop();
    this.#ticker = undefined;
  }

  #message(event: MessageEvent): void {
    if (this.#mode.json) {
      // Server texts in it were masked where they entered (the runner's transport wrapper).
      console.log(JSON.stringify(messageJson(event)));
      return;
    }
    if (!this.#perMessage) return;
    // One message that could not be sealed or sent is its own error line (see deliverRun).
    if (this.#mode.one && (event.code || transportFailed(event))) return;
    const isFailure = !isAccepted(event);
    for (const line of messageLines(event)) {
      this.#say(line.startsWith("FAILED - ") ? line : this.#labelled(event.label, line), isFailure);
    }
  }

  /** A run's lines name their message; one message's are the old tool's, as they were. */
  #labelled(label: string, line: string): string {
    return this.#mode.one || line.startsWith(" ") ? line : `${label}: ${line}`;
  }

  /** A line on stdout, or stderr when stdout is taken; with --quiet only a failure's, on stderr. */
  #say(line: string, isFailure = false): void {
    if (output.quiet && !isFailure) return;
    const toStderr = output.quiet || this.#mode.json || this.#mode.stdoutTaken;
    (toStderr ? console.error : console.log)(this.#mode.hide(line));
  }
}

/** Every recipient of the message accepted it. */
function isAccepted(event: MessageEvent): boolean {
  return !event.error && event.recipients.every((r) => r.status === "accepted");
}

/** Every message of the run accepted by every recipient, or done in an earlier run. */
function isAllAccepted(summary: BatchSummary): boolean {
  const { messages: m, recipients: r } = summary;
  return m.partial + m.failed === 0 && r.rejected + r.failed + r.uncertain === 0;
}

/** Every recipient failed without an SMTP or HTTP reply (connection trouble). */
export function transportFailed(event: MessageEvent): boolean {
  return event.recipients.length > 0 &&
    event.recipients.every((r) => r.status === "failed" && r.code === undefined);
}

/** Redraws the progress line on a terminal, or prints it every 5 s elsewhere. */
function startTicker(progress: Progress): { stop(): void } {
  const tty = Deno.stderr.isTerminal();
  const draw = () => {
    // Its last reason is a server reply or an error, masked where it entered the run.
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
