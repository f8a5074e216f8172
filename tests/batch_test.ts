/**
 * Proof tests of the batch runner through the CLI: whole runs of sealed
 * messages into the real Postfix and into the programmable sink with
 * faults, checked message by message and recipient by recipient against
 * the journal, the --report file and the summary.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { openssl, testPki } from "./support/helpers.ts";
import { postfixAvailable, sharedPostfix } from "./support/rig.ts";
import {
  CliProcess,
  headerOf,
  inScratch,
  journalStatuses,
  keyArgs,
  pairKey,
  type Planned,
  readJournalLines,
  runToEnd,
  tally,
  writeRun,
} from "./support/batch.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkFaults, SinkServer, StoredMessage } from "../core/sink/mod.ts";
import { runBatch } from "../core/batch/run.ts";
import type { SealOutcome, SealPool } from "../core/batch/seal_pool.ts";
import { unsealed } from "../core/smime/sealed.ts";
import type { BatchInput } from "../core/batch/sources/mod.ts";
import type { DeliveryPlugin } from "../core/deliver/types.ts";

const decoder = new TextDecoder();

/** Every (Message-ID, recipient) a run should deliver. */
function expectedPairs(planned: Planned[]): Set<string> {
  return new Set(planned.flatMap((p) => p.recipients.map((r) => pairKey(p.messageId, r))));
}

/** (Message-ID, recipient) of each recipient of each message a sink stored. */
function sinkPairs(messages: StoredMessage[]): string[] {
  return messages.flatMap((m) => {
    const id = headerOf(m.data, "Message-ID") ?? "?";
    return m.rcptTo.map((r) => pairKey(id, r));
  });
}

interface Report {
  messages: {
    key: string;
    outcome: string;
    message_id: string | null;
    recipients: { recipient: string; status: string; response: string; attempts: number }[];
  }[];
  summary: {
    messages: Record<string, number>;
    recipients: Record<string, number>;
    resent: number;
    reasons: { reason: string; count: number; example: string }[];
  };
}

async function readReport(path: string): Promise<Report> {
  return JSON.parse(await Deno.readTextFile(path));
}

// ------------------------------------------------------------ real Postfix

/** What the rig delivered, by (Message-ID, recipient), and one file per pair for sampling. */
async function rigDeliveries(
  maildir: string,
  tag: string,
): Promise<{ counts: Map<string, number>; files: Map<string, string> }> {
  const keys: string[] = [];
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(maildir)) {
    if (!entry.name.endsWith(".meta")) continue;
    const meta = await Deno.readTextFile(`${maildir}/${entry.name}`);
    const recipient = /^recipient=(.*)$/m.exec(meta)?.[1] ?? "?";
    const eml = `${maildir}/${entry.name.slice(0, -".meta".length)}.eml`;
    const id = headerOf(await Deno.readFile(eml), "Message-ID") ?? "?";
    if (!id.includes(tag)) continue;
    const key = pairKey(id, recipient);
    keys.push(key);
    files.set(key, eml);
  }
  return { counts: tally(keys), files };
}

