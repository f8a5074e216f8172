/**
 * kill -9 in the middle of a run, then --resume: nothing is lost, and
 * nothing is sent twice except what was in flight at the kill (accepted by
 * the server, its acceptance not yet in the journal: the documented,
 * unavoidable ambiguity).
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import {
  CliProcess,
  headerOf,
  inScratch,
  journalStatuses,
  keyArgs,
  pairKey,
  readJournalLines,
  runToEnd,
  tally,
  writeRun,
} from "./support/batch.ts";
import type { Finished, JournalLine, Planned } from "./support/batch.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkServer } from "../core/sink/mod.ts";
import { Journal, resumeState } from "../core/batch/journal.ts";
import { RawSmtpServer } from "./support/faults.ts";

const COUNT = 300;
const SESSIONS = 2;
const WINDOW = 4;

function runArgs(): Promise<string[]> {
  return keyArgs().then((keys) => [
    "send",
    "run",
    "--sign",
    "--encrypt",
    "--single-copy", // bob (RSA) and carol (EC) in one copy per message
    "--send_smtp",
    "--sessions",
    String(SESSIONS),
    "--window",
    String(WINDOW),
    "--journal",
    "journal.jsonl",
    ...keys,
  ]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a run and SIGKILLs it once the journal holds `killAt` accepted
 * recipients. Resolves with how the process ended and the journal then.
 */
async function killedRun(
  dir: string,
  sink: SinkServer,
  killAt: number,
): Promise<{ end: Finished; journal: JournalLine[] }> {
  const cli = await CliProcess.start(await runArgs(), {
    cwd: dir,
    env: { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) },
  });
  let ended = false;
  const end = cli.finished().finally(() => ended = true);
  while (!ended) {
    const lines = await readJournalLines(`${dir}/journal.jsonl`);
    if (lines.filter((l) => l.status === "accepted").length >= killAt) {
      cli.kill();
      break;
    }
    await sleep(10);
  }
  const finished = await end;
  return { end: finished, journal: await readJournalLines(`${dir}/journal.jsonl`) };
}

Deno.test("kill -9 mid-run, then --resume: every recipient once, except what was in flight", async () => {
  let tries = 0;
  for (;;) {
    tries++;
    const sink = await startSink({ port: 0, faults: { replyDelayMs: 1 } });
    try {
      const done = await inScratch("smimepost-resume-", async (dir) => {
        const tag = `rs${crypto.randomUUID().slice(0, 6)}`;
        const planned = await writeRun(
          `${dir}/run`,
          COUNT,
          tag,
          (i) => i % 20 === 0 ? { bcc: ["dave@example.org"] } : {},
        );
        const expected = planned.flatMap((p) => p.recipients.map((r) => pairKey(p.messageId, r)));
        // Somewhere between a tenth and two thirds of the way.
        const killAt = Math.floor(expected.length * (0.1 + Math.random() * 0.55));
        const first = await killedRun(dir, sink, killAt);
        if (first.end.signal !== "SIGKILL") {
          // The run ended before the kill landed: try again with a fresh sink and journal.
          assertEquals(first.end.code, 0, first.end.stderr);
          if (tries < 3) return false;
          throw new Error(`the run finished before the kill ${tries} times`);
        }
        await proveResume(dir, sink, planned, expected, first.journal);
        return true;
      });
      if (done) return;
    } finally {
      await sink.close();
    }
  }
});

