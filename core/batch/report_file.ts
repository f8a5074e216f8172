/**
 * --report FILE: every message's outcome as one JSON document, streamed to
 * a temporary file as the run goes (memory stays flat) and renamed into
 * place at the end with the summary.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import { fileErrorReason } from "../io.ts";
import type { BatchEvent } from "./run.ts";
import type { BatchSummary } from "./summary.ts";
import { summaryJson } from "./summary.ts";

/** One message's line in the report: a run's message event, or a queue's result. */
export type ReportEntry =
  & Pick<
    Extract<BatchEvent, { type: "message" }>,
    "key" | "label" | "messageId" | "error" | "recipients"
  >
  & { outcome: string };

/** Writes the report incrementally. */
export class ReportFile {
  readonly #path: string;
  readonly #temp: string;
  readonly #file: Deno.FsFile;
  readonly #encoder = new TextEncoder();
  #first = true;
  #chain: Promise<void> = Promise.resolve();

  private constructor(path: string, temp: string, file: Deno.FsFile) {
    this.#path = path;
    this.#temp = temp;
    this.#file = file;
  }

  /**
   * Creates the report for its owner alone (mode 0600): it lists recipients.
   *
   * @throws {SmimeError} E_OUTPUT naming the file
   */
  static async create(path: string): Promise<ReportFile> {
    const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
      const report = new ReportFile(path, temp, file);
      report.#write('{"messages":[\n');
      return report;
    } catch (err) {
      throw new SmimeError("E_OUTPUT", `Cannot write the report ${path}: ${fileErrorReason(err)}`);
    }
  }

  /** Adds one finished message. */
  add(event: ReportEntry): void {
    const entry = {
      key: event.key,
      label: event.label,
      outcome: event.outcome,
      message_id: event.messageId ?? null,
      error: event.error ?? null,
      recipients: event.recipients,
    };
    this.#write(`${this.#first ? "" : ",\n"}${JSON.stringify(entry)}`);
    this.#first = false;
  }

  /** Writes the summary and renames the file into place. */
  async finish(summary: BatchSummary): Promise<void> {
    this.#write(`\n],\n"summary":${JSON.stringify(summaryJson(summary))}}\n`);
    await this.#chain;
    this.#file.close();
    try {
      await Deno.rename(this.#temp, this.#path);
    } catch (err) {
      throw new SmimeError(
        "E_OUTPUT",
        `Cannot write the report ${this.#path}: ${fileErrorReason(err)}`,
      );
    }
  }

  /** Drops the unfinished report. */
  async abandon(): Promise<void> {
    await this.#chain.catch(() => {});
    try {
      this.#file.close();
    } catch { /* closed */ }
    await Deno.remove(this.#temp).catch(() => {});
  }

  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    this.#chain = this.#chain.then(async () => {
      let written = 0;
      while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
    });
  }
}