Deno.test({
  name: "a run of 200 sealed messages into Postfix: every recipient's copy exactly once",
  ignore: !postfixAvailable(),
  async fn() {
    const rig = await sharedPostfix();
    const pki = await testPki();
    await inScratch("smimepost-batch-pf-", async (dir) => {
      const tag = `pf${crypto.randomUUID().slice(0, 6)}`;
      const planned = await writeRun(
        `${dir}/run`,
        200,
        tag,
        (i) => i % 25 === 0 ? { bcc: ["dave@example.org"] } : {},
      );
      const run = await runToEnd([
        "send",
        "run",
        "--sign",
        "--encrypt",
        "--single-copy", // bob (RSA) and carol (EC) in one copy per message
        "--send_smtp",
        "--sessions",
        "4",
        "--journal",
        "journal.jsonl",
        "--report",
        "report.json",
        ...await keyArgs(),
      ], { cwd: dir, env: { SMTP_HOST: rig.host, SMTP_PORT: String(rig.smtpPort) } });
      assertEquals(run.code, 0, run.stderr);
      assertMatch(run.stderr, /^200 messages in .*: 200 accepted, 0 partly, 0 failed$/m);

      const expected = expectedPairs(planned);
      assertEquals(expected.size, 200 * 2 + 8);
      // Postfix delivers asynchronously: wait for every expected pair, then a moment more.
      let delivered = await rigDeliveries(rig.maildir, tag);
      const deadline = Date.now() + 30_000;
      while (delivered.counts.size < expected.size && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        delivered = await rigDeliveries(rig.maildir, tag);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      delivered = await rigDeliveries(rig.maildir, tag);
      const missing = [...expected].filter((k) => !delivered.counts.has(k));
      assertEquals(missing, [], "never delivered");
      const twice = [...delivered.counts].filter(([, n]) => n !== 1);
      assertEquals(twice, [], "delivered more than once");
      assertEquals(new Set(delivered.counts.keys()), expected);

      const report = await readReport(`${dir}/report.json`);
      // Recipient lists: the owner's alone, like the journal.
      for (const file of ["report.json", "journal.jsonl"]) {
        assertEquals((await Deno.stat(`${dir}/${file}`)).mode! & 0o777, 0o600, file);
      }
      assertEquals(report.summary.messages, {
        accepted: 200,
        partial: 0,
        failed: 0,
        skipped: 0,
        skipped_unaccepted: 0,
      });
      assertEquals(report.summary.recipients, {
        accepted: expected.size,
        rejected: 0,
        failed: 0,
        uncertain: 0,
      });
      assertEquals(report.messages.length, 200);
      assertEquals(
        new Set(report.messages.map((m) => m.message_id)),
        new Set(planned.map((p) => p.messageId)),
      );
      const statuses = journalStatuses(await readJournalLines(`${dir}/journal.jsonl`));
      assertEquals(new Set(statuses.keys()), expected);
      for (const [key, { last }] of statuses) assertEquals(last.status, "accepted", key);

      // An independent judge: openssl decrypts and verifies a sample, per recipient key.
      const sample = planned.filter((_, i) => i % 40 === 0 || i === 24);
      for (const p of sample) {
        for (const recipient of p.recipients) {
          const file = delivered.files.get(pairKey(p.messageId, recipient))!;
          const decrypted = await openssl([
            "cms",
            "-decrypt",
            "-in",
            file,
            "-recip",
            `${pki}/${recipient}.crt`,
            "-inkey",
            `${pki}/${recipient}.pem`,
          ]);
          assertEquals(decrypted.code, 0, `${file}: ${decrypted.stderr}`);
          const verified = await openssl(
            ["cms", "-verify", "-CAfile", `${pki}/trust.pem`, "-purpose", "smimesign", "-binary"],
            decrypted.stdout,
          );
          assertEquals(verified.code, 0, `${file}: ${verified.stderr}`);
          assertIncludes(decoder.decode(verified.stdout), "a leading dot");
        }
      }
    });
  },
});

// ------------------------------------------------------------ sink with faults

/** Runs `fn` with a sink, closed afterwards. */
async function withSink<T>(
  faults: SinkFaults,
  fn: (sink: SinkServer) => Promise<T>,
): Promise<T> {
  const sink = await startSink({ port: 0, faults });
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

const BIG = 8 * 1024 * 1024;

Deno.test("a run into a faulty server: the journal, the report and the summary say exactly what the server took", async () => {
  await inScratch("smimepost-batch-faults-", async (dir) => {
    const tag = `ft${crypto.randomUUID().slice(0, 6)}`;
    const planned = await writeRun(`${dir}/run`, 40, tag, (i) => ({
      cc: i === 5 ? ["erin@example.com"] : [],
      bcc: i % 10 === 0 ? ["dave@example.org"] : [],
      bodyBytes: i === 12 || i === 27 ? BIG : undefined,
    }));
    const dropAfterDot = planned[6]!.messageId;
    const seen = new Map<string, number>();
    const dataEnds = new Map<string, number>();
    let drops = 0;
    const faults: SinkFaults = {
      onRcpt(address) {
        const n = (seen.get(address) ?? 0) + 1;
        seen.set(address, n);
        if (address === "erin@example.com" && n <= 2) return "452 4.2.2 mailbox full";
        if (address === "dave@example.org") return "550 5.1.1 no such user";
        return undefined;
      },
      dropDuringData(bytes) {
        if (bytes < 1_000_000 || drops >= 2) return false;
        drops++;
        return true;
      },
      onDataEnd(message) {
        const id = headerOf(message.data, "Message-ID") ?? "?";
        const n = (dataEnds.get(id) ?? 0) + 1;
        dataEnds.set(id, n);
        return id === dropAfterDot && n === 1 ? "drop" : undefined;
      },
    };
    await withSink(faults, async (sink) => {
      const run = await runToEnd([
        "send",
        "run",
        "--sign",
        "--encrypt",
        "--single-copy", // bob (RSA) and carol (EC) in one copy per message
        "--send_smtp",
        "--sessions",
        "4",
        "--retries",
        "3",
        "--journal",
        "journal.jsonl",
        "--report",
        "report.json",
        ...await keyArgs(),
      ], { cwd: dir, env: { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) } });
      assertEquals(run.code, 3, run.stderr);

      // What the sink stored: each pair once, and exactly the journal's "accepted" ones.
      const stored = tally(sinkPairs(sink.received));
      assertEquals([...stored].filter(([, n]) => n !== 1), [], "stored more than once");
      const lines = await readJournalLines(`${dir}/journal.jsonl`);
      const statuses = journalStatuses(lines);
      assertEquals(new Set(statuses.keys()), expectedPairs(planned));
      const accepted = [...statuses].filter(([, s]) => s.last.status === "accepted");
      assertEquals(new Set(stored.keys()), new Set(accepted.map(([key]) => key)));

      const finals = new Map([...statuses].map(([key, s]) => [key, s.last]));
      for (const p of planned) {
        for (const r of p.recipients) {
          const last = finals.get(pairKey(p.messageId, r))!;
          const where = `${p.file} ${r}`;
          if (r === "dave@example.org") {
            assertEquals([last.status, last.code], ["rejected", 550], where);
            assertEquals(last.response, "550 5.1.1 no such user", where);
          } else {
            assertEquals(last.status, "accepted", where);
            assertEquals(last.resent, p.messageId === dropAfterDot ? true : undefined, where);
          }
        }
      }

      // Deferred twice with 452, then accepted once, on the third attempt.
      const erin = statuses.get(pairKey(planned[4]!.messageId, "erin@example.com"))!;
      assertEquals(seen.get("erin@example.com"), 3);
      assertEquals(
        erin.all.filter((l) => l.status === "deferred" && l.code === 452).map((l) => l.response),
        ["452 4.2.2 mailbox full", "452 4.2.2 mailbox full"],
      );
      assertEquals(erin.all.map((l) => l.attempt), erin.all.map((_, i) => i + 1));
      // A queue id only where a copy was queued: not on a deferral nor a rejection.
      assertEquals(erin.all.map((l) => l.id === undefined), [true, true, false]);
      const recipientLines = lines.filter((l) => l.type === "recipient");
      assert(recipientLines.every((l) => (l.id !== undefined) === (l.status === "accepted")));
      assertEquals(
        erin.all.slice(0, -1).map((l) => l.status),
        erin.all.slice(0, -1).map(() => "deferred"),
      );

      // Two drops during DATA, only ever of a big message (which one: the timing decides, as
      // a retry may come before the other's first try): deferred, not final, and every big
      // message accepted in the end (checked above).
      assertEquals(drops, 2);
      const lostDuringData = lines.filter((l) =>
        l.response?.includes("connection lost during DATA")
      );
      assert(lostDuringData.every((l) => l.status === "deferred"), "lost during DATA is not final");
      const big = new Set([planned[11]!.messageId, planned[26]!.messageId]);
      assert(lostDuringData.every((l) => big.has(l.message_id!)), "a small message lost");
      assertEquals(new Set(lostDuringData.map((l) => `${l.message_id} ${l.attempt}`)).size, 2);

      // Dropped after the final dot: sent again (at-least-once), and said so.
      assertEquals(dataEnds.get(dropAfterDot), 2, "the dropped message was not sent again");
      const dropped = lines.filter((l) => l.type === "recipient" && l.message_id === dropAfterDot);
      const lost = dropped.filter((l) => l.maybe_sent);
      assertEquals(lost.map((l) => l.status), ["deferred", "deferred"]);
      assertIncludes(lost[0]!.response!, "may have been delivered");
      assertMatch(run.stderr, /0007\.eml: .*the message may be sent more than once/);

      // Every message finished, none left for a resumed run.
      const messageLines = lines.filter((l) => l.type === "message");
      assertEquals(messageLines.length, 40);
      assert(messageLines.every((l) => l.done), "a message is not done");

      // The report says what the journal says.
      const report = await readReport(`${dir}/report.json`);
      assertEquals(report.messages.length, 40);
      for (const m of report.messages) {
        for (const r of m.recipients) {
          const last = finals.get(pairKey(m.message_id!, r.recipient))!;
          assertEquals([r.status, r.response, r.attempts], [
            last.status,
            last.response,
            last.attempt,
          ]);
        }
        const expectedOutcome = m.recipients.every((r) => r.status === "accepted")
          ? "accepted"
          : m.recipients.some((r) => r.status === "accepted")
          ? "partial"
          : "failed";
        assertEquals(m.outcome, expectedOutcome, m.key);
      }
      assertEquals(report.summary.messages, {
        accepted: 36,
        partial: 4,
        failed: 0,
        skipped: 0,
        skipped_unaccepted: 0,
      });
      assertEquals(report.summary.recipients, {
        accepted: stored.size,
        rejected: 4,
        failed: 0,
        uncertain: 0,
      });
      assertEquals(report.summary.resent, 2);
      assertEquals(stored.size, 40 * 2 + 1);

      // The summary on stderr names the reasons, with the server's words.
      assertMatch(run.stderr, /^40 messages in .*: 36 accepted, 4 partly, 0 failed$/m);
      assertMatch(
        run.stderr,
        /^recipients: 81 accepted, 4 rejected, 0 deferred then failed, 0 possibly delivered/m,
      );
      assertMatch(
        run.stderr,
        /^ {2}2 sent again after a lost reply: may be delivered more than once$/m,
      );
      assertMatch(run.stderr, /^ +4 x rejected 550 5\.1\.1: 550 5\.1\.1 no such user$/m);
    });
  });
});

// ------------------------------------------------------------ --mbox, --manifest

/** Writes a message; `messageId` undefined leaves the header out. */
async function writeMessage(path: string, subject: string, messageId?: string): Promise<void> {
  await Deno.writeTextFile(
    path,
    "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\nCc: carol@example.net\n" +
      "Bcc: dave@example.org\n" +
      `Subject: ${subject}\n${messageId ? `Message-ID: ${messageId}\n` : ""}\nHello\n`,
  );
}

Deno.test("a message without a Message-ID: the journal, the report and --json carry the one sent", async () => {
  await withSink({}, async (sink) => {
    await inScratch("smimepost-batch-msgid-", async (dir) => {
      const given = `<given.${crypto.randomUUID().slice(0, 8)}@batch.example>`;
      await Deno.mkdir(`${dir}/run`);
      await writeMessage(`${dir}/run/1.eml`, "one", given);
      await writeMessage(`${dir}/run/2.eml`, "two");
      await writeMessage(`${dir}/run/3.eml`, "three");
      await writeMessage(`${dir}/alone.eml`, "alone");
      const env = { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) };
      const common = ["--sign", "--encrypt", "--send_smtp", "--json", ...await keyArgs()];
      const run = await runToEnd(
        ["send", "run", ...common, "--journal", "journal.jsonl", "--report", "report.json"],
        { cwd: dir, env },
      );
      assertEquals(run.code, 0, run.stderr);
      // One message alone takes the old tool's path through the same runner.
      const alone = await runToEnd(["send", "alone.eml", ...common], { cwd: dir, env });
      assertEquals(alone.code, 0, alone.stderr);

      // What the server got, per Subject: every copy (dave's Bcc copy is its own) one Message-ID.
      const sent = new Map<string, Set<string>>();
      for (const m of sink.received) {
        const subject = headerOf(m.data, "Subject")!;
        const ids = sent.get(subject) ?? new Set<string>();
        ids.add(headerOf(m.data, "Message-ID") ?? "none");
        sent.set(subject, ids);
      }
      assertEquals([...sent.keys()].sort(), ["alone", "one", "three", "two"]);
      const idOf = (subject: string) => {
        const ids = [...sent.get(subject)!];
        assertEquals(ids.length, 1, `${subject}: copies with different Message-IDs`);
        assertMatch(ids[0]!, /^<[^<>\s]+@[^<>\s]+>$/);
        return ids[0]!;
      };
      assertEquals(idOf("one"), given);
      const expected = new Map([
        ["run/1.eml", given],
        ["run/2.eml", idOf("two")],
        ["run/3.eml", idOf("three")],
      ]);
      assert(idOf("two") !== idOf("three"), "two messages share an added Message-ID");

      const recipientLines = (await readJournalLines(`${dir}/journal.jsonl`))
        .filter((l) => l.type === "recipient");
      assertEquals(recipientLines.length, 3 * 3);
      for (const line of recipientLines) {
        assertEquals(line.message_id, expected.get(line.key!), `journal ${line.key}`);
      }
      const report = await readReport(`${dir}/report.json`);
      assertEquals(
        new Map(report.messages.map((m) => [m.key, m.message_id])),
        expected,
      );
      // One object per message, then the summary: the same for a run and for one message.
      const json = (text: string) => {
        const objects = text.trim().split("\n").map((l) =>
          JSON.parse(l) as { key: string; message_id: string; summary?: { messages: unknown } }
        );
        assert(objects.at(-1)!.summary, `the last object is no summary: ${text}`);
        return objects.slice(0, -1);
      };
      assertEquals(new Map(json(run.stdout).map((m) => [m.key, m.message_id])), expected);
      assertEquals(json(alone.stdout).map((m) => m.message_id), [idOf("alone")]);
    });
  });
});

