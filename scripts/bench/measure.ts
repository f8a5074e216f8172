/**
 * Measuring child processes for `deno task bench`: wall time, CPU seconds
 * (user + system, the process and every descendant it waited for) and peak
 * RSS (the largest single process), by GNU `/usr/bin/time -f` when present,
 * else bash's `times` (no RSS then); and the `smtp-sink` every SMTP row
 * sends to.
 *
 * @module
 */

/** Quotes one word for bash. */
export function sh(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quotes a command line for bash. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(sh).join(" ");
}

/** What a measured child process cost. */
export interface ProcessCost {
  /** Wall seconds from spawn to exit, measured here. */
  seconds: number;
  /** User + system CPU seconds of the process tree; undefined when unknown. */
  cpuSeconds?: number;
  /** Peak RSS of the largest process of the tree, KiB; undefined when unknown. */
  peakRssKb?: number;
  code: number;
  stdout: string;
  stderr: string;
}

const GNU_TIME = "/usr/bin/time";
let gnuTime: boolean | undefined;

async function hasGnuTime(): Promise<boolean> {
  if (gnuTime === undefined) {
    try {
      const out = await new Deno.Command(GNU_TIME, {
        args: ["-f", "%U %S %M", "true"],
        stdout: "null",
        stderr: "piped",
      }).output();
      gnuTime = out.code === 0 &&
        /^\d+\.\d+ \d+\.\d+ \d+\s*$/.test(new TextDecoder().decode(out.stderr));
    } catch {
      gnuTime = false;
    }
  }
  return gnuTime;
}

/** `times` output: "0m0.001s 0m0.002s" for the shell, then its children. */
function parseTimes(text: string): number | undefined {
  const values = [...text.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => +m[1]! * 60 + +m[2]!);
  return values.length === 4 ? values.reduce((a, b) => a + b, 0) : undefined;
}

/**
 * Runs a bash script and measures it. The script's stdout is returned; put
 * `>/dev/null` where output is not wanted.
 */
export async function runMeasured(
  script: string,
  options: { dir: string; env?: Record<string, string> },
): Promise<ProcessCost> {
  const costFile = await Deno.makeTempFile({ dir: options.dir, prefix: "cost-" });
  const useTime = await hasGnuTime();
  const [cmd, args] = useTime
    ? [GNU_TIME, ["-f", "%U %S %M", "-o", costFile, "bash", "-c", script]]
    : ["bash", ["-c", `{\n${script}\n}\ntimes > ${sh(costFile)}`]];
  const start = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const cost = await Deno.readTextFile(costFile).catch(() => "");
  await Deno.remove(costFile).catch(() => {});
  let cpuSeconds: number | undefined;
  let peakRssKb: number | undefined;
  if (useTime) {
    // A non-zero exit adds a "Command exited with non-zero status" line first.
    const m = /(\d+\.\d+) (\d+\.\d+) (\d+)\s*$/.exec(cost);
    if (m) [cpuSeconds, peakRssKb] = [+m[1]! + +m[2]!, +m[3]!];
  } else {
    cpuSeconds = parseTimes(cost);
  }
  return {
    seconds,
    cpuSeconds,
    peakRssKb,
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

let clockTicks: number | undefined;

/** User + system CPU seconds a live process has used so far, from /proc/PID/stat. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  // Deno wants --allow-all for /proc; `cat` only needs --allow-run.
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stderr: "null" })
    .output();
  if (out.code !== 0) return undefined;
  if (clockTicks === undefined) {
    const tck = await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output()
      .catch(() => undefined);
    clockTicks = Number(new TextDecoder().decode(tck?.stdout ?? new Uint8Array()).trim()) || 100;
  }
  const text = new TextDecoder().decode(out.stdout);
  // Fields after "(comm) ": state is field 3, utime 14, stime 15.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / clockTicks : undefined;
}

/** A free TCP port on 127.0.0.1 (free when asked; nothing holds it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A running Postfix `smtp-sink`. */
export interface Sink {
  host: string;
  port: number;
  pid: number;
  /** Its CPU seconds so far. */
  cpu(): Promise<number | undefined>;
  /** Stops it (by PID) and waits for it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `smtp-sink` on a free loopback port: it accepts every message,
 * offers PIPELINING, stores nothing. Resolves once it accepts connections.
 */
export async function startSink(dir: string): Promise<Sink> {
  const host = "127.0.0.1";
  const log = `${dir}/smtp-sink.log`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    // -u: it insists on dropping root; 1024: listen backlog. exec: the PID is smtp-sink's.
    const argv = ["smtp-sink", "-u", "nobody", "-4", `${host}:${port}`, "1024"];
    const child = new Deno.Command("bash", {
      args: ["-c", `exec ${shJoin(argv)} 2>${sh(log)}`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const status = child.status;
    let exited = false;
    status.then(() => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      try {
        (await Deno.connect({ hostname: host, port })).close();
        let stopped: Promise<void> | undefined;
        return {
          host,
          port,
          pid: child.pid,
          cpu: () => processCpuSeconds(child.pid),
          stop: () =>
            stopped ??= (async () => {
              try {
                child.kill("SIGTERM");
              } catch {
                // Already gone.
              }
              await status;
            })(),
        };
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await status;
    const err = await Deno.readTextFile(log).catch(() => "");
    if (!/address already in use/i.test(err)) {
      throw new Error(`smtp-sink did not start: ${err.trim() || "no listener"}`);
    }
  }
  throw new Error("smtp-sink did not start: no free port");
}

/** The API key the local transmissions endpoint expects. */
export const API_SINK_KEY = "bench-api-key";

/**
 * Starts the local transmissions endpoint (api_sink.ts) in a Deno process
 * of its own on a free loopback port. Resolves once it listens.
 */
export async function startApiSink(): Promise<Sink> {
  const script = new URL("./api_sink.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--allow-net", script, API_SINK_KEY],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  // The rest of its output is not wanted; reading it keeps the pipe from filling.
  (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  const port = Number((JSON.parse(text.split("\n")[0] || "{}") as { port?: number }).port);
  if (!port) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error("the local transmissions endpoint did not start");
  }
  let stopped: Promise<void> | undefined;
  return {
    host: "127.0.0.1",
    port,
    pid: child.pid,
    cpu: () => processCpuSeconds(child.pid),
    stop: () =>
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        await child.status;
      })(),
  };
}
