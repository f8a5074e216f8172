/**
 * The in-process rows of `deno task bench`, each run in a fresh process of
 * its own (started by scripts/bench.ts) so that its peak RSS is its own:
 * Deno refuses /proc/self/status without --allow-all, and getrusage()'s
 * maxRSS (node:process resourceUsage) cannot be reset between rows.
 *
 *     deno run --allow-read --allow-net --allow-ffi scripts/bench/inprocess.ts '<JSON task>'
 *
 * Prints one JSON {@link InProcessResult} line on stdout. CPU time is the
 * process's (all threads) during the measured loop only; the timed loop
 * excludes process start-up and key loading.
 *
 * @module
 */
import process from "node:process";
import { KeyStore, loadPemBundle } from "../../core/keys/mod.ts";
import { parseMessage } from "../../core/message/mod.ts";
import { sealMessage, type SealOptions } from "../../core/pipeline.ts";
import { SmtpClient, type SmtpEnvelope, type SmtpSendResult } from "../../core/smtp/mod.ts";

/** sealMessage() one message after another for `seconds`. */
export interface SealTask {
  mode: "seal";
  keysDir: string;
  file: string;
  seconds: number;
}

/** Where the SMTP rows send, and how. */
interface SmtpTask {
  host: string;
  port: number;
  /** SmtpClient connections. */
  sessions: number;
  /** Sends in flight per connection (pipelined behind the final dot). */
  depth: number;
  /** Messages in all. */
  count: number;
}

/** Pre-built sealed messages, sent round robin. */
export interface InjectTask extends SmtpTask {
  mode: "inject";
  /** Files of sealed messages (any line ends). */
  files: string[];
  sender: string;
  recipients: string[];
}

/** sealMessage() each message, then send its copies. */
export interface SealInjectTask extends SmtpTask {
  mode: "seal-inject";
  keysDir: string;
  file: string;
}

/** What the parent asks for. */
export type InProcessTask = SealTask | InjectTask | SealInjectTask;

/** What the child reports. */
export interface InProcessResult {
  /** Messages done in the measured loop. */
  n: number;
  /** Wall seconds of the measured loop. */
  seconds: number;
  /** User + system CPU seconds of the whole process during the loop. */
  cpuSeconds: number;
  /** Peak RSS of the process so far (getrusage maxRSS), KiB. */
  peakRssKb: number;
  /** Sends not accepted by the server. */
  failures: number;
  /** Size of the (first) message on the wire, bytes. */
  bytes: number;
}

// One copy for everyone (EC recipients included): the same work as the openssl peers.
const SEAL: SealOptions = {
  sign: true,
  detached: false,
  encrypt: true,
  singleCopy: true,
  ecRecipients: "shared",
};

async function keyStore(dir: string): Promise<KeyStore> {
  return new KeyStore({
    dir,
    trustAnchors: loadPemBundle(await Deno.readFile(`${dir}/trust.pem`), "trust.pem"),
  });
}

function measure(): () => { seconds: number; cpuSeconds: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      seconds: (performance.now() - start) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
    };
  };
}

async function runSeal(task: SealTask): Promise<InProcessResult> {
  const keys = await keyStore(task.keysDir);
  const bytes = await Deno.readFile(task.file);
  let size = 0;
  for (let i = 0; i < 5; i++) {
    size = (await sealMessage(parseMessage(bytes, "bench.eml"), keys, SEAL)).copies[0]!.bytes
      .length;
  }
  let n = 0;
  const stop = measure();
  const start = performance.now();
  while (performance.now() - start < task.seconds * 1000) {
    await sealMessage(parseMessage(bytes, "bench.eml"), keys, SEAL);
    n++;
  }
  return { n, ...stop(), peakRssKb: process.resourceUsage().maxRSS, failures: 0, bytes: size };
}

/** One message's copies, ready to send. */
interface Outbound {
  envelope: SmtpEnvelope;
  bytes: Uint8Array;
}

function accepted(result: SmtpSendResult): boolean {
  return !!result.data && result.data.code < 300 && result.recipients.every((r) => r.accepted);
}

/**
 * Opens `sessions` connections and runs `depth` workers per connection;
 * each worker takes the next message number, makes the message and awaits
 * its sends, so up to `depth` sends are queued on each connection.
 */
async function pump(
  task: SmtpTask,
  make: (i: number) => Promise<Outbound[]>,
): Promise<{ failures: number }> {
  const clients = Array.from(
    { length: task.sessions },
    () => new SmtpClient({ host: task.host, port: task.port, tls: { mode: "never" } }),
  );
  await Promise.all(clients.map((c) => c.connect()));
  let issued = 0;
  let failures = 0;
  const worker = async (client: SmtpClient) => {
    for (let i = issued++; i < task.count; i = issued++) {
      for (const out of await make(i)) {
        if (!accepted(await client.send(out.envelope, out.bytes))) failures++;
      }
    }
  };
  const workers = clients.flatMap((c) => Array.from({ length: task.depth }, () => worker(c)));
  try {
    await Promise.all(workers);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  return { failures };
}

async function runInject(task: InjectTask): Promise<InProcessResult> {
  const envelope = { from: task.sender, to: task.recipients };
  const messages = await Promise.all(
    task.files.map(async (f) => ({ envelope, bytes: await Deno.readFile(f) })),
  );
  const stop = measure();
  const { failures } = await pump(task, (i) => Promise.resolve([messages[i % messages.length]!]));
  const m = stop();
  const peakRssKb = process.resourceUsage().maxRSS;
  return { n: task.count, ...m, peakRssKb, failures, bytes: messages[0]!.bytes.length };
}

async function runSealInject(task: SealInjectTask): Promise<InProcessResult> {
  const keys = await keyStore(task.keysDir);
  const bytes = await Deno.readFile(task.file);
  const options = { ...SEAL, singleCopy: false };
  // Loads and checks the keys before the clock starts, as a long batch would have.
  const first = await sealMessage(parseMessage(bytes, "bench.eml"), keys, options);
  const stop = measure();
  const { failures } = await pump(task, async (i) => {
    const sealed = await sealMessage(parseMessage(bytes, `bench-${i}.eml`), keys, options);
    return sealed.copies.map((c) => ({
      envelope: { from: c.sender, to: c.recipients },
      bytes: c.bytes,
    }));
  });
  const m = stop();
  const peakRssKb = process.resourceUsage().maxRSS;
  return { n: task.count, ...m, peakRssKb, failures, bytes: first.copies[0]!.bytes.length };
}

/** Runs one task in this process. */
export function runTask(task: InProcessTask): Promise<InProcessResult> {
  switch (task.mode) {
    case "seal":
      return runSeal(task);
    case "inject":
      return runInject(task);
    case "seal-inject":
      return runSealInject(task);
  }
}

if (import.meta.main) {
  const task = JSON.parse(Deno.args[0] ?? "null") as InProcessTask | null;
  if (!task) {
    console.error(
      "usage: deno run --allow-read --allow-net --allow-ffi scripts/bench/inprocess.ts '<JSON>'",
    );
    Deno.exit(64);
  }
  console.log(JSON.stringify(await runTask(task)));
}
