/**
 * Delivery from the CLI as users run it (`deno run` with the compile task's
 * permissions), against local servers: the fake transmissions API for
 * --send_api, sinks for --send_smtp and config-file profiles, and the CLI's
 * own `sink` command as a subprocess. The real-Postfix runs are in
 * deliver_test.ts.
 */
import { startStrictServer } from "../core/smtp/test_server.ts";
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { testPki } from "./support/helpers.ts";
import { compileRuntimeFlags, runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkFaults, SinkServer } from "../core/sink/mod.ts";
import { contractReply, startFakeApi } from "../core/http/test_server.ts";
import { CLEAN_ENV } from "./support/batch.ts";

const MESSAGE = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n" +
  "Cc: carol@example.net\nBcc: dave@example.org\nSubject: Statement\n\nHello Bob,\n.dot\nbye\n";
const NO_BCC = MESSAGE.replace("Bcc: dave@example.org\n", "");

/** Variables a run must not inherit from the test runner's environment. */

/** A scratch folder with `files`, its own XDG_CONFIG_HOME, removed after `fn`. */
async function inScratch<T>(
  files: Record<string, string>,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-cli-deliver-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o600 });
    }
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the CLI in `dir` with the test keys and a clean delivery environment. */
async function cli(dir: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  // `config check` takes no key options.
  const pki = await testPki();
  const keys = args[0] === "config" ? [] : ["--keys", pki, "--trust", `${pki}/trust.pem`];
  return await runCli([...args, ...keys], {
    cwd: dir,
    env: { ...CLEAN_ENV, XDG_CONFIG_HOME: `${dir}/xdg`, ...env },
  });
}

/** Asserts the exit code, showing both streams on failure. */
function assertExit(run: CliRun, code: number): void {
  assertEquals(run.code, code, `exit ${run.code}\nstdout: ${run.text}\nstderr: ${run.stderr}`);
}

/** Asserts a refusal: the exit code, nothing on stdout, no stack trace. */
function assertRefused(run: CliRun, code: number, ...parts: string[]): void {
  assertExit(run, code);
  assertEquals(run.text, "", "stdout must be empty on a refusal");
  assertEquals(run.stderr.trimEnd().split("\n").length, 1, `one line expected: ${run.stderr}`);
  for (const part of parts) assertIncludes(run.stderr, part);
  assert(!run.stderr.includes("    at "), "no stack trace");
}

async function withSinks<T>(
  faults: SinkFaults[],
  fn: (sinks: SinkServer[]) => Promise<T>,
): Promise<T> {
  const sinks: SinkServer[] = [];
  try {
    for (const f of faults) sinks.push(await startSink({ port: 0, faults: f }));
    return await fn(sinks);
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
  }
}

function smtpEnv(sink: SinkServer): Record<string, string> {
  return { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) };
}

interface Recipient {
  address: { email: string };
}

// ------------------------------------------------------------ --send_api

Deno.test("send --send_api: the old tool's lines, Bcc in the recipients, tracking off, no key", async () => {
  const key = `sp-${crypto.randomUUID()}`;
  const api = await startFakeApi(contractReply(key));
  try {
    await inScratch({ "m.eml": MESSAGE }, async (dir) => {
      const env = { SPARKPOST_HOST: api.origin, SPARKPOST_API_KEY: key };
      const run = await cli(dir, ["send", "m.eml", "--sign", "--send_api"], env);
      assertExit(run, 0);
      assertMatch(run.text, new RegExp(`^Opened connection to ${api.origin}$`, "m"));
      assertIncludes(run.stderr, `sending the API key over plain http to ${api.origin}`);
      assertMatch(
        run.text,
        /^Sending m\.eml\tFrom: alice@example\.com\tTo: bob@example\.com, carol@example\.net, dave@example\.org$/m,
      );
      assertMatch(run.text, /^OK - in \d+\.\d{3} seconds/m);
      assertEquals(api.requests.length, 1);
      const body = JSON.parse(api.requests[0]!.body);
      assertEquals(body.recipients.map((r: Recipient) => r.address.email), [
        "bob@example.com",
        "carol@example.net",
        "dave@example.org",
      ]);
      assertEquals([body.options.open_tracking, body.options.click_tracking], [false, false]);
      assert(!/^Bcc:/im.test(body.content.email_rfc822), "Bcc header sent");
      assert(!run.text.includes(key) && !run.stderr.includes(key), "API key printed");

      const debug = await cli(dir, ["send", "m.eml", "--sign", "--send_api", "--debug-smtp"], env);
      assertExit(debug, 0);
      assertIncludes(debug.stderr, "> Authorization: ****");
      assertIncludes(debug.stderr, `> POST ${api.origin}/api/v1/transmissions`);
      assert(!debug.text.includes(key) && !debug.stderr.includes(key), "API key printed");
      assertEquals(api.requests.length, 2);
    });
  } finally {
    await api.close();
  }
});

