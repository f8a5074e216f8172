/**
 * Two source trees of smimepost, A and B, compared in one process: the
 * same work through each, in alternating rounds, and the ratio A/B of CPU
 * and wall time per call, round by round. On a shared machine only such
 * paired ratios mean anything. A developer tool, not part of
 * `deno task bench`:
 *
 *     git worktree add /tmp/base HEAD~1   # or any other tree
 *     deno run --allow-read --allow-write --allow-ffi --allow-env scripts/bench/ab.ts \
 *       seal|encrypt TREE_A TREE_B KEYS_DIR FILE [N] [ROUNDS]
 *
 * `seal`: sealMessage() of FILE (from alice@example.com), signed and
 * encrypted, one copy; `encrypt`: encrypt() of FILE's bytes to
 * bob@example.com (RSA-3072), carol@example.net (EC P-256) and
 * alice@example.com (RSA-2048). KEYS_DIR is a test key folder
 * (scripts/make_pki.ts).
 *
 * @module
 */
import process from "node:process";

type Run = () => Promise<unknown>;

/** The work to time, through the modules of the tree at `root`. */
async function setup(mode: string, root: string, dir: string, file: string): Promise<Run> {
  const { KeyStore } = await import(`${root}/core/keys/mod.ts`);
  const keys = new KeyStore({ dir });
  const bytes = await Deno.readFile(file);
  if (mode === "encrypt") {
    const { encrypt } = await import(`${root}/core/cms/mod.ts`);
    const addresses = ["bob@example.com", "carol@example.net", "alice@example.com"];
    const certs: Uint8Array[] = [];
    for (const a of addresses) certs.push((await keys.certificateFor(a, "encrypt")).certificate);
    return () => encrypt(bytes, certs, {});
  }
  const { parseMessage } = await import(`${root}/core/message/mod.ts`);
  const { sealMessage } = await import(`${root}/core/pipeline.ts`);
  const options = {
    sign: true,
    detached: false,
    encrypt: true,
    singleCopy: true,
    ecRecipients: "shared",
  };
  return () => sealMessage(parseMessage(bytes, file), keys, options);
}

/** CPU and wall milliseconds per call of `run` over `n` calls. */
async function measure(n: number, run: Run): Promise<{ cpu: number; wall: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1000 / n, wall: (performance.now() - start) / n };
}

const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;

if (import.meta.main) {
  const [mode, a, b, dir, file, count, rounds] = Deno.args;
  if (!a || !b || !dir || !file || (mode !== "seal" && mode !== "encrypt")) {
    console.error(
      "usage: scripts/bench/ab.ts seal|encrypt TREE_A TREE_B KEYS_DIR FILE [N] [ROUNDS]",
    );
    Deno.exit(64);
  }
  const n = Number(count ?? 400);
  const runA = await setup(mode, a, dir, file);
  const runB = await setup(mode, b, dir, file);
  // Warm-up: JIT, key caches, libcrypto loaded in both trees.
  for (let i = 0; i < 100; i++) await runA(), await runB();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < Number(rounds ?? 10); i++) {
    const x = await measure(n, runA);
    const y = await measure(n, runB);
    cpu.push(x.cpu / y.cpu);
    wall.push(x.wall / y.wall);
    console.log(
      `round ${i}: A ${x.cpu.toFixed(3)} / ${x.wall.toFixed(3)}, ` +
        `B ${y.cpu.toFixed(3)} / ${y.wall.toFixed(3)} ms CPU / wall per call`,
    );
  }
  console.log(
    `A/B median: CPU ${median(cpu).toFixed(3)} (${Math.min(...cpu).toFixed(3)}-` +
      `${Math.max(...cpu).toFixed(3)}), wall ${median(wall).toFixed(3)} ` +
      `(${Math.min(...wall).toFixed(3)}-${Math.max(...wall).toFixed(3)})`,
  );
}
