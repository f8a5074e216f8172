/**
 * The raw injection row of `deno task bench` for two source trees A and B
 * and `smtp-source`, in alternating rounds into one `smtp-sink`, with the
 * ratios A/smtp-source and B/smtp-source of msg/s and CPU per message, round
 * by round (on a shared machine only such paired ratios mean anything). With
 * `--profile DIR`, one more run of each tree under `--cpu-prof` writes V8 CPU
 * profiles to DIR/a and DIR/b and prints their top functions by self time
 * (busy samples only; a thread that waits for a core still counts as busy,
 * so compare the two tables of one run). With `--crlf`
 * the messages have CRLF line ends, as sealing makes them (the bench's files
 * have LF). A developer tool, not part of `deno task bench`:
 *
 *     git archive HEAD~3 | tar -x -C /tmp/base     # or any other tree
 *     deno run --allow-all scripts/bench/raw_ab.ts TREE_A TREE_B [N] [ROUNDS] [SESSIONS] \
 *       [--profile DIR] [--crlf]
 *
 * Each tree runs its own scripts/bench/inprocess.ts (its SmtpClient) on the
 * same pre-built ~19 KB sealed messages (LF line ends unless --crlf).
 *
 * @module
 */
import { KeyStore, loadPemBundle } from "../../core/keys/mod.ts";
import { parseMessage } from "../../core/message/mod.ts";
import { sealMessage } from "../../core/pipeline.ts";
import { makeTestPki } from "../make_pki.ts";
import { runMeasured, shJoin, startSink } from "./measure.ts";
import { RECIPIENTS, SENDER, statement, toCrlfBytes, toLf } from "./messages.ts";
import type { InjectTask } from "./inprocess.ts";
import { inProcess } from "./rows.ts";

interface Figures {
  msgPerSecond: number;
  cpuMsPerMessage: number;
}

/** Runs TREE/scripts/bench/inprocess.ts on `task`, with extra Deno flags. */
async function inject(tree: string, task: InjectTask, flags: string[] = []): Promise<Figures> {
  const r = await inProcess(task, { tree, flags });
  if (r.failures > 0) throw new Error(`${tree}: ${r.failures} sends failed`);
  return { msgPerSecond: r.n / r.seconds, cpuMsPerMessage: (r.cpuSeconds * 1000) / r.n };
}

async function smtpSource(task: InjectTask, work: string): Promise<Figures> {
  const argv = [
    "smtp-source",
    "-4",
    "-d",
    "-s",
    String(task.sessions),
    "-m",
    String(task.count),
    "-r",
    String(task.recipients.length),
    "-F",
    task.files[0]!,
    "-M",
    "localhost",
    "-f",
    task.sender,
    "-t",
    task.recipients[0]!,
    `${task.host}:${task.port}`,
  ];
  const cost = await runMeasured(shJoin(argv), { dir: work });
  if (cost.code !== 0 || cost.cpuSeconds === undefined) {
    throw new Error(`smtp-source failed: ${cost.stderr}`);
  }
  return {
    msgPerSecond: task.count / cost.seconds,
    cpuMsPerMessage: (cost.cpuSeconds * 1000) / task.count,
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The top `n` functions of a .cpuprofile by self time, idle left out, as table lines. */
export function topSelfTime(profile: {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}, n = 25): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node || node.callFrame.functionName === "(idle)") return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split("/").slice(-2).join("/");
    const key = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key, us]) =>
    `${(100 * us / total).toFixed(1).padStart(5)}%  ${
      (us / 1000).toFixed(0).padStart(6)
    } ms  ${key}`
  );
}

const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;

