/**
 * The race of the old tool's article, in `deno task bench`: the same CLI
 * run (sign + encrypt + deliver a folder of messages) once over SMTP into
 * Postfix's `smtp-sink` and once through the `sparkpost-api` plugin into a
 * local transmissions endpoint (api_sink.ts), at the same --sessions, for a
 * message that seals to ~19 KB and one that seals to ~577 KB.
 *
 * The endpoint's own CPU is measured like the sink's ("sink CPU s"), so a
 * row whose cost is the endpoint's shows it.
 *
 * @module
 */
import { API_SINK_KEY, shJoin, type Sink } from "./measure.ts";
import { type BenchContext, cliArgv, processRow, type Row } from "./rows.ts";

/** Which way the messages go. */
export type RaceTransport = "smtp" | "api";

/** One race row's settings. */
export interface RaceRun {
  transport: RaceTransport;
  /** Label of the sealed size, "19" or "577" (KB). */
  size: string;
  /** The plain message that seals to that size. */
  file: string;
  /** Messages in the run. */
  n: number;
  sessions: number;
  /** smtp-sink for "smtp", the transmissions endpoint for "api". */
  target: Sink;
}

/** One CLI process sealing and delivering `n` copies of `run.file`. */
export async function raceRow(ctx: BenchContext, run: RaceRun): Promise<Row> {
  const plain = await Deno.readFile(run.file);
  const folder = `${ctx.work}/race-${run.size}`;
  await Deno.mkdir(folder, { recursive: true });
  for (let i = 0; i < run.n; i++) await Deno.writeFile(`${folder}/m${i}.eml`, plain);
  const { host, port } = run.target;
  const [flag, env]: [string, Record<string, string>] = run.transport === "smtp"
    ? ["--send_smtp", { SMTP_HOST: host, SMTP_PORT: String(port), SMTP_TLS: "never" }]
    : ["--send_api", { SPARKPOST_API_KEY: API_SINK_KEY, SPARKPOST_HOST: `http://${host}:${port}` }];
  const argv = await cliArgv(ctx, [
    "send",
    folder,
    "--sign",
    "--encrypt",
    "--single-copy",
    "--keys",
    ctx.keysDir,
    flag,
    "--sessions",
    String(run.sessions),
    "-q",
  ]);
  const before = await run.target.cpu();
  const row = await processRow(
    ctx,
    `race-${run.transport}-${run.size}`,
    `race-${run.size}`,
    run.transport === "smtp"
      ? `smimepost batch --send_smtp -> smtp-sink, ${run.sessions} sessions`
      : `smimepost batch --send_api -> local transmissions endpoint, ${run.sessions} sessions`,
    run.n,
    // The CLI's exit code says whether every message was accepted.
    `${shJoin(argv)} > /dev/null || exit 1\necho 0`,
    env,
  );
  const after = await run.target.cpu();
  if (before !== undefined && after !== undefined) row.sinkCpuSeconds = after - before;
  await Deno.remove(folder, { recursive: true });
  return row;
}