/** A powermta profile pointing at `port`, with its own virtual MTA and job. */
function powermtaConfig(port: number): string {
  return `[profiles.pmta]
plugin = "powermta"
host = "127.0.0.1"
port = ${port}
virtual_mta = "profile-pool"
job = "profile-job"
`;
}

/** Writes an mbox of `count` messages and a manifest of three message files. */
async function writeMboxAndManifest(dir: string, tag: string): Promise<{
  mbox: Planned[];
  manifest: (Planned & { virtualMta?: string; job?: string })[];
}> {
  const mbox: Planned[] = [];
  let text = "";
  for (let i = 1; i <= 3; i++) {
    const messageId = `<${tag}-mbox-${i}@batch.example>`;
    text += `From alice@example.com Mon Mar  3 09:00:0${i} 2025\n` +
      `From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\nCc: carol@example.net\n` +
      `Subject: mbox ${i}\nMessage-ID: ${messageId}\n\nDear Bob,\n>From the desk of Alice.\n\n`;
    mbox.push({ file: "in.mbox", messageId, recipients: ["bob@example.com", "carol@example.net"] });
  }
  await Deno.writeTextFile(`${dir}/in.mbox`, text);
  const listed = await writeRun(`${dir}/listed`, 3, `${tag}-manifest`);
  const lines = [
    { file: "listed/part1/0001.eml" },
    { file: "listed/part2/0002.eml", to: "erin@example.com" },
    {
      file: "listed/part0/0003.eml",
      to: ["dave@example.org", "bob@example.com"],
      virtual_mta: "vmta-statements",
      job: "march-run",
    },
  ];
  await Deno.writeTextFile(
    `${dir}/run.jsonl`,
    "# three statements\n" + lines.map((l) => JSON.stringify(l)).join("\n") + "\n",
  );
  const manifest = [
    { ...listed[0]! },
    { ...listed[1]!, recipients: ["erin@example.com"] },
    {
      ...listed[2]!,
      recipients: ["dave@example.org", "bob@example.com"],
      virtualMta: "vmta-statements",
      job: "march-run",
    },
  ];
  return { mbox, manifest };
}