Deno.test("send --send_api: a wrong key exits 77 with the server's words; a 429 exits 75", async () => {
  const key = `sp-${crypto.randomUUID()}`;
  const api = await startFakeApi(contractReply(key));
  try {
    await inScratch({ "m.eml": NO_BCC }, async (dir) => {
      const wrong = `wrong-${crypto.randomUUID()}`;
      const refused = await cli(dir, ["m.eml", "--sign", "--send_api"], {
        SPARKPOST_HOST: api.origin,
        SPARKPOST_API_KEY: wrong,
      });
      assertExit(refused, 77);
      assertIncludes(refused.stderr, "SparkPost API 401: Unauthorized.");
      assert(!refused.stderr.includes(wrong) && !refused.text.includes(wrong), "key printed");

      const busy = await cli(dir, ["m.eml", "--sign", "--send_api"], {
        SPARKPOST_HOST: `${api.origin}/s429/api/v1`,
        SPARKPOST_API_KEY: key,
      });
      assertExit(busy, 75);
      assertIncludes(busy.text + busy.stderr, "SparkPost API 429: Too many requests (code 1104)");
    });
  } finally {
    await api.close();
  }
});

Deno.test("send --json: a JSON object per message and one for the summary on stdout, progress on stderr", async () => {
  const refusal = "550 5.1.1 <carol@example.net>: Recipient address rejected: User unknown";
  const faults = { onRcpt: (a: string) => a === "carol@example.net" ? refusal : undefined };
  await withSinks([faults], async ([sink]) => {
    await inScratch({ "m.eml": MESSAGE }, async (dir) => {
      // Signed only: one copy, Bcc recipient included.
      const run = await cli(dir, ["m.eml", "--sign", "--send_smtp", "--json"], smtpEnv(sink!));
      assertExit(run, 3);
      const lines = run.text.trimEnd().split("\n");
      assertEquals(lines.length, 2, run.text);
      const object = JSON.parse(lines[0]!);
      const { summary } = JSON.parse(lines[1]!);
      assertEquals(summary.messages, {
        accepted: 0,
        partial: 1,
        failed: 0,
        skipped: 0,
        skipped_unaccepted: 0,
      });
      assertEquals(summary.recipients, { accepted: 2, rejected: 1, failed: 0, uncertain: 0 });
      assertEquals(summary.reasons, [{ reason: "rejected 550 5.1.1", count: 1, example: refusal }]);
      assertEquals(object.file, "m.eml");
      const recipients = object.recipients.map((
        r: { recipient: string; status: string; code: number; response: string },
      ) => [r.recipient, r.status, r.code, r.response]);
      assertEquals(recipients.map((r: unknown[]) => r.slice(0, 3)), [
        ["bob@example.com", "accepted", 250],
        ["carol@example.net", "rejected", 550],
        ["dave@example.org", "accepted", 250],
      ]);
      assertEquals(recipients[1][3], refusal);
      assertMatch(recipients[0][3], /^250 /);
      assertMatch(run.stderr, /^Opened SMTP connection \(plain\) to 127\.0\.0\.1, port \d+$/m);
      assertMatch(
        run.stderr,
        /^Sending m\.eml\tFrom: alice@example\.com\tTo: bob@example\.com, carol@example\.net, dave@example\.org$/m,
      );
      assertEquals(sink!.received.map((m) => m.rcptTo), [["bob@example.com", "dave@example.org"]]);
    });
  });
});

// ------------------------------------------------------ config profiles

function profiles(main: number, other: number): string {
  return `default_profile = "main"

[profiles.main]
plugin = "smtp-generic"
host = "127.0.0.1"
port = ${main}
ehlo_name = "cli-test.example"

[profiles.other]
plugin = "smtp-generic"
host = "127.0.0.1"
port = ${other}

[profiles.relay]
plugin = "smtp-generic"
host = "relay.example.com"
port = 587
tls = "require"
user = "statements@example.com"
password = "file-secret-9c1e5b2d"
`;
}

