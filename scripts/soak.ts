/**
 * Soak test: many signed messages through the CLI into a real Postfix, with
 * faults, watching the CLI's memory. Not part of `deno task test`.
 *
 *     deno run -A scripts/soak.ts [--messages 100000] [--rsa] [--sink-messages N]
 *       [--sessions 4] [--workers 2] [--fault-every 5] [--keep]
 *
 * Phase 1 sends --messages messages from one mbox through `smimepost send`
 * (spawned as a child, with the compile task's permissions) into a private
 * Postfix instance (tests/support/rig.ts) over plain SMTP. Recipients are
 * @discard.invalid except every 1000th, which goes to a real mailbox and is
 * checked with `smimepost verify`. Every --fault-every seconds the script
 * runs `postfix -c DIR stop`, waits 3 s and starts it again; the CLI must
 * retry what was deferred.
 *
 * Phase 2 sends --sink-messages (default a fifth) through the built-in sink
 * with periodic faults: connections dropped after the final dot (never
 * stored, so sent again), dropped during DATA, 421 and 451 after the dot,
 * 452 to a RCPT.
 *
 * Both phases sample the child's VmRSS from /proc/PID/status every second
 * and at the end assert that what arrived (Postfix "status=sent" lines, the
 * sink's count) equals the journal's accepted count (plus, through Postfix, at
 * most those sent again after a lost reply), and that RSS stayed
 * flat. A result block for the README is printed last.
 *
 * Needs root, postfix and openssl (see scripts/rig/README.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { makeTestPki } from "./make_pki.ts";
import { compileRuntimeFlags } from "./run_cli.ts";
import { postfixUnavailableReason, startPostfix } from "../tests/support/rig.ts";
import type { PostfixRig } from "../tests/support/rig.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkServer } from "../core/sink/mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    messages: { type: "string", default: "100000" },
    "sink-messages": { type: "string" },
    rsa: { type: "boolean", default: false },
    sessions: { type: "string", default: "4" },
    workers: { type: "string", default: "2" },
    "fault-every": { type: "string", default: "5" },
    "sample-every": { type: "string", default: "1000" },
    keep: { type: "boolean", default: false },
  },
});

const MESSAGES = Number(flags.messages);
const SINK_MESSAGES = Number(flags["sink-messages"] ?? Math.max(100, Math.floor(MESSAGES / 5)));
const FAULT_EVERY_MS = Number(flags["fault-every"]) * 1000;
const SAMPLE_EVERY = Number(flags["sample-every"]);
const SENDER = flags.rsa ? "alice@example.com" : "carol@example.net";
const ROOT = new URL("../", import.meta.url).pathname;

function log(line: string): void {
  console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

// ------------------------------------------------------------------ inputs

/** Writes an mbox of `count` small statement-like messages; every `sampleEvery`th to a mailbox. */
async function writeMbox(
  path: string,
  count: number,
  tag: string,
  sampleEvery: number,
): Promise<string[]> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const samples: string[] = [];
  const body = "Dear customer,\n\nyour statement for November is ready. Balance: 1,234.56 EUR.\n" +
    ">From here on, lines that look like mbox separators are escaped.\n.\nRegards\n";
  let batch = "";
  // `send` insists on a path argument even with --mbox: message 0 is a file.
  const first = `${path}.first.eml`;
  for (let i = 0; i < count; i++) {
    const sample = sampleEvery > 0 && i % sampleEvery === 0;
    const to = sample ? `${tag}.sample${i}@example.net` : `${tag}${i}@discard.invalid`;
    if (sample) samples.push(to);
    const text = `From: ${SENDER}\nTo: ${to}\nSubject: Statement ${tag} ${i}\n` +
      `Message-ID: <${tag}-${i}@soak.smimepost.invalid>\n\n${body}`;
    if (i === 0) {
      await Deno.writeTextFile(first, text);
      continue;
    }
    batch += `From ${SENDER} Sat Nov 28 02:36:47 2026\n${text}\n`;
    if (batch.length > 1 << 20 || i === count - 1) {
      await file.write(encoder.encode(batch));
      batch = "";
    }
  }
  file.close();
  return samples;
}

// -------------------------------------------------------------- the child

