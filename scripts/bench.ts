/**
 * `deno task bench [--json FILE]`: smimepost measured side by side with the
 * peers a user would pick instead, in one run, reported as one table and as
 * ratios. Figures from one run on a shared machine are only comparable with
 * each other.
 *
 *   1. sign+encrypt, no SMTP (19 KB and 577 KB plain messages): sealMessage()
 *      in-process; one `smimepost send --sign --encrypt` process per message;
 *      one `openssl cms -sign | openssl cms -encrypt` pipeline per message.
 *   2. raw injection of pre-built ~19 KB sealed messages into Postfix's
 *      `smtp-sink`: SmtpClient at 1/4/8 sessions (pipelined); `smtp-source -d`
 *      at 1/4/8 sessions; Python smtplib over one connection; one Python
 *      process per message.
 *   3. sign+encrypt+inject (a plain message that seals to ~19 KB): in-process
 *      seal then send at 1/4/8 sessions; one `smimepost send --send-smtp`
 *      process per message; `openssl | openssl | swaks` per message.
 *   4. the job queue (NATS JetStream, a local nats-server): `smimepost
 *      enqueue` of distinct messages, then 1, 2 and 3 `smimepost worker`
 *      processes sealing and delivering them, against one `smimepost send`
 *      run of the same messages. Skipped when nats-server is missing or
 *      BENCH_QUEUE=0.
 *
 * Needs openssl, postfix (smtp-sink, smtp-source), swaks, python3, bash and
 * GNU time (else CPU from bash `times` and no peak RSS for child processes).
 * BENCH_SCALE (default 1; 0.2 for a quick run) scales every message count
 * and duration; BENCH_DEPTH (default 4) is the sends in flight per SMTP
 * connection.
 *
 * @module
 */
import { KeyStore, loadPemBundle } from "../core/keys/mod.ts";
import { parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import { makeTestPki } from "./make_pki.ts";
import { startSink } from "./bench/measure.ts";
import { statement, toCrlfBytes, toLf } from "./bench/messages.ts";
import {
  type BenchContext,
  cliSealRow,
  cliSmtpRow,
  findPython,
  injectRow,
  opensslRow,
  opensslSwaksRow,
  opensslVerifyRow,
  pythonOneConnectionRow,
  pythonPerProcessRow,
  type Row,
  sealInjectRow,
  sealInProcessRow,
  smimepostBatchCliRow,
  smtpSourceRow,
  verifyFolderRow,
  writePeerScripts,
} from "./bench/rows.ts";
import { startNats } from "../core/queue/test_nats.ts";
import { enqueueOnly, enqueueRow, queueFolder, sendRunRow, workersRow } from "./bench/queue.ts";

function usage(): never {
  console.error("usage: deno task bench [--json FILE]   (env BENCH_SCALE=0.2 for a quick run)");
  Deno.exit(64);
}

let jsonFile: string | undefined;
for (let i = 0; i < Deno.args.length; i++) {
  const arg = Deno.args[i]!;
  if (arg === "--json" && Deno.args[i + 1]) jsonFile = Deno.args[++i];
  else if (arg.startsWith("--json=")) jsonFile = arg.slice("--json=".length);
  else usage();
}

const scale = Number(Deno.env.get("BENCH_SCALE") ?? "1");
const depth = Number(Deno.env.get("BENCH_DEPTH") ?? "4");
if (!(scale > 0) || !Number.isInteger(depth) || depth < 1) usage();
/** A count scaled by BENCH_SCALE, at least `min`. */
const scaled = (n: number, min: number) => Math.max(min, Math.round(n * scale));
const SESSIONS = [1, 4, 8];
/** Rounds of the raw injection rows (each well under a second at scale 1). */
const RAW_REPS = 3;
const counts = {
  sealSeconds: Math.max(0.5, 3 * scale),
  cliPerMessage: scaled(10, 3),
  opensslPerMessage: scaled(20, 5),
  inject: scaled(6000, 300),
  pythonOneConnection: scaled(1500, 75),
  pythonPerProcess: scaled(40, 5),
  sealInject: scaled(1200, 60),
  sendSmtpPerMessage: scaled(20, 4),
  verify: scaled(1000, 50),
  opensslSwaks: scaled(20, 4),
  queue: scaled(600, 40),
};
const QUEUE_SESSIONS = 4;
const WIRE_TARGET = 19_000;
const DISTINCT = 8;

const root = new URL("../", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "smimepost-bench-" });
const keysDir = `${work}/keys`;
let sink: Awaited<ReturnType<typeof startSink>> | undefined;
const onSignal = () => {
  sink?.stop().finally(() => Deno.exit(130));
  if (!sink) Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);