async function proveResume(
  dir: string,
  sink: SinkServer,
  planned: Planned[],
  expected: string[],
  firstJournal: JournalLine[],
): Promise<void> {
  const acceptedBefore = new Set(
    firstJournal.filter((l) => l.status === "accepted").map((l) =>
      pairKey(l.message_id!, l.recipient!)
    ),
  );
  assert(acceptedBefore.size > 0 && acceptedBefore.size < expected.length, "killed too late");
  const doneBefore = new Set(
    firstJournal.filter((l) => l.type === "message" && l.done).map((l) => l.key),
  );
  const storedBefore = sink.count;

  const resumed = await runToEnd([...await runArgs(), "--resume", "--report", "report.json"], {
    cwd: dir,
    env: { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) },
  });
  assertEquals(resumed.code, 0, resumed.stderr);
  assert(sink.count > storedBefore, "the resumed run sent nothing");

  // Every recipient of every message arrived.
  const stored = tally(
    sink.received.flatMap((m) => {
      const id = headerOf(m.data, "Message-ID") ?? "?";
      return m.rcptTo.map((r) => pairKey(id, r));
    }),
  );
  assertEquals(new Set(stored.keys()), new Set(expected));

  // Twice only what the first run never journaled as accepted, and never more than twice.
  const twice = [...stored].filter(([, n]) => n > 1);
  for (const [key, n] of twice) {
    assertEquals(n, 2, key);
    assert(!acceptedBefore.has(key), `${key}: journaled as accepted, and sent again`);
  }
  // Counted in copies (one SMTP transaction each): at most what can be in flight.
  const twiceCopies = new Set(
    sink.received.filter((m) => {
      const id = headerOf(m.data, "Message-ID") ?? "?";
      return m.rcptTo.some((r) => (stored.get(pairKey(id, r)) ?? 0) > 1);
    }).map((m) => `${headerOf(m.data, "Message-ID")} ${m.rcptTo.join(",")}`),
  );
  assert(
    twiceCopies.size <= SESSIONS * WINDOW,
    `${twiceCopies.size} copies sent twice; at most ${SESSIONS * WINDOW} can be in flight`,
  );
  console.log(
    `killed after ${acceptedBefore.size} of ${expected.length} recipients; ` +
      `${twiceCopies.size} in-flight copies sent again`,
  );

  // The journal: every message done in the end, every recipient accepted.
  const journal = await readJournalLines(`${dir}/journal.jsonl`);
  const lastMessageLine = new Map(
    journal.filter((l) => l.type === "message").map((l) => [l.key!, l]),
  );
  assertEquals(lastMessageLine.size, planned.length);
  assert([...lastMessageLine.values()].every((l) => l.done), "a message is not done");
  const statuses = journalStatuses(journal);
  assertEquals(new Set(statuses.keys()), new Set(expected));
  for (const [key, s] of statuses) assertEquals(s.last.status, "accepted", key);
  const state = await resumeState(`${dir}/journal.jsonl`);
  assertEquals(state.doneKeys.size, planned.length);

  // The resumed run skipped exactly what the first one finished: the messages it wrote done,
  // and those whose every recipient it journaled but not yet the message's own line.
  const finishedBefore = planned.filter((p) =>
    p.recipients.every((r) => acceptedBefore.has(pairKey(p.messageId, r)))
  );
  assert(finishedBefore.length >= doneBefore.size);
  const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
  assertEquals(report.summary.messages.skipped, finishedBefore.length);
  assertEquals(
    report.summary.messages.accepted + report.summary.messages.skipped,
    planned.length,
  );
}

Deno.test("a journal whose last line was torn by a crash still resumes after more runs", async () => {
  await inScratch("smimepost-resume-torn-", async (dir) => {
    const path = `${dir}/journal.jsonl`;
    const at = new Date().toISOString();
    const done = { type: "message", key: "a.eml", label: "a.eml", done: true, at } as const;
    await Deno.writeTextFile(path, JSON.stringify(done) + "\n" + '{"type":"recipient","key":"b.e');
    // --resume reads it: the torn line is no entry.
    assertEquals([...(await resumeState(path)).doneKeys], ["a.eml"]);
    // The resumed run appends; the run after that must still read the journal.
    const journal = await Journal.open(path);
    try {
      await journal.append({ ...done, key: "b.eml", label: "b.eml" });
    } finally {
      journal.close();
    }
    assertEquals([...(await resumeState(path)).doneKeys].sort(), ["a.eml", "b.eml"]);
  });
});

Deno.test("--resume after a kill between a message's last recipient line and its message line", async () => {
  const sink = await startSink({ port: 0 });
  try {
    await inScratch("smimepost-resume-gap-", async (dir) => {
      const planned = await writeRun(`${dir}/run`, 6, `gap${crypto.randomUUID().slice(0, 6)}`);
      const env = { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) };
      const first = await runToEnd(await runArgs(), { cwd: dir, env });
      assertEquals(first.code, 0, first.stderr);
      assertEquals(sink.count, 6);
      // As if killed just before the "message" line of one message, and the end of the run.
      const path = `${dir}/journal.jsonl`;
      const lines = (await Deno.readTextFile(path)).split("\n").filter(Boolean);
      const gapKey = JSON.parse(lines.find((l) => l.includes('"type":"message"'))!).key;
      const kept = lines.filter((l) => {
        const entry = JSON.parse(l);
        return !(entry.type === "message" && entry.key === gapKey) && entry.type !== "run";
      });
      await Deno.writeTextFile(path, kept.join("\n") + "\n");

      const resumed = await runToEnd([...await runArgs(), "--resume", "--report", "report.json"], {
        cwd: dir,
        env,
      });
      assertEquals(sink.count, 6, "a recipient the journal had as accepted was sent again");
      assertEquals(resumed.code, 0, resumed.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
      assertEquals(report.summary.messages, {
        accepted: 0,
        partial: 0,
        failed: 0,
        skipped: 6,
        skipped_unaccepted: 0,
      });
      const state = await resumeState(path);
      assertEquals(state.doneKeys.size, planned.length);
    });
  } finally {
    await sink.close();
  }
});