async function runMboxAndManifest(
  fn: (sink: SinkServer, planned: Awaited<ReturnType<typeof writeMboxAndManifest>>) => void,
): Promise<void> {
  await withSink({}, async (sink) => {
    await inScratch("smimepost-batch-inputs-", async (dir) => {
      const tag = `in${crypto.randomUUID().slice(0, 6)}`;
      const planned = await writeMboxAndManifest(dir, tag);
      await Deno.writeTextFile(`${dir}/smimepost.toml`, powermtaConfig(sink.port));
      // `send` insists on a path argument even when --mbox/--manifest give the messages
      // (cli.ts: "<inputs...>" is required, and an empty folder is an error): one more
      // message stands in.
      const extra = await writeRun(`${dir}/extra`, 1, `${tag}-extra`);
      planned.mbox.push(...extra);
      const run = await runToEnd([
        "send",
        "extra",
        "--mbox",
        "in.mbox",
        "--manifest",
        "run.jsonl",
        "--sign",
        "--encrypt",
        "--single-copy", // bob (RSA) and carol (EC) in one copy per message
        "--profile",
        "pmta",
        "--report",
        "report.json",
        ...await keyArgs(),
      ], { cwd: dir });
      assertEquals(run.code, 0, run.stderr);
      assertMatch(run.stderr, /^7 messages in .*: 7 accepted, 0 partly, 0 failed$/m);
      fn(sink, planned);
    });
  });
}