const log = (text: string) => console.error(`bench: ${text}`);

/** Seals `plain` once (outside any measurement) and returns the bytes. */
async function sealOnce(keys: KeyStore, plain: Uint8Array): Promise<Uint8Array> {
  const options = {
    sign: true,
    detached: false,
    encrypt: true,
    singleCopy: true,
    ecRecipients: "shared" as const,
  };
  return (await sealMessage(parseMessage(plain, "bench.eml"), keys, options)).copies[0]!.bytes;
}

/** Makes the input files; the wire message is sized so that its sealed form is ~19 KB. */
async function makeInputs(): Promise<BenchContext["files"] & { plainWireBytes: number }> {
  await makeTestPki(keysDir);
  const keys = new KeyStore({
    dir: keysDir,
    trustAnchors: loadPemBundle(await Deno.readFile(`${keysDir}/trust.pem`), "trust.pem"),
  });
  const plain19 = `${work}/plain-19k.eml`;
  const plain577 = `${work}/plain-577k.eml`;
  await Deno.writeFile(plain19, statement(19_000));
  await Deno.writeFile(plain577, statement(577_000));
  let plainSize = 10_000;
  for (let i = 0; i < 3; i++) {
    const sealed = (await sealOnce(keys, statement(plainSize))).length;
    if (Math.abs(sealed - WIRE_TARGET) < 300) break;
    plainSize = Math.round(plainSize * WIRE_TARGET / sealed);
  }
  const plainWire = `${work}/plain-wire.eml`;
  await Deno.writeFile(plainWire, statement(plainSize));
  const sealed: string[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    const file = `${work}/sealed-${i}.eml`;
    await Deno.writeFile(file, toLf(await sealOnce(keys, statement(plainSize, `bench-${i}`))));
    sealed.push(file);
  }
  const sealedCrlf = `${work}/sealed-0.crlf.eml`;
  await Deno.writeFile(sealedCrlf, toCrlfBytes(await Deno.readFile(sealed[0]!)));
  return { plain19, plain577, plainWire, sealed, sealedCrlf, plainWireBytes: plainSize };
}

async function loadAverage(): Promise<string> {
  const out = await new Deno.Command("cat", { args: ["/proc/loadavg"], stderr: "null" }).output()
    .catch(() => undefined);
  return new TextDecoder().decode(out?.stdout ?? new Uint8Array()).split(" ").slice(0, 3).join(" ");
}