Deno.test("send with a config file: default_profile, --profile, and flags > env > file", async () => {
  await withSinks([{}, {}, {}, {}], async ([main, other, fromEnv, fromFlag]) => {
    const files = { "m.eml": NO_BCC, "smimepost.toml": profiles(main!.port, other!.port) };
    await inScratch(files, async (dir) => {
      const byDefault = await cli(dir, ["send", "m.eml", "--sign"]);
      assertExit(byDefault, 0);
      assertMatch(
        byDefault.text,
        new RegExp(
          `^Opened SMTP connection \\(plain\\) to 127\\.0\\.0\\.1, port ${main!.port}$`,
          "m",
        ),
      );
      assertEquals([main!.count, other!.count], [1, 0]);
      assertEquals(main!.received[0]!.rcptTo, ["bob@example.com", "carol@example.net"]);

      const picked = await cli(dir, ["send", "m.eml", "--sign", "--profile", "other"]);
      assertExit(picked, 0);
      assertEquals([main!.count, other!.count], [1, 1]);

      const env = { SMTP_PORT: String(fromEnv!.port) };
      const envWins = await cli(dir, ["m.eml", "--sign"], env);
      assertExit(envWins, 0);
      assertEquals([main!.count, fromEnv!.count], [1, 1]);

      const flagWins = await cli(
        dir,
        ["m.eml", "--sign", "--option", `port=${fromFlag!.port}`],
        env,
      );
      assertExit(flagWins, 0);
      assertEquals([main!.count, fromEnv!.count, fromFlag!.count], [1, 1, 1]);
    });
  });
});

Deno.test("config check prints every option with its source, the password as ****", async () => {
  await inScratch({ "smimepost.toml": profiles(2525, 2526) }, async (dir) => {
    const run = await cli(dir, ["config", "check", "--option", "tls=never"], { SMTP_PORT: "2600" });
    assertExit(run, 0);
    const [head, ...rest] = run.text.trimEnd().split("\n");
    assertEquals(head, "profile main (plugin smtp-generic) from smimepost.toml");
    // The profile's options are indented; the key folder and trust bundle follow.
    const lines = rest.filter((line) => line.startsWith("  "));
    assertMatch(rest.at(-2)!, /^keys = \. +\(default\)$/);
    assertMatch(rest.at(-1)!, /^trust = \(none: .*\) +\(default\)$/);
    const file = "file smimepost.toml [profiles.main]";
    const shown = Object.fromEntries(lines.map((line) => {
      const match = /^ {2}(\w+) = (.*?) +\((.+)\)$/.exec(line);
      assert(match, `not "key = value (source)": ${JSON.stringify(line)}`);
      return [match[1]!, [match[2]!, match[3]!]];
    }));
    assertEquals(shown, {
      host: ["127.0.0.1", file],
      port: ["2600", "env SMTP_PORT"],
      tls: ["never", "flag --option"],
      tls_insecure: ["false", "default"],
      auth_method: ["auto", "default"],
      allow_plaintext_auth: ["false", "default"],
      ehlo_name: ["cli-test.example", file],
      max_messages_per_connection: ["100", "default"],
    });

    const relay = await cli(dir, ["config", "check", "--profile", "relay"]);
    assertExit(relay, 0);
    assertMatch(
      relay.text,
      /^ {2}password = \*\*\*\* +\(file smimepost\.toml \[profiles\.relay\]\)$/m,
    );
    assertMatch(relay.text, /^ {2}user = statements@example\.com /m);
    assert(!relay.text.includes("file-secret-9c1e5b2d") && !relay.stderr.includes("file-secret"));
    assertEquals(relay.stderr, "");
  });
});

Deno.test("config errors exit 78 naming the key: a typo, a port that is not a number", async () => {
  const typo = '[profiles.x]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nprot = 25\n';
  await inScratch(
    { "bad.toml": typo, "smimepost.toml": profiles(2525, 2526), "m.eml": NO_BCC },
    async (dir) => {
      const run = await cli(dir, ["config", "check", "--config", "bad.toml", "--profile", "x"]);
      assertRefused(run, 78, `profiles.x.prot: unknown option (did you mean "port"?)`);

      const sent = await cli(dir, ["m.eml", "--sign", "--config", "bad.toml", "--profile", "x"]);
      assertRefused(sent, 78, `profiles.x.prot: unknown option (did you mean "port"?)`);

      const notNumber = await cli(dir, ["m.eml", "--sign", "--option", "port=notanumber"]);
      assertRefused(notNumber, 78, `--option port: expected a number, got "notanumber"`);
    },
  );
});

// ------------------------------------------------------------- refusals

Deno.test("send --send_smtp without SMTP_HOST exits 78 naming SMTP_HOST", async () => {
  await inScratch({ "m.eml": NO_BCC }, async (dir) => {
    const run = await cli(dir, ["m.eml", "--sign", "--send_smtp"]);
    assertRefused(run, 78, "SMTP_HOST");
  });
});