Deno.test('--mbox and --manifest deliver every message; a manifest\'s "to" replaces the envelope', async () => {
  await runMboxAndManifest((sink, planned) => {
    const stored = tally(sinkPairs(sink.received));
    assertEquals([...stored.values()].filter((n) => n !== 1), []);
    assertEquals(
      new Set(stored.keys()),
      expectedPairs([...planned.mbox, ...planned.manifest]),
    );
    // The overridden envelope: nobody from the headers that "to" left out.
    const byId = new Map(sink.received.map((m) => [headerOf(m.data, "Message-ID"), m]));
    assertEquals(byId.get(planned.manifest[1]!.messageId)!.rcptTo, ["erin@example.com"]);
    const third = sink.received.filter((m) =>
      headerOf(m.data, "Message-ID") === planned.manifest[2]!.messageId
    );
    assertEquals(third.flatMap((m) => m.rcptTo).sort(), ["bob@example.com", "dave@example.org"]);
    // The mbox's From_ lines are gone, the profile's headers are there.
    for (const m of sink.received) {
      assert(!decoder.decode(m.data).startsWith("From "), "From_ line sent");
      assert(headerOf(m.data, "X-Virtual-MTA"), "no X-Virtual-MTA");
    }
  });
});

Deno.test({
  name: "--manifest virtual_mta and job become that message's X-Virtual-MTA and X-Job",
  async fn() {
    await runMboxAndManifest((sink, planned) => {
      for (const m of sink.received) {
        const id = headerOf(m.data, "Message-ID");
        const listed = planned.manifest.find((p) => p.messageId === id);
        assertEquals(
          [headerOf(m.data, "X-Virtual-MTA"), headerOf(m.data, "X-Job")],
          [listed?.virtualMta ?? "profile-pool", listed?.job ?? "profile-job"],
          String(id),
        );
      }
    });
  },
});