if (import.meta.main) {
  const args = [...Deno.args];
  const p = args.indexOf("--profile");
  const profileDir = p >= 0 ? args.splice(p, 2)[1] : undefined;
  const c = args.indexOf("--crlf");
  const isCrlf = c >= 0 && args.splice(c, 1).length > 0;
  const [a, b, count, rounds, sessions] = args;
  if (!a || !b) {
    console.error(
      "usage: scripts/bench/raw_ab.ts TREE_A TREE_B [N] [ROUNDS] [SESSIONS] [--profile DIR] " +
        "[--crlf]",
    );
    Deno.exit(64);
  }
  const work = await Deno.makeTempDir({ prefix: "smimepost-raw-ab-" });
  const sink = await startSink(work);
  try {
    await makeTestPki(`${work}/keys`);
    const keys = new KeyStore({
      dir: `${work}/keys`,
      trustAnchors: loadPemBundle(await Deno.readFile(`${work}/keys/trust.pem`), "trust.pem"),
    });
    const files: string[] = [];
    const options = {
      sign: true,
      detached: false,
      encrypt: true,
      singleCopy: true,
      ecRecipients: "shared" as const,
    };
    for (let i = 0; i < 8; i++) {
      const plain = parseMessage(statement(7_800, `bench-${i}`), "bench.eml");
      const sealed = (await sealMessage(plain, keys, options)).copies[0]!.bytes;
      files.push(`${work}/sealed-${i}.eml`);
      await Deno.writeFile(files[i]!, isCrlf ? toCrlfBytes(sealed) : toLf(sealed));
    }
    const task: InjectTask = {
      mode: "inject",
      host: sink.host,
      port: sink.port,
      sessions: Number(sessions ?? 8),
      depth: 4,
      count: Number(count ?? 3000),
      files,
      sender: SENDER,
      recipients: [...RECIPIENTS],
    };
    console.log(
      `${task.count} messages of ${(await Deno.stat(files[0]!)).size} bytes ` +
        `(${isCrlf ? "CRLF" : "LF"}), ` +
        `${task.sessions} sessions x ${task.depth} in flight`,
    );
    const ratios = { aRate: [] as number[], aCpu: [] as number[], bRate: [], bCpu: [] } as Record<
      string,
      number[]
    >;
    const fmt = (f: Figures) =>
      `${f.msgPerSecond.toFixed(0)} msg/s ${f.cpuMsPerMessage.toFixed(3)} ms CPU/msg`;
    for (let i = 0; i < Number(rounds ?? 5); i++) {
      const x = await inject(a, task);
      const y = await inject(b, task);
      const s = await smtpSource(task, work);
      ratios.aRate!.push(x.msgPerSecond / s.msgPerSecond);
      ratios.aCpu!.push(x.cpuMsPerMessage / s.cpuMsPerMessage);
      ratios.bRate!.push(y.msgPerSecond / s.msgPerSecond);
      ratios.bCpu!.push(y.cpuMsPerMessage / s.cpuMsPerMessage);
      console.log(`round ${i}: A ${fmt(x)} | B ${fmt(y)} | smtp-source ${fmt(s)}`);
    }
    const show = (v: number[]) =>
      `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)})`;
    console.log(
      `median of rounds, ours / smtp-source:\n` +
        `  A: msg/s ${show(ratios.aRate!)}, CPU/msg ${show(ratios.aCpu!)}\n` +
        `  B: msg/s ${show(ratios.bRate!)}, CPU/msg ${show(ratios.bCpu!)}`,
    );
    if (profileDir) {
      for (const [name, tree] of [["a", a], ["b", b]] as const) {
        const dir = `${profileDir}/${name}`;
        await Deno.mkdir(dir, { recursive: true });
        const before = new Set([...Deno.readDirSync(dir)].map((e) => e.name));
        await inject(tree, task, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
        const written = [...Deno.readDirSync(dir)].map((e) => e.name)
          .filter((file) => file.endsWith(".cpuprofile") && !before.has(file));
        for (const file of written) {
          console.log(`profile of ${name.toUpperCase()} ${dir}/${file}, top self time:`);
          const profile = JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
          for (const line of topSelfTime(profile)) console.log(line);
        }
      }
    }
  } finally {
    await sink.stop();
    await Deno.remove(work, { recursive: true });
  }
}