Deno.test("send refuses conflicting flags with exit 64: --send_smtp --send_api, --output", async () => {
  await inScratch({ "m.eml": NO_BCC }, async (dir) => {
    const env = { SMTP_HOST: "127.0.0.1", SPARKPOST_API_KEY: "k" };
    const both = await cli(dir, ["m.eml", "--sign", "--send_smtp", "--send_api"], env);
    assertRefused(both, 64, "--send_smtp", "--send_api");
    const output = await cli(dir, ["m.eml", "--sign", "--output", "x.eml", "--send_smtp"], env);
    assertRefused(output, 64, "--output");
    assert(!(await exists(`${dir}/x.eml`)), "--output file written anyway");
  });
});

Deno.test("send --send_smtp to a closed port exits 69: Cannot connect to 127.0.0.1:PORT", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  await inScratch({ "m.eml": NO_BCC }, async (dir) => {
    const run = await cli(dir, ["m.eml", "--sign", "--send_smtp"], {
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(port),
    });
    assertRefused(run, 69, `Cannot connect to 127.0.0.1:${port}`);
  });
});

Deno.test("send --send_smtp: all refused exits 65, some refused 3, all deferred 75", async () => {
  const all: SinkFaults = { onRcpt: (a) => `550 5.1.1 <${a}>: Recipient address rejected` };
  const carol = "550 5.1.1 <carol@example.net>: Recipient address rejected: User unknown";
  const dave = "550 5.7.1 <dave@example.org>: Relay access denied";
  const some: SinkFaults = {
    onRcpt: (a) => a === "carol@example.net" ? carol : a === "dave@example.org" ? dave : undefined,
  };
  const full: SinkFaults = { onRcpt: (a) => `452 4.2.2 <${a}>: mailbox full` };
  await withSinks([all, some, full], async ([allSink, someSink, fullSink]) => {
    await inScratch({ "m.eml": MESSAGE }, async (dir) => {
      const none = await cli(dir, ["m.eml", "--sign", "--send_smtp"], smtpEnv(allSink!));
      assertExit(none, 65);
      assertMatch(none.text, /^FAILED - in \d+\.\d{3} seconds: 0 of 3 recipients accepted$/m);
      assertIncludes(
        none.text,
        "  bob@example.com: 550 5.1.1 <bob@example.com>: Recipient address rejected",
      );
      assertEquals(allSink!.count, 0);

      const partial = await cli(dir, ["m.eml", "--sign", "--send_smtp"], smtpEnv(someSink!));
      assertExit(partial, 3);
      assertMatch(partial.text, /^PARTIAL - in \d+\.\d{3} seconds: 1 of 3 recipients accepted$/m);
      assertIncludes(partial.text, `  carol@example.net: ${carol}\n`);
      assertIncludes(partial.text, `  dave@example.org: ${dave}\n`);
      assertEquals(someSink!.received.map((m) => m.rcptTo), [["bob@example.com"]]);

      const deferred = await cli(dir, ["m.eml", "--sign", "--send_smtp"], smtpEnv(fullSink!));
      assertExit(deferred, 75);
      // The reply verbatim, after whatever word says it was deferred.
      assertMatch(
        deferred.text,
        /^ {2}carol@example\.net: .*452 4\.2\.2 <carol@example\.net>: mailbox full$/m,
      );
    });
  });
});

Deno.test("send --send_smtp: control characters in the server's replies reach the terminal as \\xNN", async () => {
  const greeting = "554 5.7.1 denied\x1b[2K\rOK - in 0.004 seconds\x1b]0;owned-title\x07";
  const rcpt = "550 5.1.1 no\x1b]0;pwned\x07\x1b[2J\x9b2J user";
  // deno-lint-ignore no-control-regex
  const control = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
  await withSinks([{ greeting }, { onRcpt: () => rcpt }], async ([greetSink, rcptSink]) => {
    await inScratch({ "m.eml": NO_BCC }, async (dir) => {
      const greeted = await cli(dir, ["m.eml", "--sign", "--send_smtp"], smtpEnv(greetSink!));
      assertRefused(
        greeted,
        69,
        "554 5.7.1 denied\\x1b[2K\\x0dOK - in 0.004 seconds\\x1b]0;owned-title\\x07",
      );
      assert(!control.test(greeted.stderr), JSON.stringify(greeted.stderr));

      const refused = await cli(
        dir,
        ["m.eml", "--sign", "--send_smtp", "--verbose", "--debug-smtp"],
        smtpEnv(rcptSink!),
      );
      assertExit(refused, 65);
      assertIncludes(
        refused.text,
        "  bob@example.com: 550 5.1.1 no\\x1b]0;pwned\\x07\\x1b[2J\\x9b2J user\n",
      );
      assertIncludes(refused.stderr, "S: 550 5.1.1 no\\x1b]0;pwned\\x07\\x1b[2J\\x9b2J user");
      assert(!control.test(refused.text + refused.stderr), JSON.stringify(refused.stderr));
    });
  });
});