interface ChildRun {
  code: number;
  stderrTail: string;
  rss: { t: number; kb: number }[];
  seconds: number;
}

/** Spawns `smimepost send ...`, sampling its VmRSS every second until it exits. */
async function runCliSampled(args: string[], env: Record<string, string>): Promise<ChildRun> {
  const permissions = await compileRuntimeFlags();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...permissions, `${ROOT}cli.ts`, ...args],
    env: {
      NO_COLOR: "1",
      SMTP_USER: "",
      SMTP_PASSWORD: "",
      SMTP_CA_FILE: "",
      SPARKPOST_API_KEY: "",
      SMIMEPOST_PASSPHRASE: "",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const started = performance.now();
  const rss: { t: number; kb: number }[] = [];
  const sample = () => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
      if (kb > 0) rss.push({ t: (performance.now() - started) / 1000, kb });
    } catch { /* exited */ }
  };
  const timer = setInterval(sample, 1000);
  let tail = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) {
      const text = decoder.decode(chunk, { stream: true });
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n")) if (line.trim()) log(`  cli: ${line.trim()}`);
    }
  })();
  const status = await child.status;
  clearInterval(timer);
  await reading;
  return {
    code: status.code,
    stderrTail: tail,
    rss,
    seconds: (performance.now() - started) / 1000,
  };
}

// ------------------------------------------------------------- accounting

interface JournalCounts {
  accepted: number;
  rejected: number;
  failed: number;
  uncertain: number;
  deferred: number;
  /** Final outcomes reached by sending again after a lost reply (may have arrived twice). */
  resent: number;
}

async function journalCounts(path: string): Promise<JournalCounts> {
  const counts: JournalCounts = {
    accepted: 0,
    rejected: 0,
    failed: 0,
    uncertain: 0,
    deferred: 0,
    resent: 0,
  };
  const text = await Deno.readTextFile(path);
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as {
      type: string;
      status?: keyof JournalCounts;
      resent?: boolean;
    };
    if (entry.type === "recipient" && entry.status && entry.status in counts) {
      counts[entry.status]++;
      if (entry.resent) counts.resent++;
    }
  }
  return counts;
}

interface RssStats {
  samples: number;
  minMb: number;
  medianMb: number;
  maxMb: number;
  /** MB per minute, least squares over the samples after warm-up. */
  slopeMbPerMin: number;
  /** Growth the slope predicts over the steady part of the run, MB. */
  driftMb: number;
}

function rssStats(rss: { t: number; kb: number }[]): RssStats {
  // Warm-up: workers start, keys load, JIT settles.
  const steady = rss.filter((s) => s.t >= Math.min(10, rss.at(-1)!.t / 4));
  const mb = rss.map((s) => s.kb / 1024).sort((a, b) => a - b);
  const n = steady.length;
  let slope = 0;
  if (n >= 3) {
    const mt = steady.reduce((s, p) => s + p.t, 0) / n;
    const mk = steady.reduce((s, p) => s + p.kb, 0) / n;
    const cov = steady.reduce((s, p) => s + (p.t - mt) * (p.kb - mk), 0);
    const varT = steady.reduce((s, p) => s + (p.t - mt) ** 2, 0);
    slope = varT ? cov / varT : 0; // kB per second
  }
  const span = n >= 2 ? steady.at(-1)!.t - steady[0]!.t : 0;
  return {
    samples: rss.length,
    minMb: mb[0] ?? 0,
    medianMb: mb[Math.floor(mb.length / 2)] ?? 0,
    maxMb: mb.at(-1) ?? 0,
    slopeMbPerMin: (slope * 60) / 1024,
    driftMb: (slope * span) / 1024,
  };
}

