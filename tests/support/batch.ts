/**
 * Helpers for the batch-runner proof tests (batch_test.ts, resume_test.ts):
 * generated runs of messages, the CLI as a child process that can be killed,
 * and readers for the journal, the report and what a server stored.
 *
 * @module
 */
import { compileRuntimeFlags } from "../../scripts/run_cli.ts";
import { testPki } from "./helpers.ts";

const ROOT = new URL("../../", import.meta.url);
const decoder = new TextDecoder();

/** Variables a run must not inherit from the test runner's environment. */
export const CLEAN_ENV: Record<string, string> = {
  SMTP_HOST: "",
  SMTP_PORT: "",
  SMTP_USER: "",
  SMTP_PASSWORD: "",
  SMTP_TLS: "",
  SMTP_CA_FILE: "",
  SPARKPOST_API_KEY: "",
  SPARKPOST_HOST: "",
  SMIMEPOST_KEYS: "",
  SMIMEPOST_TRUST: "",
  SMIMEPOST_NATS_URL: "",
  SMIMEPOST_NATS_STREAM: "",
  SMIMEPOST_NATS_USER: "",
  SMIMEPOST_NATS_PASSWORD: "",
  SMIMEPOST_NATS_TOKEN: "",
  SMIMEPOST_NATS_CREDS: "",
};

/** One generated message and the envelope recipients it should reach. */
export interface Planned {
  file: string;
  messageId: string;
  recipients: string[];
}

/** What a message of a generated run looks like. */
export interface MessageSpec {
  /** Extra Cc addresses. */
  cc?: string[];
  bcc?: string[];
  /** Body size in bytes (about); default a few lines. */
  bodyBytes?: number;
}

/**
 * Writes `count` messages to `dir` (nested one level, to exercise the
 * recursive folder walk): From alice@example.com, To bob@example.com, Cc
 * carol@example.net, each with a unique Message-ID, plus what `spec(i)` adds.
 */
export async function writeRun(
  dir: string,
  count: number,
  tag: string,
  spec: (i: number) => MessageSpec = () => ({}),
): Promise<Planned[]> {
  const planned: Planned[] = [];
  for (let i = 1; i <= count; i++) {
    const s = spec(i);
    const folder = `${dir}/part${i % 3}`;
    await Deno.mkdir(folder, { recursive: true });
    const messageId = `<${tag}-${i}.${crypto.randomUUID().slice(0, 8)}@batch.example>`;
    const cc = ["carol@example.net", ...(s.cc ?? [])];
    const body = s.bodyBytes
      ? ("x".repeat(76) + "\n").repeat(Math.ceil(s.bodyBytes / 77))
      : `Statement ${i} of ${count}.\n.a leading dot\n\nbye\n`;
    const text =
      `From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\nCc: ${cc.join(", ")}\n` +
      (s.bcc?.length ? `Bcc: ${s.bcc.join(", ")}\n` : "") +
      `Subject: statement ${i}\nMessage-ID: ${messageId}\n` +
      `Date: Sat, 28 Nov 2026 09:00:00 +0000\n\n${body}`;
    const file = `${folder}/${String(i).padStart(4, "0")}.eml`;
    await Deno.writeTextFile(file, text);
    planned.push({ file, messageId, recipients: ["bob@example.com", ...cc, ...(s.bcc ?? [])] });
  }
  return planned;
}

/** The key options every run needs: the test PKI and its trust anchor. */
export async function keyArgs(): Promise<string[]> {
  const pki = await testPki();
  return ["--keys", pki, "--trust", `${pki}/trust.pem`];
}

/** A finished CLI run. */
export interface Finished {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process (compile-task permissions), killable. */
export class CliProcess {
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<Deno.CommandOutput>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#output = child.output();
  }

  /**
   * @param options `stdin: true` gives a pipe to write to ({@link stdin});
   *   otherwise stdin is /dev/null
   */
  static async start(
    args: string[],
    options: { cwd: string; env?: Record<string, string>; stdin?: boolean },
  ): Promise<CliProcess> {
    const flags = await compileRuntimeFlags();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...flags,
        new URL("cli.ts", ROOT).pathname,
        ...args,
      ],
      cwd: options.cwd,
      env: { ...CLEAN_ENV, XDG_CONFIG_HOME: `${options.cwd}/xdg`, ...options.env },
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new CliProcess(child);
  }

  /** The child's stdin, when started with `stdin: true`. */
  get stdin(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** SIGKILL (no-op when it has already exited). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
  }

  async finished(): Promise<Finished> {
    const out = await this.#output;
    return {
      code: out.code,
      signal: out.signal,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  }
}

/** Runs the CLI to its end. */
export async function runToEnd(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Finished> {
  return await (await CliProcess.start(args, options)).finished();
}

/** A journal line (only the fields the tests read). */
export interface JournalLine {
  type: "recipient" | "message" | "run";
  key?: string;
  recipient?: string;
  status?: string;
  attempt?: number;
  code?: number;
  response?: string;
  /** The queue id (SMTP) or transmission id (API) where an accepted copy went. */
  id?: string;
  message_id?: string;
  /** A recipient's reply was lost after the message went out: the next try may duplicate it. */
  maybe_sent?: boolean;
  /** A final status reached after such a lost reply. */
  resent?: boolean;
  done?: boolean;
  event?: string;
}

/** Every complete line of a journal (a torn last line is ignored, as --resume does). */
export async function readJournalLines(path: string): Promise<JournalLine[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const lines = text.split("\n");
  lines.pop(); // "" after the last newline, or a torn line
  return lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as JournalLine);
}

/** `messageId \t recipient` (recipient lower-cased): the unit counted everywhere. */
export function pairKey(messageId: string, recipient: string): string {
  return `${messageId}\t${recipient.toLowerCase()}`;
}

/**
 * Per (Message-ID, recipient): the last status the journal gives, and every
 * status in order.
 */
export function journalStatuses(
  lines: JournalLine[],
): Map<string, { last: JournalLine; all: JournalLine[] }> {
  const out = new Map<string, { last: JournalLine; all: JournalLine[] }>();
  for (const line of lines) {
    if (line.type !== "recipient") continue;
    const key = pairKey(line.message_id!, line.recipient!);
    const entry = out.get(key) ?? { last: line, all: [] };
    entry.last = line;
    entry.all.push(line);
    out.set(key, entry);
  }
  return out;
}

/** The value of the first `name` header field of a raw message (unfolded, trimmed). */
export function headerOf(bytes: Uint8Array, name: string): string | undefined {
  const text = decoder.decode(bytes.subarray(0, Math.min(bytes.length, 64 * 1024)));
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
  const wanted = name.toLowerCase() + ":";
  for (const line of head.split(/\r?\n/)) {
    if (line.toLowerCase().startsWith(wanted)) return line.slice(wanted.length).trim();
  }
  return undefined;
}

/** Counts occurrences. */
export function tally(keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** A scratch folder removed after `fn`. */
export async function inScratch<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
