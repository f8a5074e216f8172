/**
 * The rows of `deno task bench`: smimepost in-process (a child process per
 * row, see inprocess.ts), smimepost as one process per message, and the
 * peers a user would pick instead (openssl, smtp-source, Python smtplib,
 * swaks), all against the same smtp-sink in one run.
 *
 * The peer recipes follow the project's baseline scripts; the Python ones
 * are written to the work folder at run time ({@link writePeerScripts}).
 *
 * @module
 */
import { compileRuntimeFlags } from "../run_cli.ts";
import type { InProcessResult, InProcessTask } from "./inprocess.ts";
import { RECIPIENTS, SENDER } from "./messages.ts";
import { runMeasured, shJoin, type Sink } from "./measure.ts";

/** One line of the table. */
export interface Row {
  /** Stable id, used by the ratios and in the JSON. */
  key: string;
  section: string;
  name: string;
  /** Messages. */
  n: number;
  /** Wall seconds. */
  seconds: number;
  cpuSeconds?: number;
  peakRssKb?: number;
  /** smtp-sink's CPU seconds during the row (SMTP rows only). */
  sinkCpuSeconds?: number;
  /** Messages that failed. */
  failures: number;
  /** nats-server's CPU seconds during the row (queue rows only). */
  natsCpuSeconds?: number;
  /** Rounds run, when the row is the median round of several. */
  reps?: number;
}

/** Everything the rows need. */
export interface BenchContext {
  /** Repository root, with a trailing slash. */
  root: string;
  work: string;
  keysDir: string;
  sink: Sink;
  /** Real python3 binary (not a pyenv shim). */
  python: string;
  /** Sends in flight per SmtpClient connection. */
  depth: number;
  files: {
    /** Plain ~19 KB and ~577 KB statements (LF). */
    plain19: string;
    plain577: string;
    /** The plain message whose sealed form is ~19 KB. */
    plainWire: string;
    /** Distinct pre-built sealed ~19 KB messages, LF. */
    sealed: string[];
    /** The first of them with CRLF line ends (Python sends it as is). */
    sealedCrlf: string;
  };
}

const PYSEND_MANY = `#!/usr/bin/env python3
"""Send N pre-built messages over ONE smtplib connection; print seconds spent
sending (connection setup included, message building excluded).
usage: pysend_many.py host port N msgfile rcpt[,rcpt...]
env NODELAY=1 sets TCP_NODELAY on the client socket."""
import os, smtplib, socket, sys, time
host, port, n, fn, rcpts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5].split(',')
base = open(fn, 'rb').read()
msgs = [b'Message-ID: <bench-%d@example.com>\\r\\n' % i + base for i in range(n)]   # pre-built
t0 = time.perf_counter()
s = smtplib.SMTP(host, port)
if os.environ.get('NODELAY') == '1':
    s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
bad = 0
for m in msgs:
    if s.sendmail('${SENDER}', rcpts, m):
        bad += 1
s.quit()
print('%.6f %d' % (time.perf_counter() - t0, bad))
`;

const PYSEND_ONE = `#!/usr/bin/env python3
"""Send ONE message per process (new connection). usage: pysend_one.py host port msgfile rcpt[,rcpt...]"""
import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2])) as s:
    s.sendmail('${SENDER}', sys.argv[4].split(','), open(sys.argv[3], 'rb').read())
`;

/** Writes the Python peers into the work folder. */
export async function writePeerScripts(work: string): Promise<void> {
  await Deno.writeTextFile(`${work}/pysend_many.py`, PYSEND_MANY);
  await Deno.writeTextFile(`${work}/pysend_one.py`, PYSEND_ONE);
}

/** The real python3 binary: pyenv's shim would add a shell script per process. */
export async function findPython(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-c", "pyenv which python3 2>/dev/null || command -v python3"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const path = new TextDecoder().decode(out.stdout).trim().split("\n")[0];
  if (!path) throw new Error("python3 not found");
  return path;
}

/** Measures the sink's CPU around an SMTP row. */
export async function withSink(ctx: BenchContext, run: () => Promise<Row>): Promise<Row> {
  const before = await ctx.sink.cpu();
  const row = await run();
  const after = await ctx.sink.cpu();
  if (before !== undefined && after !== undefined) row.sinkCpuSeconds = after - before;
  return row;
}

/**
 * Runs one in-process task in a fresh Deno process: this tree's
 * inprocess.ts, or another checkout's (`tree`, for A/B runs), with extra
 * Deno flags.
 */