/** Postfix "status=sent" lines (delivered or discarded), waiting until the queue drains. */
async function postfixSentCount(rig: PostfixRig, expectAtLeast: number): Promise<number> {
  const deadline = Date.now() + 180_000;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const text = await Deno.readTextFile(`${rig.dir}/maillog`).catch(() => "");
    const sent = text.match(/ status=sent /g)?.length ?? 0;
    if (sent !== last) {
      last = sent;
      stableSince = Date.now();
    }
    const queueEmpty = await postqueueEmpty(rig);
    if (queueEmpty && (sent >= expectAtLeast || Date.now() - stableSince > 10_000)) return sent;
    if (Date.now() > deadline) return sent;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function postqueueEmpty(rig: PostfixRig): Promise<boolean> {
  const out = await new Deno.Command("postqueue", {
    args: ["-c", `${rig.dir}/conf`, "-p"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  return out ? /queue is empty/i.test(new TextDecoder().decode(out.stdout)) : false;
}

async function postfixCtl(rig: PostfixRig, action: "stop" | "start"): Promise<boolean> {
  const out = await new Deno.Command("postfix", {
    args: ["-c", `${rig.dir}/conf`, action],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success || action === "stop") return out.success;
  // "postfix start" can exit 0 and still not start: wait for the listener.
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: rig.host, port: rig.smtpPort })).close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

// ------------------------------------------------------------------- phases

interface PhaseResult {
  name: string;
  messages: number;
  seconds: number;
  code: number;
  journal: JournalCounts;
  arrived: number;
  faults: string;
  rss: RssStats;
  ok: boolean;
  problems: string[];
}

async function phasePostfix(work: string, keys: string, rig: PostfixRig): Promise<PhaseResult> {
  const mbox = `${work}/postfix.mbox`;
  log(`phase 1: writing ${MESSAGES} messages to ${mbox}`);
  const samples = await writeMbox(mbox, MESSAGES, "pf", SAMPLE_EVERY);
  const journal = `${work}/postfix.journal.jsonl`;
  let stops = 0;
  let restartFailures = 0;
  let stopped = false;
  let running = true;
  const faults = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, FAULT_EVERY_MS));
      if (!running) break;
      log("fault: postfix stop");
      stopped = await postfixCtl(rig, "stop");
      if (stopped) stops++;
      await new Promise((r) => setTimeout(r, 3000));
      log("fault: postfix start");
      if (await postfixCtl(rig, "start")) stopped = false;
      else {
        restartFailures++;
        log("fault: postfix did not come back up");
      }
    }
  })();
  log(`phase 1: sending through Postfix ${rig.host}:${rig.smtpPort} as ${SENDER}`);
  const run = await runCliSampled([
    "send",
    `${mbox}.first.eml`,
    "--mbox",
    mbox,
    "--sign",
    "--keys",
    keys,
    "--trust",
    `${keys}/trust.pem`,
    "--send_smtp",
    "--sessions",
    flags.sessions!,
    "--workers",
    flags.workers!,
    "--retries",
    "30",
    "--retry-max-age",
    "900",
    "--journal",
    journal,
  ], { SMTP_HOST: rig.host, SMTP_PORT: String(rig.smtpPort), SMTP_TLS: "never" });
  running = false;
  await faults;
  if (stopped) await postfixCtl(rig, "start");
  const counts = await journalCounts(journal);
  log(`phase 1: CLI exited ${run.code} after ${run.seconds.toFixed(1)} s; waiting for the queue`);
  const arrived = await postfixSentCount(rig, counts.accepted);
  const problems: string[] = [];
  if (restartFailures) problems.push(`${restartFailures} Postfix restarts failed`);
  // 3 (partly) is right when a stop left some "uncertain" and nothing else went wrong.
  const partlyOk = run.code === 3 && counts.uncertain > 0 && counts.failed + counts.rejected === 0;
  if (run.code !== 0 && !partlyOk) {
    problems.push(`exit status ${run.code}: ${run.stderrTail.slice(-300)}`);
  }
  // A stop between Postfix queueing a message and our reading its 250 loses
  // the reply: the message is sent again (or left "uncertain" when the retries
  // ran out), so arrived may exceed accepted by those only.
  const maybeTwice = counts.uncertain + counts.resent;
  if (arrived < counts.accepted || arrived > counts.accepted + maybeTwice) {
    problems.push(
      `delivered ${arrived} != journal accepted ${counts.accepted} ` +
        `(+${counts.uncertain} uncertain, ${counts.resent} resent)`,
    );
  }
  if (counts.accepted + counts.uncertain < MESSAGES) {
    problems.push(
      `only ${counts.accepted + counts.uncertain} of ${MESSAGES} reached a final state`,
    );
  }
  problems.push(...await verifySamples(rig, samples, keys));
  const rss = rssStats(run.rss);
  problems.push(...rssProblems(rss));
  return {
    name: "Postfix (stop/start)",
    messages: MESSAGES,
    seconds: run.seconds,
    code: run.code,
    journal: counts,
    arrived,
    faults: `${stops} postfix stop/start cycles`,
    rss,
    ok: problems.length === 0,
    problems,
  };
}

