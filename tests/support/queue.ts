/**
 * Helpers for the job-queue tests: CLI processes that run in the
 * background (workers), messages written to a folder, and a direct look at
 * the run's consumer on the server.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { compileRuntimeFlags } from "../../scripts/run_cli.ts";
import type { CliRun } from "../../scripts/run_cli.ts";

/** A CLI process running in the background. */
export interface CliProcess {
  pid: number;
  /** Resolves with what it printed when it exits. */
  done: Promise<CliRun>;
  /** Sends a signal (SIGTERM, SIGKILL...). */
  kill(signal: Deno.Signal): void;
}

/** Starts `cli.ts` with `args` under the compile task's permissions, in the background. */
export async function spawnCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliProcess> {
  const flags = await compileRuntimeFlags();
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, cli, ...args],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const done = child.output().then(({ code, stdout, stderr }) => ({
    code,
    stdout,
    stderr: new TextDecoder().decode(stderr),
    text: new TextDecoder().decode(stdout),
  }));
  return {
    pid: child.pid,
    done,
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch { /* exited */ }
    },
  };
}

/** One test message with CRLF line ends, a Date, and (unless `id` is null) a Message-ID. */
export function testMessage(
  n: number,
  options: { id?: string | null; to?: string; body?: string } = {},
): string {
  const id = options.id === undefined ? `<m${n}.${crypto.randomUUID()}@example.com>` : options.id;
  const lines = [
    "Date: Thu, 04 Dec 2025 10:00:00 +0000",
    "From: Alice <alice@example.com>",
    `To: ${options.to ?? `user${n}@example.net`}`,
    `Subject: message ${n}`,
    ...(id === null ? [] : [`Message-ID: ${id}`]),
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    options.body ?? `Hello ${n},\n.a line with a leading dot\nbye`,
  ];
  return lines.join("\n").replaceAll("\n", "\r\n") + "\r\n";
}

/** Writes `count` messages as `m0001.eml`... into `dir`; returns their texts by file name. */
export async function writeMessages(dir: string, count: number): Promise<Map<string, string>> {
  await Deno.mkdir(dir, { recursive: true });
  const written = new Map<string, string>();
  for (let i = 1; i <= count; i++) {
    const name = `m${String(i).padStart(4, "0")}.eml`;
    const text = testMessage(i);
    await Deno.writeTextFile(`${dir}/${name}`, text);
    written.set(name, text);
  }
  return written;
}

/** The Message-ID of a message text. */
export function messageIdOf(text: string): string | undefined {
  return /^Message-ID: (.*)$/im.exec(text)?.[1]?.trim();
}

/** The workers' consumer of a run, as the server counts it. */
export async function consumerState(
  url: string,
  stream: string,
  login: { user?: string; pass?: string } = {},
): Promise<{ pending: number; ackPending: number; results: number; objects: number }> {
  const nc = await connect({ servers: url, ...login });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info(stream, "smimepost-workers");
    const results = await jsm.streams.info(`${stream}_RESULTS`);
    // Objects not deleted (a deleted one leaves a marker in the bucket's stream).
    const objects = await new Objm(nc).open(stream).then(
      async (store) => (await store.list()).filter((o) => !o.deleted).length,
      () => 0,
    );
    return {
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
      results: results.state.messages,
      objects,
    };
  } finally {
    await nc.close();
  }
}

/** Every stored message of a stream, as text (to look for secrets). */
export async function streamTexts(
  url: string,
  stream: string,
  login: { user?: string; pass?: string } = {},
): Promise<string[]> {
  const nc = await connect({ servers: url, ...login });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const texts: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!m) continue;
      const headers = m.header ? m.header.keys().map((k) => `${k}: ${m.header.get(k)}`) : [];
      texts.push([...headers, new TextDecoder().decode(m.data)].join("\n"));
    }
    return texts;
  } finally {
    await nc.close();
  }
}

/** Waits until `check` is true, polling; throws after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