Deno.test("send --send_smtp: a connection dropped after the final dot is UNCERTAIN, exit 75", async () => {
  await withSinks([{ onDataEnd: () => "drop" }], async ([sink]) => {
    await inScratch({ "m.eml": NO_BCC }, async (dir) => {
      const run = await cli(dir, ["m.eml", "--sign", "--send_smtp"], smtpEnv(sink!));
      assertExit(run, 75);
      assertMatch(
        run.text,
        /^UNCERTAIN - in \d+\.\d{3} seconds: .*\(the connection was lost\); it may have been delivered \(bob@example\.com, carol@example\.net\)$/m,
      );
    });
  });
});

Deno.test("send --send_smtp: a reply to the final dot that comes too late is UNCERTAIN, said to have timed out", async () => {
  // The reply to the dot waits until the run is over (at most 8 s): well past the 2 s timeout.
  let answer: ((reply: string) => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const server = await startStrictServer({
    extensions: ["PIPELINING", "8BITMIME"],
    onDataEnd: () =>
      new Promise((resolve) => {
        answer = resolve;
        timer = setTimeout(() => resolve("250 Ok"), 8000);
      }),
  });
  try {
    await inScratch({ "m.eml": NO_BCC }, async (dir) => {
      const run = await cli(
        dir,
        ["m.eml", "--sign", "--send_smtp", "--option", "timeout_seconds=2"],
        { SMTP_HOST: "127.0.0.1", SMTP_PORT: String(server.port), SMTP_TLS: "never" },
      );
      assertExit(run, 75);
      assertMatch(run.text, /^UNCERTAIN - .*\(the reply timed out\); it may have been delivered/m);
    });
  } finally {
    clearTimeout(timer);
    answer?.("250 Ok");
    await server.close();
  }
});

// ---------------------------------------------------------- the CLI sink

Deno.test("smimepost sink --port 0 --dir stores what send --send_smtp delivers; SIGTERM stops it", async () => {
  await inScratch({ "m.eml": NO_BCC }, async (dir) => {
    const flags = await compileRuntimeFlags();
    const cliPath = new URL("../cli.ts", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...flags,
        cliPath,
        "sink",
        "--port",
        "0",
        "--dir",
        "store",
      ],
      cwd: dir,
      env: { ...CLEAN_ENV, XDG_CONFIG_HOME: `${dir}/xdg` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    const stderrChunks: string[] = [];
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let port: number | undefined;
    try {
      while (port === undefined) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the sink exited early: ${stderrChunks.join("")}`);
        stderrChunks.push(value);
        const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stderrChunks.join(""));
        if (match) port = Number(match[1]);
      }
      assert(port > 0, "a real port, not 0");
      const run = await cli(dir, ["m.eml", "--sign", "--send_smtp"], {
        SMTP_HOST: "127.0.0.1",
        SMTP_PORT: String(port),
      });
      assertExit(run, 0);
      assertMatch(run.text, /^OK - in \d+\.\d{3} seconds/m);
      const names = [];
      for await (const entry of Deno.readDir(`${dir}/store`)) names.push(entry.name);
      names.sort();
      assertEquals(names.length, 2, names.join(", "));
      const [eml, json] = names;
      assertEquals(eml!.replace(/\.eml$/, ""), json!.replace(/\.json$/, ""));
      const envelope = JSON.parse(await Deno.readTextFile(`${dir}/store/${json}`));
      assertEquals(envelope.mail_from, "alice@example.com");
      assertEquals(envelope.rcpt_to, ["bob@example.com", "carol@example.net"]);
      assertEquals(`${envelope.id}.eml`, eml);
      const stored = await Deno.readTextFile(`${dir}/store/${eml}`);
      assertEquals(envelope.size, new TextEncoder().encode(stored).length);
      assertMatch(stored, /^From: Alice <alice@example\.com>\r\n/);
      assertIncludes(stored, "smime-type=signed-data");
    } finally {
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderrChunks.push(value);
      }
      await stdout;
    }
    const status = await child.status;
    const stderr = stderrChunks.join("");
    assertEquals(status.code, 0, stderr);
    assertIncludes(stderr, "smimepost sink: stopped after 1 message(s)");
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
