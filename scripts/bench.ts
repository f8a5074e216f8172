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
 *   4. the race: the CLI batch over SMTP into smtp-sink against the
 *      sparkpost-api plugin into a local transmissions endpoint, for messages
 *      that seal to ~19 KB and ~577 KB (race.ts).
 *   5. memory: peak RSS of one ~50 MB message sealed to stdout, to -o, into
 *      smtp-sink, and decrypted, against 4x its size (memory.ts).
 *   6. the crypto floor: `openssl speed` in the same run gives what the
 *      unavoidable crypto of one message costs; the CLI batch's CPU per
 *      message is printed as a multiple of it (floor.ts).
 *   7. the job queue (NATS JetStream, a local nats-server): `smimepost
 *      enqueue` of distinct messages, then 1, 2 and 3 `smimepost worker`
 *      processes sealing and delivering them, against one `smimepost send`
 *      run of the same messages. Skipped when nats-server is missing or
 *      BENCH_QUEUE=0.
 *
 * Needs openssl, postfix (smtp-sink, smtp-source), swaks, python3, bash and
 * GNU time (else CPU from bash `times` and no peak RSS for child processes).
 * BENCH_SCALE (default 1; 0.2 for a quick run) scales every message count
 * and duration; BENCH_DEPTH (default 4) is the sends in flight per SMTP
 * connection; BENCH_ONLY (a comma list of seal, raw, python, seal+inject,
 * per-message, verify, batch, race, memory, floor, queue) runs only those groups, for
 * working on one of them (ratios need the rows they compare).
 *
 * @module
 */
import { KeyStore, loadPemBundle } from "../core/keys/mod.ts";
import { parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import { makeTestPki } from "./make_pki.ts";
import { type Sink, startApiSink, startSink } from "./bench/measure.ts";
import { canonicalEntity } from "../core/message/mod.ts";
import { signEntity } from "../core/smime/seal.ts";
import { cryptoFloor, type FloorWorkload, measureOpensslSpeed } from "./bench/floor.ts";
import { raceRow, type RaceTransport } from "./bench/race.ts";
import { memoryRows } from "./bench/memory.ts";
import { SENDER, statement, toCrlfBytes, toLf } from "./bench/messages.ts";
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
const GROUPS = [
  "seal",
  "raw",
  "python",
  "seal+inject",
  "per-message",
  "verify",
  "batch",
  "race",
  "memory",
  "floor",
];
const only = Deno.env.get("BENCH_ONLY")?.split(",").map((g) => g.trim()).filter(Boolean);
if (only?.some((g) => !GROUPS.includes(g))) usage();
/** True when BENCH_ONLY is unset or names the group. */
const want = (group: string) => !only || only.includes(group);
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
  race19: scaled(1200, 60),
  race577: scaled(120, 10),
};
const QUEUE_SESSIONS = 4;
/** --sessions of the race rows, SMTP and API alike. */
const RACE_SESSIONS = 4;
const WIRE_TARGET = 19_000;
const LARGE_TARGET = 577_000;
const DISTINCT = 8;