const rows: Row[] = [];
const errors: string[] = [];
const sectionTitles: Record<string, string> = {};
let wire = { plain: 0, sealed: 0 };
let sealed19 = 0;
let sealed577 = 0;
const loadBefore = await loadAverage();
const started = performance.now();
try {
  log(`scale ${scale}, ${depth} sends in flight per connection; making keys and messages`);
  const files = await makeInputs();
  sink = await startSink(work);
  await writePeerScripts(work);
  const ctx: BenchContext = {
    root,
    work,
    keysDir,
    sink,
    python: await findPython(),
    depth,
    files,
  };
  wire = {
    plain: files.plainWireBytes,
    sealed: (await Deno.stat(files.sealedCrlf)).size,
  };
  /** Runs one row; a row that fails is reported and left out, the rest go on. */
  const measureRow = async <R extends Row>(
    what: string,
    run: () => Promise<R>,
  ): Promise<R | undefined> => {
    try {
      const row = await run();
      log(`${row.name}: ${(row.n / row.seconds).toFixed(1)} msg/s`);
      return row;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      errors.push(`${what}: ${reason.split("\n").slice(0, 3).join(" / ")}`);
      log(`FAILED ${what}: ${reason}`);
      return undefined;
    }
  };
  const add = async <R extends Row>(what: string, run: () => Promise<R>) => {
    const row = await measureRow(what, run);
    if (row) rows.push(row);
    return row;
  };

  for (const [size, file] of [["19", files.plain19], ["577", files.plain577]] as const) {
    const section = `seal-${size}`;
    log(`sign+encrypt ${size} KB`);
    const inProc = await add(
      `in-process sign+encrypt ${size} KB`,
      () => sealInProcessRow(ctx, `seal-inproc-${size}`, section, file, counts.sealSeconds),
    );
    if (size === "19") sealed19 = inProc?.sealedBytes ?? 0;
    else sealed577 = inProc?.sealedBytes ?? 0;
    await add(
      `smimepost send per message ${size} KB`,
      () => cliSealRow(ctx, `seal-cli-${size}`, section, file, counts.cliPerMessage),
    );
    await add(
      `openssl pipeline per message ${size} KB`,
      () => opensslRow(ctx, `seal-openssl-${size}`, section, file, counts.opensslPerMessage),
    );
  }
  sectionTitles["seal-19"] = `sign+encrypt, no SMTP: 19 KB plain message (${
    kb(sealed19)
  } sealed), 3 recipients`;
  sectionTitles["seal-577"] = `sign+encrypt, no SMTP: 577 KB plain message (${
    kb(sealed577)
  } sealed), 3 recipients`;

  sectionTitles.raw = `raw injection of pre-built sealed messages (${
    kb(wire.sealed)
  } on the wire, 2 RCPT) into smtp-sink`;
  // Short rows: RAW_REPS interleaved rounds, the median round (by msg/s) of each is kept.
  const rounds = new Map<string, Row[]>();
  for (let rep = 1; rep <= RAW_REPS; rep++) {
    for (const s of SESSIONS) {
      log(`raw injection, ${s} sessions, round ${rep} of ${RAW_REPS}`);
      const group = [
        { what: `raw injection, ${s} sessions`, run: () => injectRow(ctx, s, counts.inject) },
        { what: `smtp-source, ${s} sessions`, run: () => smtpSourceRow(ctx, s, counts.inject) },
      ];
      for (const { what, run } of group) {
        const row = await measureRow(what, run);
        if (row) rounds.set(row.key, [...rounds.get(row.key) ?? [], row]);
      }
    }
  }
  for (const runs of rounds.values()) {
    const sorted = runs.sort((a, b) => a.n / a.seconds - b.n / b.seconds);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    rows.push({ ...median, reps: runs.length });
  }
  log("Python peers");
  await add("Python one connection", () => pythonOneConnectionRow(ctx, counts.pythonOneConnection));
  await add(
    "Python one process per message",
    () => pythonPerProcessRow(ctx, counts.pythonPerProcess),
  );

  sectionTitles["seal+inject"] = `sign+encrypt+inject (${kb(wire.plain)} plain -> ${
    kb(wire.sealed)
  } sealed, 2 RCPT) into smtp-sink`;
  for (const s of SESSIONS) {
    log(`sign+encrypt+inject, ${s} sessions`);
    await add(`sign+encrypt+inject, ${s} sessions`, () => sealInjectRow(ctx, s, counts.sealInject));
  }
  log("per-message processes with SMTP");
  await add(
    "smimepost send --send-smtp per message",
    () => cliSmtpRow(ctx, counts.sendSmtpPerMessage),
  );
  await add(
    "openssl | openssl | swaks per message",
    () => opensslSwaksRow(ctx, counts.opensslSwaks),
  );
  sectionTitles.verify = `verify signed messages (opaque, RSA-2048 signer) against --trust`;
  log("verify");
  await add("smimepost verify FOLDER", () => verifyFolderRow(ctx, counts.verify));
  await add("openssl cms -verify per message", () => opensslVerifyRow(ctx, counts.verify));
  for (const s of [4, 8]) {
    log(`smimepost batch (CLI), ${s} sessions`);
    await add(
      `smimepost batch (CLI), ${s} sessions`,
      () =>
        smimepostBatchCliRow(ctx, counts.sealInject * 2, s, (folder) => [
          "send",
          folder,
          "--sign",
          "--encrypt",
          "--single-copy",
          "--keys",
          ctx.keysDir,
          "--send_smtp",
          "--sessions",
          String(s),
          "-q",
        ]),
    );
  }
  if (Deno.env.get("BENCH_QUEUE") !== "0") {
    log("the job queue (NATS JetStream)");
    const nats = await startNats().catch((err) => {
      const reason = err instanceof Error ? err.message : String(err);
      log(`queue rows skipped: cannot start nats-server: ${reason.split("\n")[0]}`);
      return undefined;
    });
    if (nats) {
      try {
        const n = counts.queue;
        sectionTitles.queue = `the job queue: sign+encrypt+inject of ${n} distinct messages ` +
          `(${kb(wire.plain)} plain, 2 RCPT) through NATS JetStream, ${QUEUE_SESSIONS} ` +
          `sessions per process`;
        const folder = await queueFolder(ctx, n, files.plainWireBytes);
        await add("smimepost send, one run", () => sendRunRow(ctx, folder, QUEUE_SESSIONS, n));
        await add("smimepost enqueue", () => enqueueRow(ctx, nats, folder, "BENCH1", n));
        for (const workers of [1, 2, 3]) {
          log(`${workers} worker(s)`);
          await add(`${workers} worker(s)`, async () => {
            if (workers > 1) await enqueueOnly(ctx, nats, folder, `BENCH${workers}`);
            return workersRow(ctx, nats, `BENCH${workers}`, workers, QUEUE_SESSIONS, n);
          });
        }
      } finally {
        await nats.close();
      }
    }
  }
} finally {
  await sink?.stop();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
const elapsed = (performance.now() - started) / 1000;

function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}

