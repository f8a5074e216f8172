/**
 * Where a run's CPU goes, by stage: reads the V8 CPU profiles of every
 * isolate of one run (`deno run --cpu-prof --cpu-prof-dir=DIR cli.ts send
 * ...` writes one for the main thread and one per seal worker) and sorts
 * the busy samples' self time into the stages of sealing and delivery, in
 * ms per message. A developer tool, not part of `deno task bench`:
 *
 *     deno run --allow-read scripts/bench/profile_stages.ts DIR MESSAGES [DIR_B]
 *
 * With DIR_B, the two runs side by side (before and after). Samples are
 * taken on the wall clock: a thread that waits for a core still counts as
 * busy, so compare two runs made on the same machine one after the other.
 *
 * @module
 */
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Stages in the order the table shows them; the first whose test matches a frame wins. */
const STAGES: { name: string; matches: (fn: string, url: string) => boolean }[] = [
  { name: "idle", matches: (fn) => fn === "(idle)" || fn === "op_worker_maybe_wait_for_debugger" },
  {
    name: "crypto (libcrypto, node:crypto)",
    matches: (fn, url) =>
      /cms\/(libcrypto|ecdh)\.ts$|internal\/crypto\/|^op_node_(hash|aes|create_hash|cipheriv)/.test(
        url || fn,
      ),
  },
  { name: "CMS and DER (JS)", matches: (_, url) => /core\/cms\//.test(url) },
  {
    name: "MIME, base64, line ends",
    matches: (_, url) =>
      /core\/(message|smime)\/|core\/(pipeline|copies|bytes)\.ts$|text_encoding/.test(url),
  },
  {
    name: "hand-off between threads",
    matches: (fn, url) =>
      /serialize|post_message|op_create_worker|op_host_|op_worker_|11_workers|batch\/seal_/.test(
        url || fn,
      ),
  },
  {
    name: "SMTP and sockets",
    matches: (fn, url) =>
      /core\/smtp\/|core\/deliver\/|writev|writeUtf8String|writeBuffer|internal\/streams|stream_base|net\.ts|tcp_wrap/
        .test(url || fn),
  },
  {
    name: "reading the input",
    matches: (fn, url) => /op_fs_|batch\/sources\/|deno_fs/.test(url || fn),
  },
  {
    name: "the run (journal, events, progress)",
    matches: (_, url) => /core\/batch\/|core\/cli\//.test(url),
  },
  { name: "garbage collection", matches: (fn) => fn === "(garbage collector)" },
  {
    name: "start-up (modules, keys, npm packages)",
    matches: (fn, url) =>
      /core\/(keys|config)\/|registry\.npmjs\.org|op_load_ext_script|op_ffi_load|^ext:/.test(
        url || fn,
      ),
  },
];
const OTHER = "other (runtime, event loop, promises)";

/** Self time (ms) per stage over every profile in `dir`. */
export async function stageTimes(dir: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".cpuprofile")) continue;
    const profile: Profile = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
    const stageOf = new Map<number, string>();
    for (const node of profile.nodes) {
      const { functionName, url } = node.callFrame;
      stageOf.set(node.id, STAGES.find((s) => s.matches(functionName, url))?.name ?? OTHER);
    }
    profile.samples.forEach((id, i) => {
      const stage = stageOf.get(id) ?? OTHER;
      times.set(stage, (times.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return times;
}

if (import.meta.main) {
  const [dir, count, dirB] = Deno.args;
  const n = Number(count);
  if (!dir || !Number.isInteger(n) || n <= 0) {
    console.error("usage: scripts/bench/profile_stages.ts DIR MESSAGES [DIR_B]");
    Deno.exit(64);
  }
  const runs = [await stageTimes(dir), ...(dirB ? [await stageTimes(dirB)] : [])];
  const names = [...STAGES.map((s) => s.name).filter((s) => s !== "idle"), OTHER];
  const cell = (ms: number | undefined) => ((ms ?? 0) / n).toFixed(3).padStart(8);
  console.log(
    `${"stage (busy ms per message)".padEnd(42)}${
      runs.map((_, i) => `${dirB ? "AB"[i] : ""}`.padStart(8)).join("")
    }`,
  );
  for (const name of names) {
    console.log(`${name.padEnd(42)}${runs.map((r) => cell(r.get(name))).join("")}`);
  }
  const busy = (r: Map<string, number>) =>
    [...r].reduce((a, [k, v]) => k === "idle" ? a : a + v, 0);
  console.log(`${"all busy".padEnd(42)}${runs.map((r) => cell(busy(r))).join("")}`);
}