Deno.test("a journal that records a run is refused without --resume (64); --new-journal keeps it aside", async () => {
  await inScratch("smimepost-journal-", async (dir) => {
    await writeRun(`${dir}/run`, 3, "again");
    const sink = await startSink({ port: 0 });
    try {
      const env = { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) };
      const first = await runToEnd(await runArgs(), { cwd: dir, env });
      assertEquals(first.code, 0, first.stderr);
      assertEquals(sink.count, 3);
      const again = await runToEnd(await runArgs(), { cwd: dir, env });
      assertEquals(again.code, 64, again.stderr);
      assert(
        /journal journal\.jsonl already records 3 message\(s\) and 6 recipient outcome\(s\): --resume/
          .test(again.stderr),
        again.stderr,
      );
      assertEquals(sink.count, 3, "nothing was sent again");
      const resumed = await runToEnd([...await runArgs(), "--resume"], { cwd: dir, env });
      assertEquals(resumed.code, 0, resumed.stderr);
      assertEquals(sink.count, 3, "--resume finds everything done");
      const fresh = await runToEnd([...await runArgs(), "--new-journal"], { cwd: dir, env });
      assertEquals(fresh.code, 0, fresh.stderr);
      assertEquals(sink.count, 6, "a new run sends everything once more, as asked");
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert(names.some((n) => /^journal\.jsonl\.\d{8}T\d{6}Z$/.test(n)), names.join(", "));
      assertEquals(
        (await readJournalLines(`${dir}/journal.jsonl`)).filter((l) => l.type === "message").length,
        3,
      );
    } finally {
      await sink.close();
    }
  });
});

Deno.test("530 to MAIL FROM stops the run with 77 and rejects nothing; --resume then sends every message", async () => {
  await inScratch("smimepost-530-", async (dir) => {
    await writeRun(`${dir}/run`, 12, "auth530");
    const refusing = await RawSmtpServer.start({
      mail: () => ({ reply: "530 5.7.0 Authentication required" }),
    });
    const working = await RawSmtpServer.start({});
    try {
      const first = await runToEnd(await runArgs(), { cwd: dir, env: refusing.env });
      assertEquals(first.code, 77, first.stderr);
      assert(
        first.stderr.includes(
          `Cannot send via 127.0.0.1:${refusing.port} without logging in: ` +
            "530 5.7.0 Authentication required",
        ),
        first.stderr,
      );
      const journal = await readJournalLines(`${dir}/journal.jsonl`);
      assertEquals(journal.filter((l) => l.status === "rejected"), []);
      assertEquals(refusing.accepted().length, 0);
      // Never sent, and said so: not "deferred then failed".
      assert(/^ +\d+ x not sent, the run stopped: /m.test(first.stderr), first.stderr);
      assert(!first.stderr.includes("deferred then failed:"), first.stderr);

      const resumed = await runToEnd([...await runArgs(), "--resume"], {
        cwd: dir,
        env: working.env,
      });
      assertEquals(resumed.code, 0, resumed.stderr);
      // Two recipients each (bob and carol in one copy), each taken once.
      assertEquals(new Set(working.accepted()).size, 24, "--resume sends every message");
      assertEquals(working.accepted().length, 24, "and none twice");
    } finally {
      await refusing.close();
      await working.close();
    }
  });
});

Deno.test("--resume answers for the whole job: a message an earlier run left refused keeps the exit at 3", async () => {
  const refusing = await startSink({
    port: 0,
    faults: {
      onRcpt: (address) => address === "carol@example.net" ? "550 5.1.1 no such user" : undefined,
    },
  });
  const working = await startSink({ port: 0 });
  try {
    await inScratch("smimepost-resume-refused-", async (dir) => {
      await writeRun(`${dir}/run`, 4, `ref${crypto.randomUUID().slice(0, 6)}`);
      const env = (s: typeof working) => ({ SMTP_HOST: s.host, SMTP_PORT: String(s.port) });
      const first = await runToEnd(await runArgs(), { cwd: dir, env: env(refusing) });
      assertEquals(first.code, 3, first.stderr);
      const resumed = await runToEnd([...await runArgs(), "--resume"], {
        cwd: dir,
        env: env(working),
      });
      assertEquals(working.count, 0, "nothing was left to send");
      assertEquals(resumed.code, 3, resumed.stderr);
      assertMatch(
        resumed.stderr,
        /4 skipped \(done in an earlier run, 4 of them not accepted by every recipient\)/,
      );
    });
  } finally {
    await refusing.close();
    await working.close();
  }
});