// ---- table ----

const rate = (r: Row) => r.n / r.seconds;
const cpuPerMessage = (r: Row) => r.cpuSeconds === undefined ? undefined : r.cpuSeconds / r.n;
const byKey = new Map(rows.map((r) => [r.key, r]));

const fmtRate = (v: number) => fmtNum(v);
const fmtMs = (v: number | undefined) => v === undefined ? "?" : fmtNum(v * 1000);

const header = [
  "",
  "msgs",
  "secs",
  "msg/s",
  "CPU s",
  "CPU ms/msg",
  "peak RSS MB",
  "sink CPU s",
  "NATS CPU s",
];
const lines: string[][] = [];
const titleAt = new Map<number, string>();
let section = "";
for (const r of rows) {
  if (r.section !== section) {
    section = r.section;
    titleAt.set(lines.length, sectionTitles[section] ?? section);
  }
  lines.push([
    r.name + (r.reps ? ` [median of ${r.reps}]` : "") +
    (r.failures ? ` (${r.failures} FAILED)` : ""),
    String(r.n),
    r.seconds.toFixed(2),
    fmtRate(rate(r)),
    r.cpuSeconds === undefined ? "?" : r.cpuSeconds.toFixed(2),
    fmtMs(cpuPerMessage(r)),
    r.peakRssKb === undefined ? "?" : (r.peakRssKb / 1024).toFixed(0),
    r.sinkCpuSeconds === undefined ? "" : r.sinkCpuSeconds.toFixed(2),
    r.natsCpuSeconds === undefined ? "" : r.natsCpuSeconds.toFixed(2),
  ]);
}
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const format = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");

console.log(
  `smimepost bench: BENCH_SCALE=${scale}, ${navigator.hardwareConcurrency} CPUs, ` +
    `load average ${loadBefore} at start, ${elapsed.toFixed(0)} s`,
);
console.log(
  "sign: RSA-2048, SHA-256, opaque; encrypt: AES-256-CBC to bob (RSA-3072), " +
    "carol (EC P-256), alice (RSA-2048, self copy)",
);
console.log();
console.log(format(header));
lines.forEach((line, i) => {
  const title = titleAt.get(i);
  if (title) console.log(`-- ${title}`);
  console.log(format(line));
});