// ------------------------------------------------------------ backpressure

Deno.test("backpressure: behind a slow server, the run reads only a bounded distance ahead", async () => {
  // The messages come as an mbox on stdin, so what the run has read is what this test could
  // write into the pipe (64 KiB of pipe buffer aside): no memory or timing measurements.
  const count = 60;
  const size = 256 * 1024;
  const body = ("y".repeat(76) + "\n").repeat(Math.ceil(size / 77));
  const encoder = new TextEncoder();
  await withSink({ replyDelayMs: 15 }, async (sink) => {
    await inScratch("smimepost-batch-bp-", async (dir) => {
      // A path argument is required (see above): one message, sent first.
      await writeRun(`${dir}/first`, 1, "bp-first");
      const cli = await CliProcess.start([
        "send",
        "first",
        "--mbox",
        "-",
        "--sign",
        "--send_smtp",
        "--sessions",
        "1",
        "--window",
        "1",
        "--workers",
        "1",
        ...await keyArgs(),
      ], { cwd: dir, stdin: true, env: { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) } });
      let written = 0;
      let furthestAhead = 0;
      const writer = cli.stdin.getWriter();
      try {
        for (let i = 1; i <= count; i++) {
          const message = encoder.encode(
            `From alice@example.com Mon Mar  3 09:00:00 2025\nFrom: alice@example.com\n` +
              `To: bob@example.com\nSubject: bp ${i}\nMessage-ID: <bp-${i}@batch.example>\n\n${body}\n`,
          );
          const failed = await writer.write(message).then(() => false, () => true);
          if (failed) assert(false, `the run stopped reading: ${(await cli.finished()).stderr}`);
          written += message.length;
          // Read but not yet accepted: sealing (4 per worker), queued (8), sending (1), and
          // the reader's own buffers.
          const ahead = 1 + written / message.length - sink.count;
          furthestAhead = Math.max(furthestAhead, ahead);
          assert(
            ahead <= 20,
            `${ahead} messages read ahead of the server (${sink.count} accepted)`,
          );
        }
      } finally {
        await writer.close().catch(() => {});
      }
      const run = await cli.finished();
      assertEquals(run.code, 0, run.stderr);
      assertEquals(sink.count, 1 + count);
      // The slow server really was the bottleneck, so the bound was tested.
      assert(furthestAhead >= 5, `never more than ${furthestAhead} messages ahead`);
    });
  });
});

