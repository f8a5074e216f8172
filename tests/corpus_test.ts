/**
 * The refusal corpus: broken, odd and hostile messages, keys, certificates,
 * configs and flags, each run through the CLI exactly as the compiled binary
 * would run it (scripts/run_cli.ts). The cases live in tests/corpus/; this
 * file runs them and asserts, for every refusal:
 *
 * - the exit status of the README table;
 * - nothing on stdout, and nothing received by the sink for a delivery;
 * - one line on stderr, naming the file, address or config key and the reason;
 * - no stack trace ("    at ");
 * - nothing half-written: no -o file, no temporary file, in the working
 *   folder or in $TMPDIR.
 *
 * The cases that must work (headers only, mixed line ends, 10 000 headers,
 * 1 000-deep nesting, DER certificates, a 50 MB attachment...) are judged by
 * openssl: it must decrypt and verify what smimepost wrote.
 *
 * Complements tests/cli_test.ts and tests/cli_deliver_test.ts, whose
 * refusals are not repeated here.
 */
import { join } from "node:path";
import { assert, assertEquals, assertIncludes } from "./support/assert.ts";
import { openssl, toLf } from "./support/helpers.ts";
import { runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { makeTestPki } from "../scripts/make_pki.ts";
import type { TestPki } from "../scripts/make_pki.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkServer } from "../core/sink/mod.ts";
import {
  BCC_ONLY,
  type MessageCase,
  refusedMessages,
  refusedToOpen,
  sealedMessages,
  withAttachment,
} from "./corpus/messages.ts";
import { acceptedKeyCases, type KeyCase, keyCases, ZED } from "./corpus/keys.ts";
import { type ConfigCase, configCases } from "./corpus/configs.ts";
import { CLEAN_ENV } from "./support/batch.ts";

const decoder = new TextDecoder();

// ------------------------------------------------------------------ set-up

/** Variables a run must not inherit from the test runner's environment. */

let pkiPromise: Promise<TestPki> | undefined;

/** One PKI for the whole file, with `issue()` for the odd certificates. */
function corpusPki(): Promise<TestPki> {
  pkiPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "smimepost-corpus-pki-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    return await makeTestPki(dir);
  })();
  return pkiPromise;
}

/** A scratch working folder: `work/` (the cwd), `tmp/` ($TMPDIR), `xdg/`. */
interface Scratch {
  root: string;
  work: string;
  tmp: string;
  env: Record<string, string>;
}

async function withScratch<T>(fn: (s: Scratch) => Promise<T>): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "smimepost-corpus-" });
  const work = join(root, "work");
  const tmp = join(root, "tmp");
  await Deno.mkdir(work);
  await Deno.mkdir(tmp);
  // Not HOME: deno finds its module cache there.
  const env = { ...CLEAN_ENV, XDG_CONFIG_HOME: join(root, "xdg"), TMPDIR: tmp };
  try {
    return await fn({ root, work, tmp, env });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Every path under `dir`, sorted (for "nothing was left behind"). */
async function listing(dir: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    names.push(path);
    if (entry.isDirectory) names.push(...await listing(join(dir, entry.name), `${path}/`));
  }
  return names.sort();
}

// -------------------------------------------------------------- assertions

/**
 * A refusal: the exit status, nothing on stdout, one line on stderr holding
 * every part of `names`, no stack trace, no secret.
 */