if (errors.length) {
  console.log();
  for (const e of errors) console.log(`FAILED (left out): ${e}`);
}

// ---- ratios ----

interface Ratio {
  name: string;
  first: string;
  second: string;
  /** msg/s of the first over msg/s of the second. */
  speed: number;
  /** CPU ms per message of each. */
  cpuMsPerMsg?: [number, number];
}

function ratio(name: string, a: Row | undefined, b: Row | undefined): Ratio | undefined {
  if (!a || !b) return undefined;
  const ca = cpuPerMessage(a);
  const cb = cpuPerMessage(b);
  return {
    name,
    first: a.name,
    second: b.name,
    speed: rate(a) / rate(b),
    cpuMsPerMsg: ca !== undefined && cb !== undefined ? [ca * 1000, cb * 1000] : undefined,
  };
}

const bestSealInject = rows.filter((r) => r.key.startsWith("seal-inject-"))
  .sort((a, b) => rate(b) - rate(a))[0];
const bestBatch = rows.filter((r) => r.key.startsWith("cli-batch-"))
  .sort((a, b) => rate(b) - rate(a))[0];
const ratios = [
  ratio(
    "smimepost batch (sign+encrypt+inject) best / Python 1 process/msg",
    bestBatch,
    byKey.get("py-proc"),
  ),
  ratio(
    "smimepost batch (sign+encrypt+inject) best / openssl|openssl|swaks per msg",
    bestBatch,
    byKey.get("openssl-swaks"),
  ),
  ratio(
    "smimepost batch best / smimepost send --send-smtp, 1 process per msg",
    bestBatch,
    byKey.get("cli-smtp"),
  ),
  ratio(
    "raw injection, 8 sessions: SmtpClient / smtp-source",
    byKey.get("inject-8"),
    byKey.get("source-8"),
  ),
  ratio(
    "raw injection, 1 session: SmtpClient / smtp-source",
    byKey.get("inject-1"),
    byKey.get("source-1"),
  ),
  ratio(
    "sign+encrypt+inject best in-process / Python 1 process/msg",
    bestSealInject,
    byKey.get("py-proc"),
  ),
  ratio(
    "sign+encrypt+inject best in-process / openssl|openssl|swaks per msg",
    bestSealInject,
    byKey.get("openssl-swaks"),
  ),
  ratio(
    "smimepost send --send-smtp per msg / openssl|openssl|swaks per msg",
    byKey.get("cli-smtp"),
    byKey.get("openssl-swaks"),
  ),
  ratio(
    "sign+encrypt 19 KB: in-process / openssl|openssl per msg",
    byKey.get("seal-inproc-19"),
    byKey.get("seal-openssl-19"),
  ),
  ratio(
    "sign+encrypt 577 KB: in-process / openssl|openssl per msg",
    byKey.get("seal-inproc-577"),
    byKey.get("seal-openssl-577"),
  ),
  ratio(
    "sign+encrypt 19 KB: smimepost process / openssl|openssl per msg",
    byKey.get("seal-cli-19"),
    byKey.get("seal-openssl-19"),
  ),
  ratio(
    "verify: smimepost verify FOLDER / openssl cms -verify per msg",
    byKey.get("verify-cli"),
    byKey.get("verify-openssl"),
  ),
  ratio("queue: 1 worker / one send run", byKey.get("queue-workers-1"), byKey.get("queue-send")),
  ratio("queue: 2 workers / one send run", byKey.get("queue-workers-2"), byKey.get("queue-send")),
  ratio("queue: 3 workers / one send run", byKey.get("queue-workers-3"), byKey.get("queue-send")),
].filter((r): r is Ratio => r !== undefined);

