/**
 * The journal: an append-only JSON Lines file with one line per recipient
 * outcome and one per finished message, each written to the kernel before
 * the next outcome is handled, so a crash or kill -9 loses nothing that was
 * recorded. `--resume` reads it back to skip what needs no more work.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import type { EnhancedStatus } from "../smtp/mod.ts";
import { fileErrorReason } from "../io.ts";
import { settled } from "../policy.ts";
import type { FinalStatus, Guarantee } from "../policy.ts";

export type { FinalStatus } from "../policy.ts";

/** One journal line. */
export type JournalEntry =
  | {
    type: "recipient";
    key: string;
    recipient: string;
    status: FinalStatus | "deferred";
    attempt: number;
    code?: number;
    enhanced?: EnhancedStatus;
    response: string;
    id?: string;
    /** The Message-ID sent (sealing adds one when the input had none). */
    message_id?: string;
    /** The reply to this attempt was lost after the message went out: it may arrive twice. */
    maybe_sent?: true;
    /** Final after such a lost reply: it may have been delivered more than once. */
    resent?: true;
    at: string;
  }
  | {
    type: "message";
    key: string;
    label: string;
    /** Every recipient of the message reached a final status. */
    done: boolean;
    /** Why the message could not be sealed or sent at all. */
    error?: { code: ErrorCode; reason: string };
    at: string;
  }
  | { type: "run"; event: "start" | "end"; at: string; resume: boolean };

/** What a previous run finished, for --resume. */
export interface ResumeState {
  /** Keys of messages with nothing left to send. */
  doneKeys: Set<string>;
  /** Per key, recipients (lower-cased) with nothing left to send, and their status. */
  finalRecipients: Map<string, Map<string, FinalStatus>>;
}

/** Appends entries, one write per entry, to the journal file. */
export class Journal {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #encoder = new TextEncoder();

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.#path = path;
  }

  /**
   * Opens `path` for appending (created with mode 0600).
   *
   * @throws {SmimeError} E_OUTPUT naming the file
   */
  static async open(path: string): Promise<Journal> {
    try {
      const file = await Deno.open(path, { read: true, append: true, create: true, mode: 0o600 });
      try {
        await dropTornLine(file);
      } catch (err) {
        file.close();
        throw err;
      }
      return new Journal(file, path);
    } catch (err) {
      throw new SmimeError("E_OUTPUT", `Cannot open the journal ${path}: ${fileErrorReason(err)}`);
    }
  }

  /**
   * Writes one entry; the line reaches the kernel before this resolves. The
   * write is synchronous: a line appended to a local file takes a few
   * microseconds, where an asynchronous write's trip through the runtime's
   * thread pool cost about 0.2 ms of CPU per message (three lines each).
   */
  // deno-lint-ignore require-await -- async, so that a failure is a rejection, as callers chain it
  async append(entry: JournalEntry): Promise<void> {
    const bytes = this.#encoder.encode(JSON.stringify(entry) + "\n");
    try {
      let written = 0;
      while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    } catch (err) {
      throw new SmimeError(
        "E_OUTPUT",
        `Cannot write the journal ${this.#path}: ${fileErrorReason(err)}`,
      );
    }
  }

  close(): void {
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }
}

/**
 * Cuts off a last line without its newline (a crash mid-write): readJournal
 * ignores it as the last line, but the next entry appended after it would
 * make it a broken line in the middle, which no later --resume could read.
 */
async function dropTornLine(file: Deno.FsFile): Promise<void> {
  const size = (await file.stat()).size;
  const buffer = new Uint8Array(4096);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buffer.length);
    const chunk = buffer.subarray(0, end - start);
    await file.seek(start, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < chunk.length) {
      const n = await file.read(chunk.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    const newline = chunk.subarray(0, filled).lastIndexOf(10);
    if (newline >= 0) {
      end = start + newline + 1;
      break;
    }
    end = start;
  }
  if (end < size) await file.truncate(end);
}