// ------------------------------------------------------------ runBatch, directly

/** A seal pool that seals job `n` into one copy to bob, or fails where `fail(n)` says. */
function fakePool(fail: (n: number) => boolean = () => false): SealPool {
  let sealed = 0;
  return {
    size: 2,
    seal(job: { key: string }): Promise<SealOutcome> {
      if (fail(++sealed)) return Promise.reject(new Error("seal worker crashed: test"));
      const messageId = `<${job.key}@batch.example>`;
      const bytes = `Subject: ${job.key}\r\nMessage-ID: ${messageId}\r\n\r\nx\r\n`;
      return Promise.resolve({
        ok: true,
        copies: [unsealed(new TextEncoder().encode(bytes), {
          sender: "alice@example.com",
          recipients: ["bob@example.com"],
        })],
        warnings: [],
        messageId,
      });
    },
  } as unknown as SealPool;
}

/** A plugin whose transport answers every recipient with `status` and `response`. */
function fakePlugin(status: "accepted" | "deferred", code: number, response: string) {
  return {
    id: "test",
    create: () => ({
      open: () => Promise.resolve(),
      close: () => Promise.resolve(),
      deliver: (message: { recipients: readonly string[] }) =>
        Promise.resolve({
          recipients: message.recipients.map((recipient) => ({
            recipient,
            status,
            code,
            response,
          })),
          response,
        }),
    }),
  } as unknown as DeliveryPlugin;
}

Deno.test("runBatch: a seal worker that breaks ends the run with that error instead of hanging it", async () => {
  const pool = fakePool((n) => n === 3);
  const plugin = fakePlugin("accepted", 250, "250 ok");
  async function* inputs(): AsyncGenerator<BatchInput> {
    for (let i = 1; i <= 10; i++) yield { key: `m${i}`, label: `m${i}`, bytes: new Uint8Array() };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<string>((resolve) => timer = setTimeout(() => resolve("hung"), 5000));
  try {
    const outcome = await Promise.race([
      runBatch({
        inputs: inputs(),
        pool,
        plugin,
        pluginOptions: {},
        context: { info: () => {}, warn: () => {} },
        sessions: 2,
        window: 2,
        retry: { attempts: 1, maxAgeMs: 1000, baseMs: 10, capMs: 10 },
      }).then(({ fatal }) => fatal ? String(fatal) : "resolved", (err) => `rejected: ${err}`),
      hang,
    ]);
    assertEquals(outcome, "Error: seal worker crashed: test");
  } finally {
    clearTimeout(timer);
  }
});

Deno.test("runBatch: an MTA that defers everything does not pull the whole run into memory", async () => {
  const pool = fakePool();
  const plugin = fakePlugin("deferred", 451, "451 4.3.0 try again later");
  let read = 0;
  async function* inputs(): AsyncGenerator<BatchInput> {
    for (let i = 1; i <= 10_000; i++) {
      read++;
      yield { key: `m${i}`, label: `m${i}`, bytes: new Uint8Array() };
    }
  }
  const stop = new AbortController();
  const run = runBatch({
    inputs: inputs(),
    pool,
    plugin,
    pluginOptions: {},
    context: { info: () => {}, warn: () => {} },
    sessions: 2,
    window: 2,
    retry: { attempts: 1_000, maxAgeMs: 60_000, baseMs: 50, capMs: 200 },
    maxOpen: 40,
    signal: stop.signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const readWhileDeferred = read;
  stop.abort();
  const { summary } = await run;
  // maxOpen messages, plus the one the producer holds while it waits for room.
  assert(readWhileDeferred <= 41, `read ${readWhileDeferred} messages while all were deferred`);
  assertEquals(summary.recipients.accepted, 0);
});
