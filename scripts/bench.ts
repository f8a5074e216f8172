/**
 * `deno task bench`: sign+encrypt cost, measured side by side with the
 * do-it-by-hand peer (`openssl cms -sign | openssl cms -encrypt`) in one run,
 * reported as ratios. Figures from one run on a shared machine are only
 * comparable with each other.
 *
 *   - in-process: sealMessage() per message, 19 KB and 577 KB
 *   - whole process: one `smimepost send --sign --encrypt` per message
 *   - peer: one `openssl cms -sign | openssl cms -encrypt` pipeline per message
 *
 * @module
 */
import process from "node:process";
import { KeyStore, loadPemBundle } from "../core/keys/mod.ts";
import { parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import { makeTestPki } from "./make_pki.ts";
import { runCli } from "./run_cli.ts";

const work = await Deno.makeTempDir({ prefix: "smimepost-bench-" });
const keysDir = `${work}/keys`;
await makeTestPki(keysDir);

/** A statement-like message of about `size` bytes: text and a base64 attachment. */
function statement(size: number): Uint8Array {
  const text = "Dear customer, your statement is attached. Balance: 1,234.56 EUR.\n".repeat(20);
  const line = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZUR\n";
  const head = `From: alice@example.com\nTo: bob@example.com\nCc: carol@example.net\n` +
    `Subject: Statement\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n` +
    `--b\nContent-Type: text/plain; charset=utf-8\n\n${text}--b\n` +
    `Content-Type: application/pdf; name="s.pdf"\nContent-Transfer-Encoding: base64\n\n`;
  const lines = Math.max(0, Math.floor((size - head.length - 8) / line.length));
  return new TextEncoder().encode(`${head}${line.repeat(lines)}--b--\n`);
}

const sizes = [{ label: "19 KB", bytes: statement(19_000) }, {
  label: "577 KB",
  bytes: statement(577_000),
}];
const keys = new KeyStore({
  dir: keysDir,
  trustAnchors: loadPemBundle(await Deno.readFile(`${keysDir}/trust.pem`), "trust.pem"),
});

async function inProcess(bytes: Uint8Array, seconds: number): Promise<number> {
  const options = { sign: true, detached: false, encrypt: true, singleCopy: true };
  for (let i = 0; i < 5; i++) await sealMessage(parseMessage(bytes, "bench.eml"), keys, options);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await sealMessage(parseMessage(bytes, "bench.eml"), keys, options);
    n++;
  }
  return (performance.now() - start) / n;
}

async function timeCommand(run: () => Promise<void>, times: number): Promise<number> {
  await run();
  const start = performance.now();
  for (let i = 0; i < times; i++) await run();
  return (performance.now() - start) / times;
}

async function opensslPipeline(file: string): Promise<void> {
  const k = keysDir;
  const script = `openssl cms -sign -in ${file} -signer ${k}/alice@example.com.crt ` +
    `-inkey ${k}/alice@example.com.pem -md sha256 -nodetach | openssl cms -encrypt -aes256 ` +
    `${k}/bob@example.com.crt ${k}/carol@example.net.crt ${k}/alice@example.com.crt > /dev/null`;
  const out = await new Deno.Command("bash", { args: ["-c", script] }).output();
  if (out.code !== 0) {
    throw new Error(`openssl pipeline failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const rows: string[][] = [];
const cpuStart = process.cpuUsage();
for (const { label, bytes } of sizes) {
  const file = `${work}/m-${label.replace(" ", "")}.eml`;
  await Deno.writeFile(file, bytes);
  const inMs = await inProcess(bytes, 3);
  const cliMs = await timeCommand(async () => {
    const run = await runCli(["send", file, "--sign", "--encrypt", "--keys", keysDir]);
    if (run.code !== 0) throw new Error(run.stderr);
  }, 10);
  const sslMs = await timeCommand(() => opensslPipeline(file), 10);
  rows.push([
    label,
    inMs.toFixed(2),
    (1000 / inMs).toFixed(0),
    cliMs.toFixed(0),
    sslMs.toFixed(1),
    (sslMs / inMs).toFixed(1) + "x",
    (sslMs / cliMs).toFixed(2) + "x",
  ]);
}
const cpu = process.cpuUsage(cpuStart);
const header = [
  "message",
  "in-process ms/msg",
  "in-process msg/s",
  "smimepost process ms",
  "openssl|openssl ms",
  "openssl / in-process",
  "openssl / process",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const format = (r: string[]) => r.map((c, i) => c.padStart(widths[i]!)).join("  ");
console.log("sign (RSA-2048, SHA-256, opaque) + encrypt (AES-256-CBC, 3 RSA/EC recipients)");
console.log(format(header));
for (const row of rows) console.log(format(row));
const status = await Deno.readTextFile("/proc/self/status").catch(() => "");
const peak = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
console.log(
  `bench process: ${(cpu.user / 1e6).toFixed(1)} s user CPU, ` +
    `${(cpu.system / 1e6).toFixed(1)} s system CPU, peak RSS ${
      peak ? Math.round(+peak / 1024) : "?"
    } MB`,
);
console.log("ratios above 1x mean smimepost is faster than the openssl pipeline");
await Deno.remove(work, { recursive: true });