console.log();
const nameWidth = Math.max(...ratios.map((r) => r.name.length));
console.log(
  `${"ratios (msg/s of the first / msg/s of the second)".padEnd(nameWidth + 2)}  msg/s  CPU ms/msg`,
);
for (const r of ratios) {
  const cpu = r.cpuMsPerMsg ? `${fmtNum(r.cpuMsPerMsg[0])} vs ${fmtNum(r.cpuMsPerMsg[1])}` : "?";
  console.log(`  ${r.name.padEnd(nameWidth)}  ${(r.speed.toFixed(2) + "x").padStart(6)}  ${cpu}`);
}
if (bestSealInject) console.log(`  (best in-process sign+encrypt+inject: ${bestSealInject.name})`);
const queueCost = queueCostMs();
if (queueCost) {
  console.log(
    `  queue cost per message: ${fmtNum(queueCost.total)} CPU ms (enqueue ` +
      `${fmtNum(queueCost.enqueue)}, worker over send ${fmtNum(queueCost.worker)}, ` +
      `nats-server ${fmtNum(queueCost.server)})`,
  );
}

/**
 * What the queue adds per message, in CPU ms: the enqueue process, the one
 * worker beyond one send run of the same messages, and nats-server for both.
 */
function queueCostMs():
  | { total: number; enqueue: number; worker: number; server: number }
  | undefined {
  const [enqueue, worker, send] = ["queue-enqueue", "queue-workers-1", "queue-send"]
    .map((key) => byKey.get(key));
  const per = (r: Row | undefined) => cpuPerMessage(r!);
  if (!enqueue || !worker || !send || [enqueue, worker, send].some((r) => per(r) === undefined)) {
    return undefined;
  }
  const server = ((enqueue.natsCpuSeconds ?? 0) + (worker.natsCpuSeconds ?? 0)) / worker.n;
  const costs = {
    enqueue: per(enqueue)! * 1000,
    worker: (per(worker)! - per(send)!) * 1000,
    server: server * 1000,
  };
  return { total: costs.enqueue + costs.worker + costs.server, ...costs };
}

function fmtNum(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

console.log(`
how to read this:
  - One run on a shared machine: compare rows and ratios of this run only, never absolute
    figures across runs. "CPU ms/msg" is steadier than msg/s when other work competes for cores.
  - msg/s is messages / wall seconds. In-process rows (a fresh Deno process per row) time the
    loop only: start-up and key loading are excluded. "1 process/msg" rows and smtp-source
    time everything. Python 1-connection times the sends (its own clock), not start-up.
    Raw injection rows are the median of ${RAW_REPS} interleaved rounds; the others ran once.
  - CPU s is user+system of the measured process(es): for in-process rows the process's
    cpuUsage() over the loop (all threads); for the rest the whole process tree (GNU time).
    smtp-sink's own CPU is not in it: it is the "sink CPU s" column. On 2 cores, client and
    sink compete: at 4-8 sessions the sink, not the client, can set the ceiling.
  - peak RSS is the largest single process (in-process rows: the row's process, whole life).
  - smtp-source sends the same sealed file without pipelining; SmtpClient pipelines the next
    envelope behind the final dot (${depth} in flight per connection).
  - The Python rows send pre-built messages: no signing or encryption, so the seal+inject
    ratios against them understate what a Python tool that also signs would cost.
  - Queue rows: each worker process seals on its own threads (one per core), so on this
    machine two or three workers share the same cores as one: they show the queue's cost,
    not a speed-up. Worker rows time from the processes' start to the last exit, start-up and
    the final "queue empty" check (about a second) included; "NATS CPU s" is nats-server's.`);

if (jsonFile) {
  const out = {
    generated: new Date().toISOString(),
    scale,
    depth,
    cpus: navigator.hardwareConcurrency,
    loadAverageAtStart: loadBefore,
    seconds: elapsed,
    messages: { wirePlainBytes: wire.plain, wireSealedBytes: wire.sealed, sealed19, sealed577 },
    sections: sectionTitles,
    rows: rows.map((r) => ({
      ...r,
      msgPerSec: rate(r),
      cpuMsPerMsg: cpuPerMessage(r) === undefined ? undefined : cpuPerMessage(r)! * 1000,
    })),
    ratios,
  };
  await Deno.writeTextFile(jsonFile, JSON.stringify(out, null, 2) + "\n");
  console.error(`bench: table written to ${jsonFile}`);
}
if (errors.length) Deno.exitCode = 1;