export async function inProcess(
  task: InProcessTask,
  options: { tree?: string; flags?: string[] } = {},
): Promise<InProcessResult> {
  const script = options.tree
    ? `${options.tree}/scripts/bench/inprocess.ts`
    : new URL("./inprocess.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-read",
      "--allow-net",
      // libcrypto through FFI, as the CLI uses it (core/cms/libcrypto.ts)
      "--allow-ffi",
      ...(options.flags ?? []),
      script,
      JSON.stringify(task),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0 || !text) {
    const what = `${options.tree ?? "in-process"} ${task.mode}`;
    throw new Error(`${what} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").at(-1)!) as InProcessResult;
}

function fromResult(key: string, section: string, name: string, r: InProcessResult): Row {
  return {
    key,
    section,
    name,
    n: r.n,
    seconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    peakRssKb: r.peakRssKb,
    failures: r.failures,
  };
}

/** sealMessage() in a loop for `seconds`, no SMTP. */
export async function sealInProcessRow(
  ctx: BenchContext,
  key: string,
  section: string,
  file: string,
  seconds: number,
): Promise<Row & { sealedBytes: number }> {
  const r = await inProcess({ mode: "seal", keysDir: ctx.keysDir, file, seconds });
  return {
    ...fromResult(key, section, "smimepost in-process sealMessage()", r),
    sealedBytes: r.bytes,
  };
}

/** Pre-built sealed messages over `sessions` SmtpClient connections. */
export function injectRow(ctx: BenchContext, sessions: number, count: number): Promise<Row> {
  return withSink(ctx, async () => {
    const r = await inProcess({
      mode: "inject",
      host: ctx.sink.host,
      port: ctx.sink.port,
      sessions,
      depth: ctx.depth,
      count,
      files: ctx.files.sealed,
      sender: SENDER,
      recipients: [...RECIPIENTS],
    });
    const name = `smimepost SmtpClient in-process, ${sessions} session${
      sessions > 1 ? "s" : ""
    } x ${ctx.depth} in flight`;
    return fromResult(`inject-${sessions}`, "raw", name, r);
  });
}

/** sealMessage() then send, over `sessions` connections, one process. */
export function sealInjectRow(ctx: BenchContext, sessions: number, count: number): Promise<Row> {
  return withSink(ctx, async () => {
    const r = await inProcess({
      mode: "seal-inject",
      keysDir: ctx.keysDir,
      file: ctx.files.plainWire,
      host: ctx.sink.host,
      port: ctx.sink.port,
      sessions,
      depth: ctx.depth,
      count,
    });
    const name = `smimepost in-process seal+send, ${sessions} session${
      sessions > 1 ? "s" : ""
    } x ${ctx.depth} in flight`;
    return fromResult(`seal-inject-${sessions}`, "seal+inject", name, r);
  });
}

/** A bash loop running `body` `n` times; it prints the number of failures last. */
function loop(n: number, body: string): string {
  return `fails=0\nfor i in $(seq ${n}); do\n${body} || fails=$((fails+1))\ndone\necho "$fails"`;
}

/** Runs a measured bash script whose last stdout line is its failure count. */
export async function processRow(
  ctx: BenchContext,
  key: string,
  section: string,
  name: string,
  n: number,
  script: string,
  env?: Record<string, string>,
): Promise<Row> {
  const cost = await runMeasured(script, { dir: ctx.work, env });
  const fails = Number(cost.stdout.trim().split("\n").at(-1));
  if (cost.code !== 0 || !Number.isFinite(fails)) {
    throw new Error(`${name} failed (exit ${cost.code}): ${cost.stderr.slice(0, 2000)}`);
  }
  if (fails > 0) {
    console.error(`warning: ${name}: ${fails} of ${n} failed: ${cost.stderr.slice(0, 500)}`);
  }
  return {
    key,
    section,
    name,
    n,
    seconds: cost.seconds,
    cpuSeconds: cost.cpuSeconds,
    peakRssKb: cost.peakRssKb,
    failures: fails,
  };
}

/** argv of the CLI as `deno task compile` would run it. */
export async function cliArgv(ctx: BenchContext, args: string[]): Promise<string[]> {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    ...await compileRuntimeFlags(),
    `${ctx.root}cli.ts`,
    ...args,
  ];
}

/** Runs a command once, unmeasured (fills Deno's caches, checks it works). */
async function warmUp(script: string, env?: Record<string, string>): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    env,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (out.code !== 0) throw new Error(`warm-up failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** One `smimepost send --sign --encrypt FILE > /dev/null` per message. */
export async function cliSealRow(
  ctx: BenchContext,
  key: string,
  section: string,
  file: string,
  n: number,
): Promise<Row> {
  const argv = await cliArgv(ctx, [
    "send",
    file,
    "--sign",
    "--encrypt",
    // One copy for everyone, the same work as the openssl peers do.
    "--single-copy",
    "--keys",
    ctx.keysDir,
    "--trust",
    `${ctx.keysDir}/trust.pem`,
    "-q",
  ]);
  const once = `${shJoin(argv)} > /dev/null`;
  await warmUp(once);
  return processRow(
    ctx,
    key,
    section,
    "smimepost send --sign --encrypt, 1 process/msg",
    n,
    loop(n, once),
  );
}

/** One `smimepost send --sign --encrypt --send-smtp` per message, to the sink. */
export async function cliSmtpRow(ctx: BenchContext, n: number): Promise<Row> {
  const argv = await cliArgv(ctx, [
    "send",
    ctx.files.plainWire,
    "--sign",
    "--encrypt",
    // One copy for everyone, the same work as the openssl peers do.
    "--single-copy",
    "--keys",
    ctx.keysDir,
    "--trust",
    `${ctx.keysDir}/trust.pem`,
    "--send-smtp",
    "-q",
  ]);
  const env = { SMTP_HOST: ctx.sink.host, SMTP_PORT: String(ctx.sink.port), SMTP_TLS: "never" };
  const once = `${shJoin(argv)} > /dev/null`;
  await warmUp(once, env);
  return withSink(ctx, () =>
    processRow(
      ctx,
      "cli-smtp",
      "seal+inject",
      "smimepost send --sign --encrypt --send-smtp, 1 process/msg",
      n,
      loop(n, once),
      env,
    ));
}

/**
 * The batch runner's row: one CLI process that seals (on its worker pool)
 * and delivers `n` messages from a folder over `sessions` connections.
 */
export async function smimepostBatchCliRow(
  ctx: BenchContext,
  n: number,
  sessions: number,
  batchArgs: (folder: string) => string[],
  key = `cli-batch-${sessions}`,
): Promise<Row> {
  const plain = await Deno.readFile(ctx.files.plainWire);
  const folder = `${ctx.work}/${key}`;
  await Deno.mkdir(folder, { recursive: true });
  for (let i = 0; i < n; i++) await Deno.writeFile(`${folder}/m${i}.eml`, plain);
  const argv = await cliArgv(ctx, batchArgs(folder));
  const env = { SMTP_HOST: ctx.sink.host, SMTP_PORT: String(ctx.sink.port), SMTP_TLS: "never" };
  return withSink(ctx, () =>
    processRow(
      ctx,
      key,
      "seal+inject",
      `smimepost batch (CLI), ${sessions} sessions${
        key === "cli-batch-journal-4"
          ? ", journal+report+trust"
          : key.startsWith("cli-batch-")
          ? ""
          : `, ${n} msgs`
      }`,
      n,
      `${shJoin(argv)} > /dev/null || exit 1\necho 0`,
      env,
    ));
}

function opensslSign(ctx: BenchContext, file: string): string {
  const k = ctx.keysDir;
  return shJoin([
    "openssl",
    "cms",
    "-sign",
    "-in",
    file,
    "-signer",
    `${k}/${SENDER}.crt`,
    "-inkey",
    `${k}/${SENDER}.pem`,
    "-md",
    "sha256",
    "-nodetach",
  ]);
}

function opensslEncrypt(ctx: BenchContext): string {
  const k = ctx.keysDir;
  return shJoin([
    "openssl",
    "cms",
    "-encrypt",
    "-aes256",
    "-from",
    SENDER,
    "-to",
    RECIPIENTS.join(", "),
    "-subject",
    "Statement",
    ...[...RECIPIENTS, SENDER].map((a) => `${k}/${a}.crt`),
  ]);
}

/** One `openssl cms -sign | openssl cms -encrypt > /dev/null` per message. */
export function opensslRow(
  ctx: BenchContext,
  key: string,
  section: string,
  file: string,
  n: number,
): Promise<Row> {
  const once = `${opensslSign(ctx, file)} | ${opensslEncrypt(ctx)} > /dev/null`;
  return processRow(
    ctx,
    key,
    section,
    "openssl cms -sign | openssl cms -encrypt, per msg",
    n,
    loop(n, once),
  );
}

/** One `openssl cms -sign | openssl cms -encrypt | swaks` per message, to the sink. */
export function opensslSwaksRow(ctx: BenchContext, n: number): Promise<Row> {
  const swaks = shJoin([
    "swaks",
    "--server",
    ctx.sink.host,
    "--port",
    String(ctx.sink.port),
    "--from",
    SENDER,
    "--to",
    RECIPIENTS.join(","),
    "--data",
    "-",
    "--silent",
    "2",
  ]);
  const once = `set -o pipefail; ${opensslSign(ctx, ctx.files.plainWire)} | ${
    opensslEncrypt(ctx)
  } | ${swaks} > /dev/null`;
  return withSink(ctx, () =>
    processRow(
      ctx,
      "openssl-swaks",
      "seal+inject",
      "openssl sign | openssl encrypt | swaks, per msg",
      n,
      loop(n, once),
    ));
}

/** `smtp-source -d`: Postfix's C load generator, the sealed file as message. */
export function smtpSourceRow(ctx: BenchContext, sessions: number, count: number): Promise<Row> {
  const argv = [
    "smtp-source",
    "-4",
    "-d",
    "-s",
    String(sessions),
    "-m",
    String(count),
    "-r",
    String(RECIPIENTS.length),
    "-F",
    ctx.files.sealed[0]!,
    "-M",
    "localhost",
    "-f",
    SENDER,
    "-t",
    RECIPIENTS[0],
    `${ctx.sink.host}:${ctx.sink.port}`,
  ];
  return withSink(ctx, () =>
    processRow(
      ctx,
      `source-${sessions}`,
      "raw",
      `smtp-source -d, ${sessions} session${sessions > 1 ? "s" : ""}`,
      count,
      `${shJoin(argv)} || exit 1\necho 0`,
    ));
}

/** Python smtplib, one process, one connection, pre-built messages. */
export function pythonOneConnectionRow(ctx: BenchContext, count: number): Promise<Row> {
  return withSink(ctx, async () => {
    const argv = [
      ctx.python,
      `${ctx.work}/pysend_many.py`,
      ctx.sink.host,
      String(ctx.sink.port),
      String(count),
      ctx.files.sealedCrlf,
      RECIPIENTS.join(","),
    ];
    const cost = await runMeasured(shJoin(argv), { dir: ctx.work });
    const [secs, bad] = cost.stdout.trim().split(/\s+/).map(Number);
    if (cost.code !== 0 || !secs) throw new Error(`pysend_many.py failed: ${cost.stderr}`);
    return {
      key: "py-conn",
      section: "raw",
      name: "Python smtplib, 1 connection (send time)",
      n: count,
      seconds: secs,
      cpuSeconds: cost.cpuSeconds,
      peakRssKb: cost.peakRssKb,
      failures: bad ?? 0,
    };
  });
}

/** Python smtplib, one process (and connection) per message. */
export function pythonPerProcessRow(ctx: BenchContext, n: number): Promise<Row> {
  const once = shJoin([
    ctx.python,
    `${ctx.work}/pysend_one.py`,
    ctx.sink.host,
    String(ctx.sink.port),
    ctx.files.sealedCrlf,
    RECIPIENTS.join(","),
  ]);
  return withSink(
    ctx,
    () => processRow(ctx, "py-proc", "raw", "Python smtplib, 1 process/msg", n, loop(n, once)),
  );
}

/**
 * A folder of `n` signed messages (opaque, the SENDER's signature with its
 * intermediate), for the verify rows.
 */
async function signedFolder(ctx: BenchContext, n: number): Promise<string> {
  const folder = `${ctx.work}/signed`;
  await Deno.mkdir(folder, { recursive: true });
  const one = `${folder}/m0.eml`;
  const argv = await cliArgv(ctx, ["send", ctx.files.plainWire, "--sign", "--keys", ctx.keysDir]);
  const out = await new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "piped" }).output();
  if (out.code !== 0) throw new Error("cannot make the signed message for the verify rows");
  await Deno.writeFile(one, out.stdout);
  for (let i = 1; i < n; i++) await Deno.copyFile(one, `${folder}/m${i}.eml`);
  return folder;
}

/** `smimepost verify FOLDER --trust` over `n` signed messages, one process. */
export async function verifyFolderRow(ctx: BenchContext, n: number): Promise<Row> {
  const folder = await signedFolder(ctx, n);
  const argv = await cliArgv(ctx, [
    "verify",
    folder,
    "--trust",
    `${ctx.keysDir}/trust.pem`,
    "--keys",
    ctx.keysDir,
    "--json",
  ]);
  const script = `${shJoin(argv)} | grep -c '"trusted":false' || true`;
  return processRow(
    ctx,
    "verify-cli",
    "verify",
    "smimepost verify FOLDER (one process)",
    n,
    script,
  );
}

/** One `openssl cms -verify` per message of the same folder. */
export function opensslVerifyRow(ctx: BenchContext, n: number): Promise<Row> {
  const k = ctx.keysDir;
  const file = `"${ctx.work}/signed/m$((i-1)).eml"`;
  const once = `openssl cms -verify -in ${file} ` +
    shJoin([
      "-CAfile",
      `${k}/trust.pem`,
      "-certfile",
      `${k}/intermediate.crt`,
      "-out",
      "/dev/null",
    ]);
  return processRow(
    ctx,
    "verify-openssl",
    "verify",
    "openssl cms -verify, one process per message",
    n,
    loop(n, `${once} 2>/dev/null`),
  );
}
