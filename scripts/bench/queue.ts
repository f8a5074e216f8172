/**
 * The job-queue rows of `deno task bench`: `smimepost enqueue` into a NATS
 * JetStream server, then one, two and three `smimepost worker --until-empty`
 * processes that seal and deliver what was queued, against one `smimepost
 * send` run of the same messages, all to the same smtp-sink. On one machine
 * the workers share its cores, so more workers show the queue's overhead,
 * not a speed-up; the NATS server's own CPU is its own column.
 *
 * @module
 */
import type { TestNats } from "../../core/queue/test_nats.ts";
import { processCpuSeconds, shJoin } from "./measure.ts";
import { statement } from "./messages.ts";
import { type BenchContext, cliArgv, processRow, type Row, withSink } from "./rows.ts";

/** `n` distinct statements (own Message-IDs, so none deduplicates), the size of the wire row's. */
export async function queueFolder(ctx: BenchContext, n: number, size: number): Promise<string> {
  const folder = `${ctx.work}/queue-in`;
  await Deno.mkdir(folder, { recursive: true });
  for (let i = 0; i < n; i++) {
    await Deno.writeFile(`${folder}/q${i}.eml`, statement(size, `queue-${i}`));
  }
  return folder;
}

/** Sealing and delivery flags shared by the send run and the workers. */
function sealFlags(ctx: BenchContext, sessions: number): string[] {
  return [
    "--sign",
    "--encrypt",
    "--single-copy",
    "--keys",
    ctx.keysDir,
    "--send_smtp",
    "--sessions",
    String(sessions),
    "-q",
  ];
}

function smtpEnv(ctx: BenchContext): Record<string, string> {
  return { SMTP_HOST: ctx.sink.host, SMTP_PORT: String(ctx.sink.port), SMTP_TLS: "never" };
}

/** Adds the NATS server's CPU during `run` to the row. */
async function withNats(nats: TestNats, run: () => Promise<Row>): Promise<Row> {
  const before = nats.pid === undefined ? undefined : await processCpuSeconds(nats.pid);
  const row = await run();
  const after = nats.pid === undefined ? undefined : await processCpuSeconds(nats.pid);
  if (before !== undefined && after !== undefined) row.natsCpuSeconds = after - before;
  return row;
}

/** One `smimepost enqueue FOLDER` of `n` messages into `stream`. */
export async function enqueueRow(
  ctx: BenchContext,
  nats: TestNats,
  folder: string,
  stream: string,
  n: number,
): Promise<Row> {
  const argv = await cliArgv(ctx, ["enqueue", folder, "--nats", nats.url, "--stream", stream]);
  return withNats(nats, () =>
    processRow(
      ctx,
      "queue-enqueue",
      "queue",
      "smimepost enqueue FOLDER (one process)",
      n,
      `${shJoin(argv)} > /dev/null || exit 1\necho 0`,
    ));
}

/** Queues `folder` into `stream`, unmeasured (the workers rows' input). */
export async function enqueueOnly(
  ctx: BenchContext,
  nats: TestNats,
  folder: string,
  stream: string,
): Promise<void> {
  const [cmd, ...args] = await cliArgv(ctx, [
    "enqueue",
    folder,
    "--nats",
    nats.url,
    "--stream",
    stream,
  ]);
  const out = await new Deno.Command(cmd!, { args, stdout: "null", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`enqueue failed: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * `workers` worker processes started together, each exiting once the run is
 * empty; timed from their start to the last exit (start-up and the final
 * empty check, about a second, included).
 */
export async function workersRow(
  ctx: BenchContext,
  nats: TestNats,
  stream: string,
  workers: number,
  sessions: number,
  n: number,
): Promise<Row> {
  const argv = await cliArgv(ctx, [
    "worker",
    "--nats",
    nats.url,
    "--stream",
    stream,
    "--until-empty",
    ...sealFlags(ctx, sessions),
  ]);
  const one = `${shJoin(argv)} > /dev/null`;
  const script = Array.from({ length: workers }, (_, i) => `${one} &\np${i}=$!`).join("\n") +
    `\nfails=0\n` +
    Array.from({ length: workers }, (_, i) => `wait $p${i} || fails=$((fails+1))`).join("\n") +
    `\necho "$fails"`;
  return withNats(nats, () =>
    withSink(ctx, () =>
      processRow(
        ctx,
        `queue-workers-${workers}`,
        "queue",
        `smimepost worker x ${workers} (${sessions} sessions each)`,
        n,
        script,
        smtpEnv(ctx),
      )));
}

/** One `smimepost send FOLDER` run of the same messages, with the workers' flags. */
export async function sendRunRow(
  ctx: BenchContext,
  folder: string,
  sessions: number,
  n: number,
): Promise<Row> {
  const argv = await cliArgv(ctx, ["send", folder, ...sealFlags(ctx, sessions)]);
  return withSink(ctx, () =>
    processRow(
      ctx,
      "queue-send",
      "queue",
      `smimepost send FOLDER, one run (${sessions} sessions)`,
      n,
      `${shJoin(argv)} > /dev/null || exit 1\necho 0`,
      smtpEnv(ctx),
    ));
}