/**
 * Reads a journal line by line, streaming; a torn last line (the process
 * died mid-write) is ignored.
 */
export async function* readJournal(path: string): AsyncGenerator<JournalEntry> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw new SmimeError("E_INPUT", `Cannot read the journal ${path}: ${fileErrorReason(err)}`);
  }
  let pending = "";
  let number = 0;
  const parse = (line: string): JournalEntry => {
    try {
      return JSON.parse(line) as JournalEntry;
    } catch {
      throw new SmimeError("E_INPUT", `${path}: line ${number} is not a journal entry`);
    }
  };
  for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      number++;
      if (line.trim()) yield parse(line);
    }
  }
  // A last line without its newline was cut off by a crash: not an entry.
}

/**
 * What a journal says is finished, for --resume: each recipient's last
 * status decides, as the failure policy judges it under `guarantee` (a
 * possibly delivered recipient is sent again under at-least-once).
 */
export async function resumeState(
  path: string,
  guarantee: Guarantee = "at-least-once",
): Promise<ResumeState> {
  const marked = new Set<string>();
  const last = new Map<string, Map<string, FinalStatus | "deferred">>();
  for await (const entry of readJournal(path)) {
    if (entry.type === "message" && entry.done) marked.add(entry.key);
    if (entry.type !== "recipient") continue;
    const recipients = last.get(entry.key) ?? new Map<string, FinalStatus | "deferred">();
    recipients.set(entry.recipient.toLowerCase(), entry.status);
    last.set(entry.key, recipients);
  }
  const finalRecipients = new Map<string, Map<string, FinalStatus>>();
  for (const [key, recipients] of last) {
    const final = new Map<string, FinalStatus>();
    for (const [recipient, status] of recipients) {
      if (status !== "deferred" && settled(status, guarantee)) final.set(recipient, status);
    }
    if (final.size) finalRecipients.set(key, final);
    // A message marked done with a recipient still unsettled under this guarantee is not.
    if (final.size < recipients.size) marked.delete(key);
  }
  return { doneKeys: marked, finalRecipients };
}

/** How many messages and recipient outcomes a journal records (0 when it does not exist). */
export async function journalOutcomes(
  path: string,
): Promise<{ messages: number; recipients: number }> {
  const keys = new Set<string>();
  let recipients = 0;
  for await (const entry of readJournal(path)) {
    if (entry.type === "message") keys.add(entry.key);
    if (entry.type === "recipient") {
      recipients++;
      keys.add(entry.key);
    }
  }
  return { messages: keys.size, recipients };
}

/**
 * Refuses to start a run on a journal that already records outcomes: run
 * twice with one journal and everything would be sent twice, and a later
 * --resume could not tell the runs apart. --resume continues it; a new run
 * is an explicit choice (see {@link setJournalAside}).
 *
 * @throws {SmimeError} E_USAGE naming the file and what it holds
 */
export async function refuseUsedJournal(path: string): Promise<void> {
  const { messages, recipients } = await journalOutcomes(path);
  if (messages === 0) return;
  throw new SmimeError(
    "E_USAGE",
    `the journal ${path} already records ${messages} message(s) and ${recipients} recipient ` +
      "outcome(s): --resume to continue that run, --new-journal to keep it aside and start over",
  );
}

/**
 * Moves an existing journal aside as `PATH.YYYYMMDDTHHMMSSZ` so that a new
 * run starts on an empty one; the old outcomes stay on disk.
 *
 * @returns where the old journal went, or undefined when there was none
 * @throws {SmimeError} E_OUTPUT when it can't be renamed
 */
export async function setJournalAside(path: string, now = new Date()): Promise<string | undefined> {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const aside = `${path}.${stamp}`;
  try {
    await Deno.rename(path, aside);
    return aside;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new SmimeError(
      "E_OUTPUT",
      `Cannot set the journal ${path} aside: ${fileErrorReason(err)}`,
    );
  }
}
