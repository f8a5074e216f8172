/**
 * One message is a run of one: writing to stdout, a file or a folder is a
 * delivery like the plugins, so --dry-run, -o, --json, -v, the summary and
 * the exit status behave the same for one message and for many.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { openssl, testPki } from "./support/helpers.ts";
import { runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkServer } from "../core/sink/mod.ts";
import { CLEAN_ENV } from "./support/batch.ts";

/** A body a mailbox format has to quote: a signature over it fails if the quoting stays. */
const message = (n: number) =>
  `From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\nSubject: run ${n}\n` +
  `Message-ID: <run-${n}@example.com>\n\nFrom the bank, statement ${n}\n>From quoted\n\nFrom here\n`;

const FILES: Record<string, string> = {
  "one.eml": message(1),
  "two.eml": message(2),
  "three.eml": message(3),
};

async function inScratch<T>(config: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-cli-run-" });
  try {
    for (const [name, text] of Object.entries(FILES)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    if (config) await Deno.writeTextFile(`${dir}/smimepost.toml`, config);
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cli(dir: string, args: string[], stdin?: Uint8Array): Promise<CliRun> {
  const pki = await testPki();
  return await runCli([...args, "--keys", pki, "--trust", `${pki}/trust.pem`], {
    cwd: dir,
    stdin,
    env: { ...CLEAN_ENV, XDG_CONFIG_HOME: `${dir}/xdg` },
  });
}

/** A config whose default profile delivers to `sink`. */
function defaultProfile(sink: SinkServer): string {
  return `default_profile = "main"\n[profiles.main]\nplugin = "smtp-generic"\n` +
    `host = "127.0.0.1"\nport = ${sink.port}\n`;
}

async function withSink<T>(fn: (sink: SinkServer) => Promise<T>): Promise<T> {
  const sink = await startSink({ port: 0 });
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

/** openssl cms checks the detached signature over the message's own bytes. */
async function assertVerifies(bytes: Uint8Array, where: string): Promise<string> {
  const pki = await testPki();
  const run = await openssl(
    ["cms", "-verify", "-CAfile", `${pki}/trust.pem`, "-purpose", "any"],
    bytes,
  );
  assertEquals(run.code, 0, `${where}: ${run.stderr}`);
  return new TextDecoder().decode(run.stdout);
}

Deno.test("--dry-run writes to stdout what the default profile would have delivered", async () => {
  await withSink(async (sink) => {
    await inScratch(defaultProfile(sink), async (dir) => {
      const run = await cli(dir, ["send", "one.eml", "--sign-detached", "--dry-run"]);
      assertEquals(run.code, 0, run.stderr);
      assertIncludes(run.stderr, "dry run: writing to stdout, not delivering through main");
      assertEquals(sink.count, 0, "a dry run delivered");
      assertIncludes(await assertVerifies(run.stdout, "stdout"), "From the bank, statement 1");

      // The same through the default profile: delivered, and stdout has the old tool's lines.
      const sent = await cli(dir, ["send", "one.eml", "--sign-detached"]);
      assertEquals(sent.code, 0, sent.stderr);
      assertMatch(sent.text, /^OK - in \d+\.\d{3} seconds$/m);
      assertEquals(sink.count, 1);
    });
  });
});

Deno.test("-o FILE with only a default profile writes the file, 0600, and sends nothing", async () => {
  await withSink(async (sink) => {
    await inScratch(defaultProfile(sink), async (dir) => {
      const run = await cli(dir, ["one.eml", "--sign-detached", "-o", "out.eml"]);
      assertEquals(run.code, 0, run.stderr);
      assertEquals(run.text, "");
      assertEquals(sink.count, 0);
      assertEquals((await Deno.stat(`${dir}/out.eml`)).mode! & 0o777, 0o600);
      await assertVerifies(await Deno.readFile(`${dir}/out.eml`), "out.eml");

      // Named explicitly, a delivery and -o conflict; the error says what to add.
      const both = await cli(dir, ["one.eml", "--sign", "--profile", "main", "-o", "x.eml"]);
      assertEquals(both.code, 64, both.stderr);
      assertIncludes(both.stderr, "conflicting: --output and a delivery (main)");
      assertIncludes(both.stderr, "--dry-run");
    });
  });
});

Deno.test("several messages: an mbox on stdout that send --mbox reads back byte for byte, or a folder", async () => {
  await inScratch("", async (dir) => {
    const run = await cli(dir, ["one.eml", "two.eml", "three.eml", "--sign-detached", "-q"]);
    assertEquals(run.code, 0, run.stderr);
    const mbox = run.text;
    assertEquals(mbox.match(/^From alice@example\.com /gm)?.length, 3, mbox);
    assert(mbox.includes("\n>From the bank"), "a From line left unquoted");

    // Read back and written, unchanged (no --sign): every signature still verifies.
    const back = await cli(
      dir,
      ["send", "--mbox", "-", "--dry-run", "-o", "back", "-q"],
      run.stdout,
    );
    assertEquals(back.code, 0, back.stderr);
    const names = [];
    for await (const entry of Deno.readDir(`${dir}/back`)) names.push(entry.name);
    assertEquals(names.sort(), [
      "run-1@example.com.eml",
      "run-2@example.com.eml",
      "run-3@example.com.eml",
    ]);
    for (const name of names) {
      const text = await assertVerifies(await Deno.readFile(`${dir}/back/${name}`), name);
      assertIncludes(text, "\nFrom the bank");
      assertIncludes(text, "\n>From quoted");
    }
    assertEquals((await Deno.stat(`${dir}/back`)).mode! & 0o777, 0o700);

    // -o naming a file cannot hold several.
    const file = await cli(dir, ["one.eml", "two.eml", "--sign", "-o", "one.eml"]);
    assertEquals(file.code, 64, file.stderr);
    assertIncludes(file.stderr, "-o one.eml: several messages go into a folder");
  });
});

Deno.test("--json: one object per message, then the summary, for a write as for a delivery", async () => {
  await inScratch("", async (dir) => {
    const refused = await cli(dir, ["one.eml", "--sign", "--json"]);
    assertEquals(refused.code, 64, refused.stderr);
    assertIncludes(refused.stderr, "--json and messages written to stdout: give -o FILE");

    const run = await cli(dir, ["one.eml", "two.eml", "--sign", "--json", "-o", "out"]);
    assertEquals(run.code, 0, run.stderr);
    const objects = run.text.trim().split("\n").map((line) => JSON.parse(line));
    assertEquals(objects.length, 3, run.text);
    assertEquals(
      objects.slice(0, 2).map((o) => [o.message_id, o.outcome]).sort(),
      [["<run-1@example.com>", "accepted"], ["<run-2@example.com>", "accepted"]],
    );
    assertMatch(objects[0].recipients[0].response, /^written to out\/run-\d@example\.com\.eml$/);
    assertEquals(objects[2].summary.messages, {
      accepted: 2,
      partial: 0,
      failed: 0,
      skipped: 0,
      skipped_unaccepted: 0,
    });
  });
});

Deno.test("a run says why: -v prints each message's lines, the summary names a reason once", async () => {
  await withSink(async (sink) => {
    await inScratch(defaultProfile(sink), async (dir) => {
      const run = await cli(dir, ["one.eml", "two.eml", "--sign", "-v"]);
      assertEquals(run.code, 0, run.stderr);
      for (const name of ["one.eml", "two.eml"]) {
        assertMatch(
          run.text,
          new RegExp(`^Sending ${name.replace(".", "\\.")}\\tFrom: alice`, "m"),
        );
        assertMatch(
          run.text,
          new RegExp(`^${name.replace(".", "\\.")}: OK - in \\d+\\.\\d{3} seconds$`, "m"),
        );
      }
      assertMatch(run.stderr, /^2 messages in .*: 2 accepted, 0 partly, 0 failed$/m);
    });
  });
  // A closed port: the summary's reason once, with the server's (here the system's) words.
  const closed = await startSink({ port: 0 });
  const port = closed.port;
  await closed.close();
  await inScratch(
    `default_profile = "main"\n[profiles.main]\nplugin = "smtp-generic"\nhost = "127.0.0.1"\nport = ${port}\n`,
    async (dir) => {
      const run = await cli(dir, ["one.eml", "two.eml", "--sign", "--retries", "1"]);
      assertEquals(run.code, 69, run.stderr);
      const reason = run.stderr.split("\n").find((l) => l.includes(" x deferred then failed"));
      assert(reason, run.stderr);
      assertMatch(
        reason,
        /^ +2 x deferred then failed: Cannot connect to 127\.0\.0\.1:\d+: .*refused$/,
      );
      assertEquals(reason.split("Cannot connect").length, 2, `repeated: ${reason}`);
      assertMatch(run.stderr, /retries \d+ \(last: Cannot connect to 127\.0\.0\.1/);
    },
  );
});

Deno.test('send --mbox: a body paragraph starting "From " in an mboxo file stays in its message', async () => {
  await inScratch("", async (dir) => {
    await Deno.writeTextFile(
      `${dir}/in.mbox`,
      "From alice@example.com Sat Dec  5 10:00:00 2026\n" +
        "From: alice@example.com\nTo: bob@example.com\nSubject: one\n\nDear Bob,\n\n" +
        "From the desk of Alice: this paragraph is kept\nand this line too\n\n",
    );
    const run = await cli(dir, ["send", "--mbox", "in.mbox", "--sign-detached", "-o", "out"]);
    assertEquals(run.code, 0, run.stderr);
    const names = [];
    for await (const entry of Deno.readDir(`${dir}/out`)) names.push(entry.name);
    assertEquals(names.length, 1, names.join(", "));
    const text = await assertVerifies(await Deno.readFile(`${dir}/out/${names[0]}`), names[0]!);
    assertIncludes(
      text.replaceAll("\r\n", "\n"),
      "\nFrom the desk of Alice: this paragraph is kept\nand this line too\n",
    );
  });
});

Deno.test("--quiet keeps failures: a run's summary, one message's 552 after DATA; success stays silent", async () => {
  await inScratch("", async (dir) => {
    const ok = await cli(dir, ["send", "one.eml", "two.eml", "--sign", "-q", "-o", "ok"]);
    assertEquals([ok.code, ok.text, ok.stderr], [0, "", ""]);

    const bad = "From: a@example.com\nFrom: b@example.com\nTo: bob@example.com\n\nx\n";
    await Deno.writeTextFile(`${dir}/bad.eml`, bad);
    const run = await cli(dir, ["send", "one.eml", "bad.eml", "--sign", "-q", "-o", "out"]);
    assertEquals(run.code, 3, run.stderr);
    assertEquals(run.text, "");
    assertMatch(run.stderr, /^2 messages in .*: 1 accepted, 0 partly, 1 failed$/m);
    assertMatch(run.stderr, /^ +1 x not sealed, not a valid message: bad\.eml: 2 From headers/m);

    await Deno.writeTextFile(`${dir}/plain.mbox`, "Subject: not an mbox\n\nx\n");
    const mbox = await cli(dir, ["send", "--mbox", "plain.mbox", "--sign", "-q", "-o", "box"]);
    assertEquals(mbox.code, 66, mbox.stderr);
    assertIncludes(mbox.stderr, "not an mbox");
  });
  const sink = await startSink({
    port: 0,
    faults: { onDataEnd: () => "552 5.3.4 Message too big for the recipient's mailbox" },
  });
  try {
    await inScratch(defaultProfile(sink), async (dir) => {
      const run = await cli(dir, ["send", "one.eml", "--sign", "-q"]);
      assertEquals(run.code, 65, run.stderr);
      assertEquals(run.text, "");
      assertMatch(run.stderr, /^FAILED - in \d+\.\d{3} seconds: 0 of 1 recipients accepted$/m);
      assertIncludes(run.stderr, "  bob@example.com: 552 5.3.4 Message too big");
    });
  } finally {
    await sink.close();
  }
});