function assertRefused(run: CliRun, code: number, names: string[], secrets: string[] = []): void {
  const shown = `exit ${run.code}\nstdout: ${run.text.slice(0, 300)}\nstderr: ${run.stderr}`;
  assertEquals(run.code, code, shown);
  assertEquals(run.stdout.length, 0, `stdout must be empty on a refusal\n${shown}`);
  const lines = run.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one line on stderr expected\n${shown}`);
  assert(lines[0]!.startsWith("smimepost: "), shown);
  assert(!run.stderr.includes("    at "), `stack trace on stderr\n${shown}`);
  assert(!run.stderr.includes("internal error"), shown);
  for (const name of names) assertIncludes(run.stderr, name);
  for (const secret of secrets) {
    assert(!run.stderr.includes(secret) && !run.text.includes(secret), `secret leaked: ${secret}`);
  }
}

/** The working folder holds exactly `expected` and $TMPDIR nothing. */
async function assertNothingLeft(s: Scratch, expected: string[]): Promise<void> {
  assertEquals(await listing(s.work), [...expected].sort(), "files left in the working folder");
  assertEquals(await listing(s.tmp), [], "files left in $TMPDIR");
}

/** openssl decrypts `sealed` with `recipient`'s key and, if signed, verifies it. */
async function assertOpensslOpens(
  pki: TestPki,
  sealed: Uint8Array,
  recipient: { crt: string; key: string } | undefined,
  signed: boolean,
  caFile?: string,
): Promise<Uint8Array> {
  let inner = sealed;
  if (recipient) {
    const decrypted = await openssl(
      ["cms", "-decrypt", "-recip", recipient.crt, "-inkey", recipient.key],
      sealed,
    );
    assertEquals(decrypted.code, 0, `openssl cms -decrypt: ${decrypted.stderr}`);
    inner = decrypted.stdout;
  }
  if (signed) {
    const verified = await openssl(
      ["cms", "-verify", "-CAfile", caFile ?? pki.trustFile, "-purpose", "smimesign"],
      inner,
    );
    assertEquals(verified.code, 0, `openssl cms -verify: ${verified.stderr}`);
    inner = verified.stdout;
  }
  return inner;
}

function pkiFiles(pki: TestPki, address: string) {
  return { crt: join(pki.dir, `${address}.crt`), key: join(pki.dir, `${address}.pem`) };
}

/** Where a sealed message goes: stdout, `-o out.eml`, or --send_smtp to a sink. */
type Output = "stdout" | "file" | SinkServer;

function outputArgs(output: Output): string[] {
  return output === "file" ? ["-o", "out.eml"] : output === "stdout" ? [] : ["--send_smtp"];
}

function outputEnv(output: Output): Record<string, string> {
  return typeof output === "string"
    ? {}
    : { SMTP_HOST: output.host, SMTP_PORT: String(output.port) };
}

/** Runs `fn` with a live sink, and asserts that it received nothing. */
async function withEmptySink(fn: (sink: SinkServer) => Promise<void>): Promise<void> {
  const sink = await startSink({ port: 0 });
  try {
    await fn(sink);
    assertEquals(sink.count, 0, "something was delivered");
    assertEquals(sink.received.length, 0, "something was delivered");
  } finally {
    await sink.close();
  }
}

// ---------------------------------------------------------------- messages

/** Runs `send` on a message case, to stdout or to `-o out.eml`. */
async function sendMessage(
  c: MessageCase,
  bytes: Uint8Array,
  output: Output,
): Promise<{ run: CliRun; left: string[]; tmp: string[]; out?: Uint8Array }> {
  const pki = await corpusPki();
  return await withScratch(async (s) => {
    if (!c.stdin) await Deno.writeFile(join(s.work, "m.eml"), bytes);
    const args = [
      "send",
      c.stdin ? "-" : "m.eml",
      ...(c.args ?? ["--sign", "--encrypt"]),
      "--keys",
      pki.dir,
      "--trust",
      pki.trustFile,
      ...outputArgs(output),
    ];
    const env = { ...s.env, ...outputEnv(output) };
    const run = await runCli(args, { cwd: s.work, env, stdin: c.stdin ? bytes : undefined });
    const left = await listing(s.work);
    const out = output === "file" && left.includes("out.eml")
      ? await Deno.readFile(join(s.work, "out.eml"))
      : undefined;
    return { run, left, tmp: await listing(s.tmp), out };
  });
}

for (const c of refusedMessages) {
  Deno.test(`corpus: message with ${c.name} is refused (${c.code})`, async (t) => {
    const bytes = c.bytes();
    const names = [c.stdin ? "<stdin>" : "m.eml", ...(c.names ?? [])];
    // To stdout and to -o, at once: the same refusal, and no file left behind.
    const [toStdout, toFile] = await Promise.all([
      sendMessage(c, bytes, "stdout"),
      sendMessage(c, bytes, "file"),
    ]);
    for (const [output, result] of [["to stdout", toStdout], ["to -o", toFile]] as const) {
      await t.step(output, () => {
        assertRefused(result.run, c.code, names);
        assertEquals(result.left, c.stdin ? [] : ["m.eml"], "a file was left behind");
        assertEquals(result.tmp, [], "a temporary file was left behind");
      });
    }
  });
}

for (const c of refusedMessages.filter((m) => m.deliver)) {
  Deno.test(`corpus: delivering message with ${c.name} is refused, nothing sent (${c.code})`, async () => {
    await withEmptySink(async (sink) => {
      const result = await sendMessage(c, c.bytes(), sink);
      assertRefused(result.run, c.code, [c.stdin ? "<stdin>" : "m.eml", ...(c.names ?? [])]);
      assertEquals([result.left, result.tmp], [["m.eml"], []]);
    });
  });
}

for (const c of sealedMessages) {
  Deno.test(`corpus: message with ${c.name} is sealed and openssl opens it (0)`, async () => {
    const pki = await corpusPki();
    const { run, left, tmp } = await sendMessage(c, c.bytes(), "stdout");
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stderr, "", "no warning expected");
    assertEquals([left, tmp], [["m.eml"], []]);
    const inner = await assertOpensslOpens(pki, run.stdout, pkiFiles(pki, "bob@example.com"), true);
    assert(inner.length > 0);
  });
}

Deno.test("corpus: message with Bcc only, signed, goes out without the Bcc header (0)", async () => {
  const pki = await corpusPki();
  const c: MessageCase = { name: "bcc", bytes: () => BCC_ONLY, args: ["--sign"], code: 0 };
  const { run } = await sendMessage(c, BCC_ONLY, "stdout");
  assertEquals(run.code, 0, run.stderr);
  assert(!/^Bcc:/im.test(run.text), "Bcc leaked");
  await assertOpensslOpens(pki, run.stdout, undefined, true);
});

Deno.test("corpus: message with 1 000-deep nesting keeps its innermost part intact (0)", async () => {
  const pki = await corpusPki();
  const c = sealedMessages.find((m) => m.name.includes("nested 1 000"))!;
  const { run } = await sendMessage(c, c.bytes(), "stdout");
  assertEquals(run.code, 0, run.stderr);
  const inner = await assertOpensslOpens(pki, run.stdout, pkiFiles(pki, "bob@example.com"), true);
  const text = decoder.decode(toLf(inner));
  assertIncludes(text, "--b999\n");
  assertIncludes(text, "innermost");
  assertIncludes(text, "--b0--");
});

Deno.test("corpus: message with a 50 MB attachment is signed and encrypted; openssl decrypts it (0)", async () => {
  const pki = await corpusPki();
  await withScratch(async (s) => {
    await Deno.writeFile(join(s.work, "big.eml"), withAttachment(50 * 1024 * 1024));
    const run = await runCli(
      [
        "send",
        "big.eml",
        "--sign",
        "--encrypt",
        "--keys",
        pki.dir,
        "--trust",
        pki.trustFile,
        "-o",
        "big.out",
      ],
      { cwd: s.work, env: s.env },
    );
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stdout.length, 0);
    await assertNothingLeft(s, ["big.eml", "big.out"]);
    const bob = pkiFiles(pki, "bob@example.com");
    const out = join(s.work, "big.out");
    const decrypted = await openssl([
      "cms",
      "-decrypt",
      "-recip",
      bob.crt,
      "-inkey",
      bob.key,
      "-in",
      out,
      "-out",
      join(s.work, "big.p7m"),
    ]);
    assertEquals(decrypted.code, 0, decrypted.stderr);
    const verified = await openssl([
      "cms",
      "-verify",
      "-CAfile",
      pki.trustFile,
      "-purpose",
      "smimesign",
      "-in",
      join(s.work, "big.p7m"),
      "-out",
      "/dev/null",
    ]);
    assertEquals(verified.code, 0, verified.stderr);
  });
});

for (const c of refusedToOpen) {
  Deno.test(`corpus: ${c.command} of ${c.name} is refused (${c.code})`, async () => {
    const pki = await corpusPki();
    await withScratch(async (s) => {
      await Deno.writeFile(join(s.work, "m.eml"), c.bytes());
      const args = [c.command, "m.eml", "--keys", pki.dir, "--trust", pki.trustFile];
      const run = await runCli(
        c.command === "decrypt" ? [...args, "-o", "out.eml"] : args,
        { cwd: s.work, env: s.env },
      );
      assertRefused(run, c.code, c.names);
      await assertNothingLeft(s, ["m.eml"]);
    });
  });
}

// ---------------------------------------------------- keys and certificates

/** Runs `send` for a key case in a fresh key folder (alice's and bob's files plus the case's). */
async function sendWithKeys(c: KeyCase, output: Output) {
  const pki = await corpusPki();
  return await withScratch(async (s) => {
    const dir = join(s.root, "keys");
    await Deno.mkdir(dir);
    for (const name of ["alice@example.com", "bob@example.com"]) {
      await Deno.copyFile(join(pki.dir, `${name}.crt`), join(dir, `${name}.crt`));
      await Deno.copyFile(join(pki.dir, `${name}.pem`), join(dir, `${name}.pem`));
      await Deno.chmod(join(dir, `${name}.pem`), 0o600);
    }
    const ctx = { pki, dir, scratch: s.root };
    await c.setup(ctx);
    const from = c.role === "sign" ? (c.from ?? ZED) : "alice@example.com";
    const to = c.role === "sign" ? "bob@example.com" : ZED;
    await Deno.writeTextFile(
      join(s.work, "m.eml"),
      `From: ${from}\nTo: ${to}\nSubject: keys\n\nHello\n`,
    );
    const args = [
      "send",
      "m.eml",
      c.role === "sign" ? "--sign" : "--encrypt",
      "--keys",
      dir,
      "--trust",
      pki.trustFile,
      ...(c.args ?? []).map((a) => a.replaceAll("{scratch}", s.root)),
      ...outputArgs(output),
    ];
    const env = { ...s.env, ...outputEnv(output), ...c.env };
    const run = await runCli(args, { cwd: s.work, env });
    const secrets = c.secrets ? await c.secrets(ctx) : [];
    return { run, dir, secrets, left: await listing(s.work), tmp: await listing(s.tmp) };
  });
}

for (const c of keyCases) {
  Deno.test({
    name: `corpus: ${
      c.role === "sign" ? "signing with" : "encrypting to"
    } ${c.name} is refused (${c.code})`,
    ignore: c.ignore,
    fn: async (t) => {
      const [toStdout, toFile] = await Promise.all([
        sendWithKeys(c, "stdout"),
        sendWithKeys(c, "file"),
      ]);
      for (const [output, result] of [["to stdout", toStdout], ["to -o", toFile]] as const) {
        await t.step(output, () => {
          const names = (c.names ?? []).map((n) => n.replaceAll("{dir}", result.dir));
          assertRefused(result.run, c.code, names, result.secrets);
          assertEquals(result.left, ["m.eml"], "a file was left behind");
          assertEquals(result.tmp, [], "a temporary file was left behind");
        });
      }
    },
  });
}

for (const c of keyCases.filter((k) => k.deliver)) {
  Deno.test({
    name: `corpus: delivering, ${
      c.role === "sign" ? "signing with" : "encrypting to"
    } ${c.name} is refused, nothing sent (${c.code})`,
    ignore: c.ignore,
    fn: () =>
      withEmptySink(async (sink) => {
        const result = await sendWithKeys(c, sink);
        const names = (c.names ?? []).map((n) => n.replaceAll("{dir}", result.dir));
        assertRefused(result.run, c.code, names, result.secrets);
        assertEquals([result.left, result.tmp], [["m.eml"], []]);
      }),
  });
}

for (const c of acceptedKeyCases) {
  Deno.test(`corpus: ${c.role === "sign" ? "signing with" : "encrypting to"} ${c.name} works (0)`, async () => {
    const pki = await corpusPki();
    const { run } = await sendWithKeys(c, "stdout");
    assertEquals(run.code, 0, run.stderr);
    if (c.role === "sign") {
      // A DER certificate travels without its intermediate: openssl must trust that too.
      const caFile = join(pki.dir, "trust-and-intermediate.pem");
      const pem = await Promise.all(
        [pki.trustFile, pki.intermediateFile].map((f) => Deno.readTextFile(f)),
      );
      await Deno.writeTextFile(caFile, pem.join(""));
      await assertOpensslOpens(pki, run.stdout, undefined, true, caFile);
    } else {
      // encrypted to alice (the sender) as well: her key opens it
      await assertOpensslOpens(pki, run.stdout, pkiFiles(pki, "alice@example.com"), false);
    }
  });
}

// ---------------------------------------------------- configs and flags

const CONFIG_MESSAGE = "From: alice@example.com\nTo: bob@example.com\nSubject: cfg\n\nHello\n";

async function runConfigCase(c: ConfigCase, sink: SinkServer): Promise<CliRun> {
  const pki = await corpusPki();
  const fill = (text: string) =>
    text.replaceAll("{port}", String(sink.port)).replaceAll("{scratch}", "");
  return await withScratch(async (s) => {
    await Deno.writeTextFile(join(s.work, "m.eml"), CONFIG_MESSAGE);
    if (c.toml !== undefined) {
      await Deno.writeTextFile(join(s.work, "smimepost.toml"), fill(c.toml));
    }
    for (const [name, content] of Object.entries(c.files ?? {})) {
      await Deno.mkdir(join(s.work, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(s.work, name), content);
    }
    const before = await listing(s.work);
    const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, fill(v)]));
    const args = c.configCheck ? ["config", "check", ...c.args.map(fill)] : [
      "send",
      "m.eml",
      "--sign",
      "--keys",
      pki.dir,
      "--trust",
      pki.trustFile,
      ...c.args.map(fill),
    ];
    const run = await runCli(args, { cwd: s.work, env: { ...s.env, ...env } });
    const after = await listing(s.work);
    assertEquals(after, before, "a file was left behind");
    assertEquals(await listing(s.tmp), [], "a temporary file was left behind");
    return run;
  });
}

for (const c of configCases) {
  Deno.test(`corpus: config ${c.name} is refused (${c.code})`, () =>
    withEmptySink(async (sink) => {
      assertRefused(await runConfigCase(c, sink), c.code, c.names);
    }));
}

Deno.test("corpus: --verbose on a refusal adds the cause, same exit status, no secret (77)", async () => {
  const c = keyCases.find((k) => k.name === "an encrypted key with a wrong --passphrase-file")!;
  const { run, secrets } = await sendWithKeys(
    { ...c, args: [...c.args!, "--verbose"] },
    "stdout",
  );
  assertEquals(run.code, 77, run.stderr);
  assertEquals(run.stdout.length, 0);
  const [first, ...rest] = run.stderr.trimEnd().split("\n");
  assert(first!.startsWith("smimepost: ") && first!.includes("grace@example.com.pem"), first);
  assert(rest.length > 0, "--verbose should add the underlying cause");
  assert(!run.stderr.includes("internal error"), run.stderr);
  for (const secret of [...secrets, "grace-test-passphrase"]) {
    assert(!run.stderr.includes(secret), `secret in --verbose output: ${secret}`);
  }
});
