/**
 * The everyday CLI (issue 10): help without arguments, unknown commands,
 * --version, the key folder and trust bundle from the config file and the
 * environment, --json on the inspecting commands, examples in every --help.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import { testPki } from "./support/helpers.ts";

const encoder = new TextEncoder();

const MESSAGE = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n" +
  "Subject: Statement\n\nHello Bob,\nbye\n";

/** A scratch folder holding `files`. */
async function scratch(files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-everyday-" });
  for (const [name, content] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeFile(`${dir}/${name}`, encoder.encode(content));
  }
  return dir;
}

/** Runs the CLI in a scratch folder holding `files`, with only `env` set. */
async function inScratch(
  args: string[],
  files: Record<string, string> = {},
  env: Record<string, string> = {},
) {
  const dir = await scratch(files);
  try {
    return await runCli(args, { cwd: dir, env: { HOME: dir, ...env } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("smimepost with no arguments prints the help on stdout and exits 0", async () => {
  const run = await inScratch([]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stderr, "");
  assertMatch(run.text, /^Usage: smimepost /);
  assertIncludes(run.text, "Examples:");
});

Deno.test("an unknown command word is one usage line with a suggestion, exit 64", async () => {
  for (
    const [args, hint] of [
      [["verfy", "m.eml"], 'unknown command "verfy" (did you mean verify?)'],
      [["version"], 'unknown command "version" (did you mean --version?)'],
      [["sned", "--sign"], 'unknown command "sned" (did you mean send?)'],
    ] as const
  ) {
    const run = await inScratch([...args], { "m.eml": MESSAGE });
    assertEquals(run.code, 64, run.stderr);
    assertEquals(run.text, "");
    assertEquals(run.stderr, `smimepost: ${hint}\n`);
  }
});

Deno.test("a first argument that is a file or looks like a path still runs send", async () => {
  const pki = await testPki();
  // "statement" exists: a word, but a file, so an input of send.
  const word = await inScratch(["statement", "--sign", "--keys", pki], { statement: MESSAGE });
  assertEquals(word.code, 0, word.stderr);
  assertIncludes(word.text, "smime-type=signed-data");
  const old = await inScratch(["m.eml", "--sign", "--keys", pki], { "m.eml": MESSAGE });
  assertEquals(old.code, 0, old.stderr);
  assertIncludes(old.text, "smime-type=signed-data");
  // A missing path is a missing input (66), not an unknown command.
  const missing = await inScratch(["gone.eml", "--sign", "--keys", pki]);
  assertEquals(missing.code, 66, missing.stderr);
  assertIncludes(missing.stderr, "gone.eml");
});

Deno.test("--version prints smimepost, Deno, V8 and TypeScript; --json one object", async () => {
  const run = await inScratch(["--version"]);
  assertEquals(run.code, 0, run.stderr);
  const lines = run.text.trimEnd().split("\n");
  assertEquals(lines[0], "smimepost 0.1.0");
  assertEquals(lines[1], `deno ${Deno.version.deno}`);
  assertEquals(lines[2], `v8 ${Deno.version.v8}`);
  assertEquals(lines[3], `typescript ${Deno.version.typescript}`);
  assert(lines.length === 4 || /^libcrypto OpenSSL \d/.test(lines[4]!), run.text);
  const short = await inScratch(["-V"]);
  assertEquals(short.text, run.text);
  const json = await inScratch(["--version", "--json"]);
  assertEquals(json.code, 0, json.stderr);
  assertEquals(json.text.trimEnd().split("\n").length, 1);
  const info = JSON.parse(json.text);
  assertEquals(info.smimepost, "0.1.0");
  assertEquals(info.deno, Deno.version.deno);
  assertEquals(info.v8, Deno.version.v8);
  assertEquals(info.typescript, Deno.version.typescript);
  assertEquals(info.openssl === undefined, lines.length === 4);
});

Deno.test("keys and trust come from flags, then SMIMEPOST_KEYS / SMIMEPOST_TRUST, then the config file", async () => {
  const pki = await testPki();
  const dir = await scratch({
    "m.eml": MESSAGE,
    // Relative to the config file's folder, not to the current one.
    "conf/smimepost.toml": 'keys = "keys"\ntrust = "keys/trust.pem"\n',
  });
  try {
    await Deno.symlink(pki, `${dir}/conf/keys`);
    const config = ["--config", "conf/smimepost.toml"];
    const fromFile = await runCli(["m.eml", "--sign", ...config], { cwd: dir });
    assertEquals(fromFile.code, 0, fromFile.stderr);
    assertIncludes(fromFile.text, "smime-type=signed-data");
    // The trust bundle from the file checks the chain: no "chain not checked" warning.
    assert(!fromFile.stderr.includes("chain not checked"), fromFile.stderr);

    const check = await runCli(["config", "check", ...config], {
      cwd: dir,
      env: { SMIMEPOST_TRUST: `${pki}/trust.pem` },
    });
    assertEquals(check.code, 0, check.stderr);
    assertMatch(check.text, new RegExp(`keys = ${dir}/conf/keys +\\(file conf/smimepost.toml\\)`));
    assertMatch(check.text, /trust = \S+\/trust\.pem +\(env SMIMEPOST_TRUST\)/);

    // The flag beats the environment, which beats the file.
    const flag = await runCli(["m.eml", "--sign", ...config, "--keys", pki], {
      cwd: dir,
      env: { SMIMEPOST_KEYS: `${dir}/nowhere` },
    });
    assertEquals(flag.code, 0, flag.stderr);
    const env = await runCli(["m.eml", "--sign", ...config], {
      cwd: dir,
      env: { SMIMEPOST_KEYS: `${dir}/nowhere` },
    });
    assertEquals(env.code, 66, env.stderr);
    assertIncludes(env.stderr, "nowhere");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without a trust bundle from any source, send still warns that the chain is unchecked", async () => {
  const pki = await testPki();
  const run = await inScratch(["m.eml", "--sign", "--keys", pki], { "m.eml": MESSAGE });
  assertEquals(run.code, 0, run.stderr);
  assertIncludes(run.stderr, "chain not checked");
});

/** Fails unless every object key in `value`, at any depth, is snake_case. */
function assertSnakeCase(value: unknown, path = "$"): void {
  if (Array.isArray(value)) value.forEach((v, i) => assertSnakeCase(v, `${path}[${i}]`));
  else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      assertMatch(key, /^[a-z][a-z0-9_]*$/, `${path}.${key} is not snake_case`);
      assertSnakeCase(v, `${path}.${key}`);
    }
  }
}

/** Each stdout line as JSON, every key snake_case. */
function jsonLines(text: string): Record<string, unknown>[] {
  const lines = text.trimEnd().split("\n").map((line) => JSON.parse(line));
  lines.forEach((line) => assertSnakeCase(line));
  return lines;
}

Deno.test("decrypt --json and show --json describe the layers, never print the plaintext", async () => {
  const pki = await testPki();
  const dir = await scratch({ "m.eml": MESSAGE });
  try {
    const sealed = await runCli(["m.eml", "--sign", "--encrypt", "--keys", pki, "-o", "s.eml"], {
      cwd: dir,
    });
    assertEquals(sealed.code, 0, sealed.stderr);
    const key = ["--key", `${pki}/bob@example.com.pem`, "--keys", pki];
    const run = await runCli(["decrypt", "s.eml", "--json", ...key], { cwd: dir });
    assertEquals(run.code, 0, run.stderr);
    assert(!run.text.includes("Hello Bob"), "no plaintext on stdout");
    const [meta] = jsonLines(run.text);
    assertEquals(meta!.file, "s.eml");
    assertEquals(meta!.kind, "enveloped-data");
    assertMatch(String(meta!.content_cipher), /^aes-(128|256)-(cbc|gcm)$/);
    assertEquals((meta!.recipients as unknown[]).length, 2); // bob and the sender
    assertIncludes(String(meta!.decrypted_with), "bob@example.com.pem");
    assertEquals(meta!.signed_inside, true);
    assertEquals(meta!.output, null);

    const toFile = await runCli(["decrypt", "s.eml", "--json", "-o", "inner.eml", ...key], {
      cwd: dir,
    });
    assertEquals(toFile.code, 0, toFile.stderr);
    assertEquals(jsonLines(toFile.text)[0]!.output, "inner.eml");
    assertIncludes(await Deno.readTextFile(`${dir}/inner.eml`), "smime-type=signed-data");

    const show = await runCli(["show", "s.eml", "--json", ...key], { cwd: dir });
    assertEquals(show.code, 0, show.stderr);
    const [tree] = jsonLines(show.text);
    const entity = tree!.entity as { cms: Record<string, unknown> };
    assertEquals(entity.cms.kind, "enveloped-data");
    assertIncludes(String(entity.cms.decrypted_with), "bob@example.com.pem");
    const inner = entity.cms.content as { cms: Record<string, unknown> };
    assertEquals(inner.cms.kind, "signed-data");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keys check --json prints one object per file; config check --json masks secrets", async () => {
  const pki = await testPki();
  const keys = await runCli(["keys", "check", "--json", "--keys", pki]);
  assertEquals(keys.code, 65, keys.stderr);
  const reports = jsonLines(keys.text);
  assert(reports.some((r) => r.ok === false && String(r.file).includes("expired@")));
  assert(reports.some((r) => r.ok === true && r.address === "alice@example.com"));

  const check = await inScratch(["config", "check", "--json"], {
    "smimepost.toml": 'keys = "k"\ndefault_profile = "r"\n[profiles.r]\n' +
      'plugin = "smtp-generic"\nhost = "relay.example"\nuser = "u"\npassword = "hunter2"\n',
  });
  assertEquals(check.code, 0, check.stderr);
  assert(!check.text.includes("hunter2"), "the password is masked");
  const [config] = jsonLines(check.text);
  const delivery = config!.delivery as {
    profile: string;
    values: { key: string; value: string }[];
  };
  assertEquals(delivery.profile, "r");
  assertEquals(delivery.values.find((v) => v.key === "password")?.value, "****");
  assertEquals((config!.keys as { source: string }).source, "file smimepost.toml");
  assertEquals(config!.trust, null);
  assertEquals(config!.queue, null);
});

Deno.test("every command's --help ends with two to four examples", async () => {
  const commands = [
    "send",
    "verify",
    "decrypt",
    "show",
    "keys",
    "keys check",
    "keys import",
    "config",
    "config check",
    "sink",
    "harvest",
    "enqueue",
    "worker",
    "status",
    "completions",
    "man",
  ];
  // Four at a time: each run is a whole deno process.
  for (let at = 0; at < commands.length; at += 4) {
    await Promise.all(
      commands.slice(at, at + 4).map(async (command) => {
        const run = await runCli([...command.split(" "), "--help"]);
        assertEquals(run.code, 0, `${command}: ${run.stderr}`);
        const tail = run.text.trimEnd().split("\nExamples:\n");
        assertEquals(tail.length, 2, `${command}: no Examples section at the end`);
        const examples = tail[1]!.split("\n").filter((line) =>
          line.startsWith("  smimepost ") ||
          line.startsWith("  SMIMEPOST_")
        );
        assert(examples.length >= 2 && examples.length <= 4, `${command}: ${tail[1]}`);
        assert(examples.every((e) => e.includes(command.split(" ")[0]!)), `${command}: ${tail[1]}`);
      }),
    );
  }
});

Deno.test("error lines say what to do next: plaintext AUTH, a failing password_command, --sign with --sign-detached", async () => {
  const { startSink } = await import("../core/sink/mod.ts");
  const sink = await startSink({ port: 0 });
  try {
    const pki = await testPki();
    const keys = ["--keys", pki];
    const plain = await inScratch(["m.eml", "--sign", "--send_smtp", ...keys], {
      "m.eml": MESSAGE,
    }, {
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(sink.port),
      SMTP_USER: "u",
      SMTP_PASSWORD: "pw-a8d3f1e9c2",
    });
    assertEquals(plain.code, 78, plain.stderr);
    assertIncludes(plain.stderr, "--option allow_plaintext_auth=true");
    assert(!plain.stderr.includes("pw-a8d3f1e9c2"), "password printed");

    const config =
      `[profiles.x]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nport = ${sink.port}\n` +
      `user = "u"\npassword_command = "echo pw-a8d3f1e9c2; echo 'vault: permission denied' >&2; exit 2"\n`;
    const command = await inScratch(["m.eml", "--sign", "--profile", "x", ...keys], {
      "m.eml": MESSAGE,
      "smimepost.toml": config,
    });
    assertEquals(command.code, 78, command.stderr);
    assertEquals(
      command.stderr,
      "smimepost: profiles.x.password_command: the command failed (exit status 2): " +
        "vault: permission denied\n",
    );

    const both = await inScratch(["m.eml", "--sign", "--sign-detached", ...keys], {
      "m.eml": MESSAGE,
    });
    assertEquals(both.code, 64, both.stderr);
    assertIncludes(both.stderr, "conflicting: --sign (opaque) and --sign-detached");
    assertEquals(sink.count, 0);
  } finally {
    await sink.close();
  }
});