/** The sampled real-mailbox deliveries verify with `smimepost verify`. */
async function verifySamples(rig: PostfixRig, samples: string[], keys: string): Promise<string[]> {
  const problems: string[] = [];
  const permissions = await compileRuntimeFlags();
  for (const address of samples) {
    try {
      const delivered = await rig.waitForRecipient(address, 30_000);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          ...permissions,
          `${ROOT}cli.ts`,
          "verify",
          delivered.path,
          "--keys",
          keys,
          "--trust",
          `${keys}/trust.pem`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        problems.push(
          `${address}: verify exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
        );
      }
    } catch (err) {
      problems.push(`${address}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  log(`phase 1: ${samples.length - problems.length}/${samples.length} sampled deliveries verified`);
  return problems;
}

async function phaseSink(work: string, keys: string): Promise<PhaseResult> {
  const mbox = `${work}/sink.mbox`;
  log(`phase 2: writing ${SINK_MESSAGES} messages to ${mbox}`);
  await writeMbox(mbox, SINK_MESSAGES, "sk", 0);
  const journal = `${work}/sink.journal.jsonl`;
  const tally = { drop: 0, dataDrop: 0, r421: 0, r451: 0, r452: 0 };
  let ends = 0;
  let rcpts = 0;
  let datas = 0;
  const sink: SinkServer = await startSink({
    port: 0,
    keep: 0,
    faults: {
      onRcpt: () => {
        rcpts++;
        if (rcpts % 101 === 0) {
          tally.r452++;
          return "452 4.2.2 mailbox busy, try later";
        }
        return undefined;
      },
      dropDuringData: () => {
        datas++;
        if (datas % 307 === 0) {
          tally.dataDrop++;
          return true;
        }
        return false;
      },
      onDataEnd: () => {
        ends++;
        if (ends % 211 === 0) {
          tally.drop++;
          return "drop";
        }
        if (ends % 97 === 0) {
          tally.r421++;
          return "421 4.3.2 shutting down, try later";
        }
        if (ends % 53 === 0) {
          tally.r451++;
          return "451 4.3.0 temporary failure";
        }
        return undefined;
      },
    },
  });
  log(`phase 2: sending through the sink ${sink.host}:${sink.port} with faults`);
  let run: ChildRun;
  try {
    run = await runCliSampled([
      "send",
      `${mbox}.first.eml`,
      "--mbox",
      mbox,
      "--sign",
      "--keys",
      keys,
      "--trust",
      `${keys}/trust.pem`,
      "--send_smtp",
      "--sessions",
      flags.sessions!,
      "--workers",
      flags.workers!,
      "--retries",
      "30",
      "--retry-max-age",
      "900",
      "--journal",
      journal,
    ], { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port), SMTP_TLS: "never" });
  } finally {
    await sink.close();
  }
  const counts = await journalCounts(journal);
  const arrived = sink.count;
  const problems: string[] = [];
  // Dropped after the dot: sent again; "uncertain" (exit 3) only if the retries ran out.
  if (![0, 3].includes(run.code) || counts.failed + counts.rejected > 0) {
    problems.push(`exit status ${run.code}: ${run.stderrTail.slice(-300)}`);
  }
  if (arrived !== counts.accepted) {
    problems.push(`sink stored ${arrived} != journal accepted ${counts.accepted}`);
  }
  if (counts.accepted + counts.uncertain !== SINK_MESSAGES) {
    problems.push(
      `accepted ${counts.accepted} + uncertain ${counts.uncertain} != ${SINK_MESSAGES} messages`,
    );
  }
  // Each drop after the dot is sent again (this sink stores nothing it drops, so
  // nothing arrives twice); a drop "during DATA" often lands after the client sent
  // its final dot (a small message goes in one write) and looks the same.
  if (tally.drop > 0 && counts.resent === 0) {
    problems.push(`${tally.drop} drops after the dot, but nothing was sent again`);
  }
  const rss = rssStats(run.rss);
  problems.push(...rssProblems(rss));
  return {
    name: "sink (drops, 421/451/452)",
    messages: SINK_MESSAGES,
    seconds: run.seconds,
    code: run.code,
    journal: counts,
    arrived,
    faults: `${tally.drop} drops after the dot, ${tally.dataDrop} during DATA, ` +
      `${tally.r421}x421, ${tally.r451}x451, ${tally.r452}x452`,
    rss,
    ok: problems.length === 0,
    problems,
  };
}

/**
 * Flat: over the steady part, growth under 32 MB and under a quarter of the
 * median. A phase of under 30 samples (seconds) is still warming up: its
 * figures are printed, not judged.
 */
function rssProblems(rss: RssStats): string[] {
  if (rss.samples < 30) return [];
  const limit = Math.max(32, rss.medianMb / 4);
  return rss.driftMb > limit
    ? [`RSS grew ${rss.driftMb.toFixed(1)} MB over the run (limit ${limit.toFixed(0)} MB)`]
    : [];
}

// --------------------------------------------------------------------- main

function arrivedNote(r: PhaseResult): string {
  const extra = r.arrived - r.journal.accepted;
  if (extra === 0) return "= accepted";
  if (extra > 0 && extra <= r.journal.uncertain + r.journal.resent) {
    return `= accepted + ${extra} of the uncertain or resent`;
  }
  return "!= accepted";
}

function resultBlock(results: PhaseResult[]): string {
  const lines = [
    "```",
    `smimepost soak: ${new Date().toISOString().slice(0, 10)}, Deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} cores, signer ${SENDER} (${
      flags.rsa ? "RSA-2048" : "EC P-256"
    }), ` +
    `--sessions ${flags.sessions} --workers ${flags.workers}`,
  ];
  for (const r of results) {
    const rate = r.messages / r.seconds;
    lines.push(
      `${r.name}: ${r.messages} messages in ${r.seconds.toFixed(1)} s (${rate.toFixed(0)}/s), ` +
        `exit ${r.code}`,
      `  journal: ${r.journal.accepted} accepted (${r.journal.resent} resent after a lost reply), ` +
        `${r.journal.uncertain} uncertain, ` +
        `${r.journal.failed} failed, ${r.journal.rejected} rejected, ` +
        `${r.journal.deferred} deferrals retried`,
      `  arrived: ${r.arrived} (${arrivedNote(r)})`,
      `  faults:  ${r.faults}`,
      `  RSS:     min ${r.rss.minMb.toFixed(1)} / median ${r.rss.medianMb.toFixed(1)} / ` +
        `max ${r.rss.maxMb.toFixed(1)} MB over ${r.rss.samples} samples, ` +
        `slope ${r.rss.slopeMbPerMin >= 0 ? "+" : ""}${r.rss.slopeMbPerMin.toFixed(2)} MB/min` +
        (r.rss.samples < 30 ? " (too short to judge flatness)" : ""),
      `  result:  ${r.ok ? "PASS" : `FAIL: ${r.problems.join("; ")}`}`,
    );
  }
  lines.push("```");
  return lines.join("\n");
}

if (import.meta.main) {
  const reason = postfixUnavailableReason();
  if (reason) {
    console.error(`soak: cannot run: ${reason}`);
    Deno.exit(69);
  }
  if (!Number.isInteger(MESSAGES) || MESSAGES < 1) {
    console.error(`soak: --messages: not a positive whole number: ${flags.messages}`);
    Deno.exit(64);
  }
  const work = await Deno.makeTempDir({ prefix: "smimepost-soak-" });
  await Deno.chmod(work, 0o755);
  log(`work folder ${work}`);
  const keys = `${work}/keys`;
  await makeTestPki(keys);
  const rig = await startPostfix({ IN_FLOW_DELAY: "0s", SASL_PASS: crypto.randomUUID() });
  log(`postfix rig in ${rig.dir}`);
  const results: PhaseResult[] = [];
  try {
    results.push(await phasePostfix(work, keys, rig));
    results.push(await phaseSink(work, keys));
  } finally {
    await rig.stop();
    if (!flags.keep) await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  console.log(resultBlock(results));
  Deno.exit(results.every((r) => r.ok) ? 0 : 1);
}