const root = new URL("../", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "smimepost-bench-" });
const keysDir = `${work}/keys`;
let sink: Sink | undefined;
let apiSink: Sink | undefined;
const onSignal = () => {
  Promise.all([sink?.stop(), apiSink?.stop()]).finally(() => Deno.exit(130));
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

/** The size of a plain statement whose sealed form is about `target` bytes. */
async function plainSizeFor(keys: KeyStore, target: number): Promise<number> {
  let plainSize = Math.round(target / 2);
  for (let i = 0; i < 4; i++) {
    const sealed = (await sealOnce(keys, statement(plainSize))).length;
    if (Math.abs(sealed - target) < target / 60) break;
    plainSize = Math.round(plainSize * target / sealed);
  }
  return plainSize;
}

/** The bytes one message puts through SHA-256 (signed) and AES (encrypted). */
async function floorWorkload(keys: KeyStore, plain: Uint8Array): Promise<FloorWorkload> {
  const { entity } = canonicalEntity(parseMessage(plain, "bench.eml"));
  const signer = await keys.signerFor(SENDER);
  const signed = await signEntity({ stage: "plain", entity }, signer.identity, {
    detached: false,
  });
  return { signedBytes: entity.length, encryptedBytes: signed.entity.length };
}

/** Makes the input files; the wire message is sized so that its sealed form is ~19 KB. */
async function makeInputs(): Promise<
  BenchContext["files"] & { plainWireBytes: number; plainLarge: string; floor: FloorWorkload }
> {
  await makeTestPki(keysDir);
  const keys = new KeyStore({
    dir: keysDir,
    trustAnchors: loadPemBundle(await Deno.readFile(`${keysDir}/trust.pem`), "trust.pem"),
  });
  const plain19 = `${work}/plain-19k.eml`;
  const plain577 = `${work}/plain-577k.eml`;
  await Deno.writeFile(plain19, statement(19_000));
  await Deno.writeFile(plain577, statement(577_000));
  const plainSize = await plainSizeFor(keys, WIRE_TARGET);
  const plainWire = `${work}/plain-wire.eml`;
  await Deno.writeFile(plainWire, statement(plainSize));
  const plainLarge = `${work}/plain-wire-577k.eml`;
  await Deno.writeFile(plainLarge, statement(await plainSizeFor(keys, LARGE_TARGET)));
  const sealed: string[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    const file = `${work}/sealed-${i}.eml`;
    await Deno.writeFile(file, toLf(await sealOnce(keys, statement(plainSize, `bench-${i}`))));
    sealed.push(file);
  }
  const sealedCrlf = `${work}/sealed-0.crlf.eml`;
  await Deno.writeFile(sealedCrlf, toCrlfBytes(await Deno.readFile(sealed[0]!)));
  return {
    plain19,
    plain577,
    plainWire,
    sealed,
    sealedCrlf,
    plainWireBytes: plainSize,
    plainLarge,
    floor: await floorWorkload(keys, statement(plainSize)),
  };
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
let floorWork: FloorWorkload | undefined;
let speed: Awaited<ReturnType<typeof measureOpensslSpeed>> | undefined;
const raceSealed: Record<string, number> = {};
let large: { plainBytes: number; sealedBytes: number } | undefined;
/** CPU seconds per message of a CLI batch without start-up: medians of paired rounds. */
let batchMarginal: { cpuSeconds: number; messages: number; rounds: number } | undefined;
const loadBefore = await loadAverage();
const started = performance.now();
try {
  log(`scale ${scale}, ${depth} sends in flight per connection; making keys and messages`);
  const files = await makeInputs();
  floorWork = files.floor;
  log("openssl speed, for the crypto floor (about 7 s)");
  speed = !want("floor") ? undefined : await measureOpensslSpeed().catch((err) => {
    errors.push(`openssl speed: ${err instanceof Error ? err.message : err}`);
    return undefined;
  });
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

  for (
    const [size, file] of want("seal")
      ? [["19", files.plain19], ["577", files.plain577]] as const
      : []
  ) {
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
  for (let rep = 1; want("raw") && rep <= RAW_REPS; rep++) {
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
  if (want("python")) {
    log("Python peers");
    await add(
      "Python one connection",
      () => pythonOneConnectionRow(ctx, counts.pythonOneConnection),
    );
    await add(
      "Python one process per message",
      () => pythonPerProcessRow(ctx, counts.pythonPerProcess),
    );
  }

  sectionTitles["seal+inject"] = `sign+encrypt+inject (${kb(wire.plain)} plain -> ${
    kb(wire.sealed)
  } sealed, 2 RCPT) into smtp-sink`;
  for (const s of want("seal+inject") ? SESSIONS : []) {
    log(`sign+encrypt+inject, ${s} sessions`);
    await add(`sign+encrypt+inject, ${s} sessions`, () => sealInjectRow(ctx, s, counts.sealInject));
  }
  if (want("per-message")) {
    log("per-message processes with SMTP");
    await add(
      "smimepost send --send-smtp per message",
      () => cliSmtpRow(ctx, counts.sendSmtpPerMessage),
    );
    await add(
      "openssl | openssl | swaks per message",
      () => opensslSwaksRow(ctx, counts.opensslSwaks),
    );
  }
  sectionTitles.verify = `verify signed messages (opaque, RSA-2048 signer) against --trust`;
  if (want("verify")) {
    log("verify");
    await add("smimepost verify FOLDER", () => verifyFolderRow(ctx, counts.verify));
    await add("openssl cms -verify per message", () => opensslVerifyRow(ctx, counts.verify));
  }
  const batchArgs = (s: number) => (folder: string) => [
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
  ];
  for (const s of want("batch") ? [4, 8] : []) {
    log(`smimepost batch (CLI), ${s} sessions`);
    await add(
      `smimepost batch (CLI), ${s} sessions`,
      () => smimepostBatchCliRow(ctx, counts.sealInject * 2, s, batchArgs(s)),
    );
  }
  if (want("batch")) {
    // The run a bank makes: every outcome journaled, a report, and recipients' paths checked.
    log("smimepost batch (CLI), 4 sessions, --journal --report --trust");
    await add(
      "smimepost batch (CLI), 4 sessions, --journal --report --trust",
      () =>
        smimepostBatchCliRow(ctx, counts.sealInject * 2, 4, (folder) => [
          ...batchArgs(4)(folder),
          "--journal",
          `${folder}.journal`,
          "--report",
          `${folder}.report`,
          "--trust",
          `${ctx.keysDir}/trust.pem`,
        ], "cli-batch-journal-4"),
    );
    // A quarter of the messages: the difference from the full run is the CPU
    // of the messages alone, without start-up (the crypto floor's ratio).
    log("smimepost batch (CLI), 4 sessions, a quarter of the messages");
    await add(
      "smimepost batch (CLI), 4 sessions, a quarter",
      () => smimepostBatchCliRow(ctx, counts.sealInject / 2, 4, batchArgs(4), "cli-quarter-4"),
    );
    // One difference of two single runs moves with the load: three more
    // pairs, the whole and the quarter in turn, and the median difference.
    const differences: number[] = [];
    for (let round = 1; round <= 3; round++) {
      log(`smimepost batch (CLI), the whole and a quarter in turn, round ${round} of 3`);
      const pair = [];
      for (const n of [counts.sealInject * 2, counts.sealInject / 2]) {
        pair.push(await smimepostBatchCliRow(ctx, n, 4, batchArgs(4), `cli-pair-${n}`));
      }
      const [whole, quarter] = pair as [Row, Row];
      if (whole.cpuSeconds !== undefined && quarter.cpuSeconds !== undefined) {
        differences.push((whole.cpuSeconds - quarter.cpuSeconds) / (whole.n - quarter.n));
      }
    }
    if (differences.length > 0) {
      batchMarginal = {
        cpuSeconds: differences.sort((a, b) => a - b)[Math.floor((differences.length - 1) / 2)]!,
        messages: counts.sealInject * 2 - counts.sealInject / 2,
        rounds: differences.length,
      };
    }
  }
  if (want("race")) {
    log("the race: SMTP into smtp-sink against the transmissions API into a local endpoint");
    apiSink = await startApiSink();
  }
  const raceSizes = [
    ["19", files.plainWire, counts.race19],
    ["577", files.plainLarge, counts.race577],
  ] as const;
  for (const [size, file, n] of want("race") ? raceSizes : []) {
    raceSealed[size] = (await sealOnce(
      new KeyStore({
        dir: keysDir,
        trustAnchors: loadPemBundle(await Deno.readFile(`${keysDir}/trust.pem`), "trust.pem"),
      }),
      await Deno.readFile(file),
    )).length;
    sectionTitles[`race-${size}`] = `the race, sign+encrypt+deliver (${
      kb(raceSealed[size]!)
    } sealed, 2 recipients), ${RACE_SESSIONS} sessions: SMTP vs transmissions API`;
    for (const transport of ["smtp", "api"] as RaceTransport[]) {
      const target = transport === "smtp" ? sink : apiSink!;
      await add(
        `race ${transport} ${size} KB`,
        () => raceRow(ctx, { transport, size, file, n, sessions: RACE_SESSIONS, target }),
      );
    }
  }
  if (want("memory")) {
    log("memory: one ~50 MB message");
    large = await memoryRows(ctx, add);
    sectionTitles.memory = `one large message: ${kb(large.plainBytes)} plain -> ${
      kb(large.sealedBytes)
    } sealed (sign + encrypt, 3 recipients), one process each`;
  }
  if (want("queue") && Deno.env.get("BENCH_QUEUE") !== "0") {
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
  await apiSink?.stop();
  await sink?.stop();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
const elapsed = (performance.now() - started) / 1000;

function kb(bytes: number): string {
  return bytes >= 10e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1000).toFixed(1)} KB`;
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

// ---- the race ----

const raceLines: string[] = [];
for (const size of ["19", "577"]) {
  const smtp = byKey.get(`race-smtp-${size}`);
  const api = byKey.get(`race-api-${size}`);
  if (!smtp && !api) continue;
  raceLines.push(`  ${kb(raceSealed[size] ?? 0)} sealed:`);
  for (const r of [smtp, api]) {
    if (!r) continue;
    const target = r.sinkCpuSeconds === undefined ? "?" : fmtNum(r.sinkCpuSeconds / r.n * 1000);
    raceLines.push(
      `    ${
        (r.key.startsWith("race-smtp") ? "SMTP -> smtp-sink" : "API  -> endpoint").padEnd(
          18,
        )
      }  ${fmtNum(r.seconds / r.n * 1000).padStart(6)} ms/msg wall  ${
        fmtRate(rate(r)).padStart(6)
      } msg/s  client CPU ${fmtMs(cpuPerMessage(r)).padStart(5)} ms/msg  receiver CPU ${
        target.padStart(5)
      } ms/msg`,
    );
  }
  if (smtp && api) {
    raceLines.push(
      `    API / SMTP: ${(rate(api) / rate(smtp)).toFixed(2)}x msg/s, client CPU per msg ${
        ((cpuPerMessage(api) ?? NaN) / (cpuPerMessage(smtp) ?? NaN)).toFixed(2)
      }x`,
    );
  }
}
if (raceLines.length) {
  console.log();
  console.log(`the race: one CLI run each, --sessions ${RACE_SESSIONS} both ways`);
  raceLines.forEach((line) => console.log(line));
}

// ---- memory ----

const memory = rows.filter((r) => r.section === "memory" && r.peakRssKb !== undefined);
if (large && memory.length) {
  console.log();
  console.log(
    `peak RSS of one ${kb(large.plainBytes)} message (target: under 4x its size, ${
      (4 * large.plainBytes / 1e6).toFixed(0)
    } MB):`,
  );
  for (const r of memory) {
    const bytes = r.peakRssKb! * 1024;
    const times = bytes / large.plainBytes;
    console.log(
      `  ${r.name.padEnd(48)} ${(bytes / 1e6).toFixed(0).padStart(5)} MB (${
        (bytes / 1048576).toFixed(0)
      } MiB) = ${times.toFixed(1)}x ${times < 4 ? "(under the target)" : "(over the target)"}`,
    );
  }
}

// ---- the crypto floor ----

const floor = speed && floorWork ? cryptoFloor(speed, floorWork) : undefined;
const floorRatios: { name: string; cpuMs: number; ratio: number }[] = [];
if (floor && speed && floorWork) {
  console.log();
  console.log(
    `crypto floor of one ~${kb(wire.sealed)} sealed message, from openssl speed in this run ` +
      `(CPU time, ${speed.seconds.toFixed(1)} s):`,
  );
  const term = (name: string, ms: number, how: string) =>
    console.log(`  ${name.padEnd(38)} ${ms.toFixed(3).padStart(7)} ms  ${how}`);
  term("RSA-2048 sign (alice)", floor.rsaSignMs, `${fmtNum(speed.rsa2048SignPerSec)}/s`);
  term(
    "RSA public ops (bob 3072, alice 2048)",
    floor.rsaPublicMs,
    `${fmtNum(speed.rsa3072VerifyPerSec)}/s, ${fmtNum(speed.rsa2048VerifyPerSec)}/s`,
  );
  term("ECDH P-256 (carol)", floor.ecdhMs, `${fmtNum(speed.ecdhP256PerSec)}/s`);
  term(
    `AES-256-CBC over ${kb(floorWork.encryptedBytes)}`,
    floor.aesMs,
    `${fmtNum(speed.aes256CbcBytesPerSec / 1e6)} MB/s at ${speed.blockBytes} B blocks`,
  );
  term(
    `SHA-256 over ${kb(floorWork.signedBytes)}`,
    floor.shaMs,
    `${fmtNum(speed.sha256BytesPerSec / 1e6)} MB/s at ${speed.blockBytes} B blocks`,
  );
  term("floor", floor.totalMs, "per message, one core");
  for (
    const r of [
      ...rows.filter((r) => r.key.startsWith("cli-batch-")),
      byKey.get("race-smtp-19"),
      byKey.get("race-api-19"),
      byKey.get("seal-inject-1"),
    ]
  ) {
    const cpu = r && cpuPerMessage(r);
    if (!r || cpu === undefined) continue;
    floorRatios.push({ name: r.name, cpuMs: cpu * 1000, ratio: cpu * 1000 / floor.totalMs });
  }
  if (batchMarginal) {
    const cpuMs = batchMarginal.cpuSeconds * 1000;
    floorRatios.push({
      name:
        `smimepost batch (CLI), 4 sessions, per message without start-up (${batchMarginal.messages} msgs' difference, median of ${batchMarginal.rounds} pairs)`,
      cpuMs,
      ratio: cpuMs / floor.totalMs,
    });
  }
  const width = Math.max(...floorRatios.map((f) => f.name.length));
  for (const f of floorRatios) {
    console.log(
      `  ${f.name.padEnd(width)}  ${fmtNum(f.cpuMs).padStart(5)} ms CPU/msg = ${
        f.ratio.toFixed(2)
      }x the floor (target <= 2x)`,
    );
  }
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
  - peak RSS is the largest single process (in-process rows: the row's process, whole life);
    the table's "MB" is MiB (KiB / 1024); the memory summary gives both.
  - smtp-source sends the same sealed file without pipelining; SmtpClient pipelines the next
    envelope behind the final dot (${depth} in flight per connection).
  - The Python rows send pre-built messages: no signing or encryption, so the seal+inject
    ratios against them understate what a Python tool that also signs would cost.
  - Queue rows: each worker process seals on its own threads (one per core), so on this
    machine two or three workers share the same cores as one: they show the queue's cost,
    not a speed-up. Worker rows time from the processes' start to the last exit, start-up and
    the final "queue empty" check (about a second) included; "NATS CPU s" is nats-server's.
  - The race rows: "sink CPU s" is the receiver's CPU, smtp-sink's or the local
    transmissions endpoint's (a Deno process that parses every JSON body, as an API must).
    The client's CPU includes sealing, which is the same both ways.
  - The crypto floor counts one RSA-2048 signature, one RSA public operation per RSA
    recipient (3072 and 2048), one ECDH derivation (not the ephemeral key generation), AES
    over the signed entity and SHA-256 over the canonical entity, at openssl speed's rate
    (CPU time, one core). The CLI rows' CPU also holds parsing, MIME, DER, base64 and SMTP.`);

if (jsonFile) {
  const out = {
    generated: new Date().toISOString(),
    scale,
    depth,
    cpus: navigator.hardwareConcurrency,
    loadAverageAtStart: loadBefore,
    seconds: elapsed,
    messages: {
      wirePlainBytes: wire.plain,
      wireSealedBytes: wire.sealed,
      sealed19,
      sealed577,
      raceSealed,
    },
    largeMessage: large,
    opensslSpeed: speed,
    cryptoFloor: floor && { ...floor, workload: floorWork, ratios: floorRatios },
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
