/**
 * The fault matrix: one run of 1,000 signed messages (EC P-256 signer, two
 * recipients each, unique Message-IDs) through the CLI per fault, and then
 * the ledger: every recipient ends accepted exactly once, or reported with
 * the server's reason; the journal's last status and the --report agree
 * with what the server really took. A message whose final reply never came
 * is sent again (at-least-once, the default: it may arrive twice, and is
 * counted apart), or under --at-most-once reported "uncertain" and never
 * sent again.
 *
 * Retries are fast here: SMIMEPOST_RETRY_BASE_MS=20 (a hidden setting of
 * cli.ts) replaces the 1 s back-off base.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { postfixAvailable, sharedPostfix } from "./support/rig.ts";
import type { PostfixRig } from "./support/rig.ts";
import {
  type Finished,
  headerOf,
  inScratch,
  type JournalLine,
  keyArgs,
  runToEnd,
} from "./support/batch.ts";
import {
  checkLedger,
  closedPort,
  type Expected,
  type FaultMessage,
  indexOf,
  RawSmtpServer,
  readRun,
  startFlakyApi,
  startSinkTarget,
  startUntrustedTls,
  type Target,
  writeFaultRun,
} from "./support/faults.ts";

const COUNT = 1000;
const ACCEPTED: Expected = { status: "accepted" };
const UNCERTAIN: Expected = { status: "uncertain", response: /may have been delivered/ };

interface Ran {
  dir: string;
  messages: FaultMessage[];
  run: Finished;
  lines: JournalLine[];
}

/** One row of the matrix. */
interface FaultCase<T extends Target = Target> {
  name: string;
  ignore?: boolean;
  /** The server, fresh for the case. */
  target(dir: string): Promise<T>;
  /** A body size for the messages that must be big. */
  bodyBytes?: (i: number) => number | undefined;
  flags?: string[];
  exit: number;
  /** Each recipient's end; default accepted. */
  /** Each recipient's end (or the ends it may have); default accepted. */
  expect?: (m: FaultMessage, recipient: string) => Expected | Expected[];
  /**
   * false: the run stops at the first error no retry can fix (AUTH, TLS
   * verification); what it never reached is in neither journal nor report
   * (--resume sends it), so only the report's summary is checked.
   */
  ledger?: false;
  then?: (ran: Ran, target: T) => Promise<void> | void;
}

/** Builds a row, keeping the target's own type for `then`. */
const row = <T extends Target>(c: FaultCase<T>) => c as unknown as FaultCase;

/** `send run --sign` with a journal and a report, to `target`. */
async function send(dir: string, target: Target, flags: string[] = []): Promise<Finished> {
  return await runToEnd([
    "send",
    "run",
    "--sign",
    ...(target.args ?? ["--send_smtp"]),
    "--journal",
    "journal.jsonl",
    "--report",
    "report.json",
    ...await keyArgs(),
    ...flags,
  ], { cwd: dir, env: { SMIMEPOST_RETRY_BASE_MS: "20", ...target.env } });
}

/** A message with index i % every === at gets `yes`, the others `no`. */
const every = (n: number, at: number, yes: Expected, no = ACCEPTED) => (m: FaultMessage) =>
  m.index % n === at ? yes : no;

const deferredWith = (lines: JournalLine[], pattern: RegExp) =>
  lines.filter((l) => l.status === "deferred" && pattern.test(l.response ?? ""));

/** A target for a server that must receive nothing. */
const nothingAt = (env: Record<string, string>, close = () => Promise.resolve()): Target => ({
  env,
  accepted: () => [],
  seen: () => 0,
  close,
});

/** The rig's submission port (STARTTLS required, then AUTH) as SMTP_* variables. */
const submission = (rig: PostfixRig, extra: Record<string, string>) => ({
  SMTP_HOST: rig.host,
  SMTP_PORT: String(rig.submitPort),
  SMTP_TLS: "require",
  SMTP_USER: rig.user,
  ...extra,
});

/** Deliveries of this run's messages in the rig's maildir. */
async function rigDeliveries(rig: PostfixRig, dir: string): Promise<number> {
  const tag = dir.split("/").pop()!;
  let n = 0;
  for await (const entry of Deno.readDir(rig.maildir)) {
    if (!entry.name.endsWith(".eml")) continue;
    const id = headerOf(await Deno.readFile(`${rig.maildir}/${entry.name}`), "Message-ID");
    if (id?.includes(tag)) n++;
  }
  return n;
}

const noRig = !postfixAvailable();

const CASES: FaultCase[] = [
  row({
    name: "connection refused: every message failed, then --resume delivers each exactly once",
    target: () =>
      Promise.resolve(nothingAt({ SMTP_HOST: "127.0.0.1", SMTP_PORT: String(closedPort()) })),
    flags: ["--retries", "2"],
    exit: 69,
    expect: () => ({
      status: "failed",
      response: /^Cannot connect to 127\.0\.0\.1:\d+: connection refused$/,
    }),
    async then({ dir, messages, lines, run }) {
      assertMatch(run.stderr, /^1000 messages in .*: 0 accepted, 0 partly, 1000 failed$/m);
      assert(lines.filter((l) => l.type === "message").every((l) => !l.done), "a message is done");
      const working = await startSinkTarget({});
      try {
        const resumed = await send(dir, working, ["--resume"]);
        assertEquals(resumed.code, 0, resumed.stderr);
        await checkLedger(dir, messages, working, () => ACCEPTED);
        const again = await send(dir, working, ["--resume"]);
        assertEquals(again.code, 0, again.stderr);
        assertMatch(again.stderr, /, 1000 skipped \(done in an earlier run\)$/m);
        assertEquals(working.accepted().length, 2 * COUNT);
      } finally {
        await working.close();
      }
    },
  }),
  row({
    name: "421 at the greeting of the first three connections",
    target: () =>
      RawSmtpServer.start({
        greeting: (conn) =>
          conn <= 3 ? { reply: "421 4.3.2 Service busy, try later", close: true } : undefined,
      }),
    flags: ["--retries", "3"],
    exit: 0,
    then({ lines }, raw: RawSmtpServer) {
      assert(deferredWith(lines, /421 4\.3\.2 Service busy/).length > 0, "no 421 deferral");
      assert(raw.connections > 3);
    },
  }),
  row({
    name: "421 mid-session: the server closes after 40 messages per connection",
    flags: ["--retries", "8"],
    target: () =>
      RawSmtpServer.start({
        mail: (_conn, done) =>
          done >= 40
            ? { reply: "421 4.7.0 Too many messages in this session, closing", close: true }
            : undefined,
      }),
    exit: 0,
    then({ lines }, raw: RawSmtpServer) {
      assert((raw.replies.get("421") ?? 0) >= 10, `only ${raw.replies.get("421")} 421s`);
      assert(deferredWith(lines, /421 4\.7\.0 Too many messages/).length > 0, "no 421 deferral");
    },
  }),
  (() => {
    let drops = 0;
    return row({
      name: "connection dropped during DATA (three 8 MB messages, once each)",
      target: () =>
        startSinkTarget({
          dropDuringData: (bytes) => bytes >= 1_000_000 && drops < 3 && ++drops > 0,
        }),
      bodyBytes: (i) => i % 250 === 0 && i < 1000 ? 8 * 1024 * 1024 : undefined,
      exit: 0,
      then({ lines }) {
        assertEquals(drops, 3);
        const lost = lines.filter((l) => l.response?.includes("connection lost during DATA"));
        assert(lost.length > 0 && lost.every((l) => l.status === "deferred"), "lost is final");
      },
    });
  })(),
  (() => {
    const cut = new Set<string>();
    return row({
      name: "closed mid-DATA at each 5th message's first try: sent again, each arrives once",
      target: () =>
        RawSmtpServer.start({
          midData: ({ messageId }) =>
            indexOf(messageId) % 5 === 0 && !cut.has(messageId) && Boolean(cut.add(messageId)),
        }),
      // Each cut also takes down the messages pipelined behind it on that connection (about
      // one in four tries while the cuts last): the default 5 retries would let a message be
      // caught 6 times in a row once in a few runs. 15 make that vanishingly unlikely.
      flags: ["--retries", "15"],
      exit: 0,
      then({ lines }) {
        const deferred = new Set(
          lines.filter((l) => l.status === "deferred").map((l) => l.message_id),
        );
        // Each cut message was tried again (so were others in flight on its connection).
        assertEquals([...cut].filter((id) => !deferred.has(id)), []);
        assertEquals(cut.size, COUNT / 5);
      },
    });
  })(),
  row({
    name:
      "closed after the final dot, the message queued, before the reply: sent again, the only duplicates",
    target: () =>
      RawSmtpServer.start({
        dataEnd: ({ messageId, seen }) =>
          indexOf(messageId) % 100 === 7 && seen === 1
            ? { reply: "", store: true, close: true }
            : undefined,
      }),
    exit: 0,
    expect: every(100, 7, { status: "accepted", copies: 2, resent: true }, {
      status: "accepted",
      resent: false,
    }),
    then({ lines, run }) {
      assertMatch(
        run.stderr,
        /^ {2}20 sent again after a lost reply: may be delivered more than once$/m,
      );
      assertMatch(run.stderr, /: the message may be sent more than once \(/);
      const maybe = lines.filter((l) => l.maybe_sent);
      assertEquals(maybe.length, 20);
      assert(maybe.every((l) => l.status === "deferred" && indexOf(l.message_id) % 100 === 7));
    },
  }),
  (() => {
    const cut = new Set<string>();
    return row({
      name: "--at-most-once: cut mid-DATA and after the dot are reported, never sent twice",
      target: () =>
        RawSmtpServer.start({
          midData: ({ messageId }) =>
            indexOf(messageId) % 100 === 3 && !cut.has(messageId) &&
            Boolean(cut.add(messageId)),
          dataEnd: ({ messageId }) =>
            indexOf(messageId) % 100 === 7 ? { reply: "", store: true, close: true } : undefined,
        }),
      flags: ["--at-most-once"],
      exit: 3,
      // Cut mid-DATA, the client may still have been writing (a plain retry) or
      // may have written it all (no reply: possibly delivered).
      expect: (m) =>
        m.index % 100 === 3
          ? [{ ...UNCERTAIN, copies: 0 }, ACCEPTED]
          : m.index % 100 === 7
          ? UNCERTAIN
          : ACCEPTED,
      async then({ dir, run }, raw: RawSmtpServer) {
        const uncertain = Number(/ (\d+) possibly delivered/.exec(run.stderr)?.[1]);
        assert(uncertain >= 20 && uncertain <= 40, run.stderr);
        assert(!/sent again/.test(run.stderr), run.stderr);
        // --resume keeps the promise it is given: --at-most-once sends nothing more...
        const stored = raw.accepted().length;
        const kept = await send(dir, raw, ["--resume", "--at-most-once"]);
        // The job still has its possibly delivered recipients: the resumed run says so.
        assertEquals(kept.code, 3, kept.stderr);
        assertMatch(
          kept.stderr,
          /, 1000 skipped \(done in an earlier run, \d+ of them not accepted/,
        );
        assertEquals(raw.accepted().length, stored);
      },
    });
  })(),
  (() => {
    const dropped = new Set<string>();
    return row({
      name:
        "dropped after the final dot under --at-most-once: possibly delivered, never sent again (nor on --resume)",
      target: () =>
        startSinkTarget({
          // The first time each: a resend is accepted.
          onDataEnd: (m, id = headerOf(m.data, "Message-ID")!) =>
            indexOf(id) % 100 === 7 && !dropped.has(id) && dropped.add(id) ? "drop" : undefined,
        }),
      flags: ["--at-most-once"],
      exit: 3,
      expect: every(100, 7, UNCERTAIN),
      async then({ dir, run }, target: Target & { sink: { count: number } }) {
        assertMatch(run.stderr, /^recipients: 1980 accepted, .* 20 possibly delivered/m);
        const before = target.sink.count;
        const resumed = await send(dir, target, ["--resume", "--at-most-once"]);
        assertEquals(resumed.code, 3, resumed.stderr);
        assertMatch(
          resumed.stderr,
          /, 1000 skipped \(done in an earlier run, 10 of them not accepted/,
        );
        assertEquals(target.sink.count, before);
        // ...and a --resume that promises at-least-once sends the possibly delivered ones again.
        const again = await send(dir, target, ["--resume"]);
        assertEquals(again.code, 0, again.stderr);
        assertMatch(again.stderr, /^10 messages in .*, 990 skipped/m);
        assertEquals(target.sink.count, before + 10);
      },
    });
  })(),
  (() => {
    const rcpts = new Map<string, number>();
    return row({
      name: "451 and 452 at RCPT: only the deferred recipient is tried again",
      target: () =>
        startSinkTarget({
          onRcpt(address) {
            const n = (rcpts.get(address) ?? 0) + 1;
            rcpts.set(address, n);
            const i = Number(/^dave\+(\d+)@/.exec(address)?.[1] ?? 0);
            if (i % 5 === 1 && n === 1) return "451 4.3.0 Temporary lookup failure";
            if (i % 5 === 2 && n <= 2) return "452 4.2.2 Mailbox full";
            return undefined;
          },
        }),
      exit: 0,
      then({ lines }, target: Target & { sink: { received: { rcptTo: string[] }[] } }) {
        const byPair = new Map<string, JournalLine[]>();
        for (const l of lines.filter((l) => l.type === "recipient")) {
          byPair.set(`${l.key}\t${l.recipient}`, [
            ...(byPair.get(`${l.key}\t${l.recipient}`) ?? []),
            l,
          ]);
        }
        const trails = new Map<string, string[]>();
        for (const [key, all] of byPair) {
          const address = key.split("\t")[1]!;
          trails.set(address, all.map((l) => `${l.attempt}:${l.status}:${l.code ?? ""}`));
        }
        for (let i = 1; i <= COUNT; i++) {
          assertEquals(trails.get(`bob+${i}@example.com`), ["1:accepted:250"]);
          assertEquals(
            trails.get(`dave+${i}@example.org`),
            i % 5 === 1
              ? ["1:deferred:451", "2:accepted:250"]
              : i % 5 === 2
              ? ["1:deferred:452", "2:deferred:452", "3:accepted:250"]
              : ["1:accepted:250"],
            `dave+${i}`,
          );
        }
        // The first try took bob alone, the retry dave alone: 400 of each.
        const alone = target.sink.received.filter((m) => m.rcptTo.length === 1);
        assertEquals(alone.filter((m) => m.rcptTo[0]!.startsWith("bob+")).length, 400);
        assertEquals(alone.filter((m) => m.rcptTo[0]!.startsWith("dave+")).length, 400);
      },
    });
  })(),
  row({
    name: "552: over the server's SIZE (refused before sending) and at the end of data",
    target: () =>
      startSinkTarget({
        onDataEnd: (m) =>
          indexOf(headerOf(m.data, "Message-ID")) % 100 === 60
            ? "552 5.3.4 Message too big for the recipient's mailbox"
            : undefined,
      }, { maxSize: 20_000 }),
    bodyBytes: (i) => i % 100 === 50 ? 30_000 : undefined,
    exit: 3,
    expect: (m) =>
      m.index % 100 === 50
        ? {
          status: "rejected",
          response: /^552 5\.3\.4 message size \d+ exceeds the server's limit of 20000 bytes/,
        }
        : m.index % 100 === 60
        ? { status: "rejected", response: "552 5.3.4 Message too big for the recipient's mailbox" }
        : ACCEPTED,
  }),
  row({
    name: "554 at the end of data: rejected, the server's reply verbatim",
    target: () =>
      startSinkTarget({
        onDataEnd(m) {
          const id = headerOf(m.data, "Message-ID");
          return indexOf(id) % 50 === 0
            ? `554 5.7.1 ${id} refused: policy (score 11.2)`
            : undefined;
        },
      }),
    exit: 3,
    expect: (m) =>
      m.index % 50 === 0
        ? { status: "rejected", response: `554 5.7.1 ${m.messageId} refused: policy (score 11.2)` }
        : ACCEPTED,
  }),
  row({
    name:
      "replies slower than timeout_seconds: a late greeting is retried, a late dot is uncertain",
    target: async () => {
      const raw = await RawSmtpServer.start({
        greeting: (conn) =>
          conn === 1 ? { reply: "220 slow.test ESMTP", delayMs: 2500 } : undefined,
        dataEnd: ({ messageId }) =>
          indexOf(messageId) % 200 === 100
            ? { reply: "250 2.0.0 Ok: queued, eventually", delayMs: 2500 }
            : undefined,
      });
      return Object.assign(raw, { args: ["--send_smtp", "--option", "timeout_seconds=1"] });
    },
    flags: ["--at-most-once"],
    exit: 3,
    expect: every(200, 100, UNCERTAIN),
    then({ lines }) {
      assert(
        deferredWith(lines, /timeout waiting for reply to greeting after 1 s/).length > 0,
        "the slow greeting was not retried",
      );
    },
  }),
  row({
    name: "garbage and over-long reply lines; after the final dot they mean possibly delivered",
    target: () =>
      RawSmtpServer.start({
        greeting: (conn) => conn === 1 ? { reply: "HTTP/1.1 400 Bad Request" } : undefined,
        ehlo: (conn) =>
          conn === 2 ? { reply: "250-raw.test\r\n250 PIPELINING " + "x".repeat(5000) } : undefined,
        dataEnd: ({ messageId }) =>
          indexOf(messageId) % 250 === 0
            ? { reply: "250 2.0.0 Ok: queued as LONG " + "x".repeat(5000) }
            : indexOf(messageId) % 250 === 125
            ? { reply: "\x00\x7fgarbage\x01", store: false }
            : undefined,
      }),
    flags: ["--at-most-once"],
    exit: 3,
    expect: (m) => m.index % 250 === 0 || m.index % 250 === 125 ? UNCERTAIN : ACCEPTED,
    then({ lines }) {
      assert(deferredWith(lines, /garbage reply \(no reply code\)/).length > 0, "greeting");
      assert(deferredWith(lines, /garbage reply \(line longer than 4096\)/).length > 0, "EHLO");
    },
  }),
  (() => {
    let tls: Awaited<ReturnType<typeof startUntrustedTls>> | undefined;
    return row({
      name:
        "implicit TLS to a server nobody trusts: 69 at once, host:port and the reason, nothing sent",
      async target(dir) {
        tls = await startUntrustedTls(dir);
        return nothingAt(
          { SMTP_HOST: "127.0.0.1", SMTP_PORT: String(tls.port), SMTP_TLS: "implicit" },
          () => tls!.close(),
        );
      },
      exit: 69,
      // Retrying can't make a certificate verify: the run stops at the first failure.
      ledger: false,
      then({ run, lines }) {
        assertMatch(
          run.stderr,
          new RegExp(`127\\.0\\.0\\.1:${tls!.port}: certificate verify failed`),
        );
        assert(!lines.some((l) => l.status === "deferred"), "retried a certificate failure");
        assertEquals(tls!.bytesReceived(), 0);
      },
    });
  })(),
  row({
    name: "implicit TLS to a server that answers the handshake in plain text: 69, nothing sent",
    target: async () =>
      Object.assign(await RawSmtpServer.start({}), {
        args: ["--send_smtp", "--option", "tls=implicit"],
      }),
    flags: ["--retries", "1"],
    exit: 69,
    expect: () => ({ status: "failed", response: /^Cannot start TLS with 127\.0\.0\.1:\d+: / }),
  }),
  (() => {
    let rig: PostfixRig;
    return row({
      name: "STARTTLS to the rig's self-signed certificate without tls_ca_file: 69, nothing sent",
      ignore: noRig,
      async target() {
        rig = await sharedPostfix();
        return {
          ...nothingAt(submission(rig, { SMTP_PASSWORD: rig.password })),
          args: ["--send_smtp", "--option", "tls_servername=localhost"],
        };
      },
      exit: 69,
      ledger: false,
      async then({ dir, run }) {
        assertMatch(run.stderr, /:\d+: certificate verify failed: /);
        assertEquals(await rigDeliveries(rig, dir), 0);
      },
    });
  })(),
  row({
    name: "STARTTLS offered, then refused (454) under tls=require: 75, nothing sent in clear",
    target: async () => {
      const t = await startSinkTarget({ offerStarttls: true });
      return { ...t, env: { ...t.env, SMTP_TLS: "require" } };
    },
    flags: ["--retries", "1"],
    exit: 75,
    expect: () => ({
      status: "failed",
      response: /^Cannot start TLS with 127\.0\.0\.1:\d+: 454 4\.7\.0 TLS not available/,
    }),
    then(_ran, target: Target & { sink: { count: number } }) {
      assertEquals(target.sink.count, 0);
    },
  }),
  (() => {
    let rig: PostfixRig;
    const password = `wrong-${crypto.randomUUID()}`;
    return row({
      name: "AUTH 535 (wrong password): 77, one line, the password nowhere",
      ignore: noRig,
      async target() {
        rig = await sharedPostfix();
        return {
          ...nothingAt(submission(rig, { SMTP_PASSWORD: password, SMTP_CA_FILE: rig.caFile })),
          args: ["--send_smtp", "--option", "tls_servername=localhost"],
        };
      },
      exit: 77,
      ledger: false,
      async then({ dir, run, lines }) {
        const errors = run.stderr.split("\n").filter((l) => l.startsWith("smimepost: "));
        assertEquals(errors.length, 1, run.stderr);
        assertMatch(errors[0]!, /^smimepost: Cannot log in to .*:\d+ as ".*": 535 5\.7\.8 /);
        const journal = await Deno.readTextFile(`${dir}/journal.jsonl`);
        for (const text of [run.stdout, run.stderr, journal]) {
          assert(!text.includes(password), "the password was printed");
        }
        assert(!lines.some((l) => l.status === "accepted"), "accepted without a login");
        assert(!lines.some((l) => l.type === "message" && l.done), "a message is done");
        const { report } = await readRun(dir);
        assertEquals(
          report?.summary.recipients.accepted,
          0,
          "the report says nothing was accepted",
        );
        assertEquals(await rigDeliveries(rig, dir), 0);
      },
    });
  })(),
  row({
    name: "the API answers 429 (Retry-After: 1), 500, then 200: each transmission accepted once",
    target: () => Promise.resolve({ ...startFlakyApi(1), args: ["--send_api"] }),
    exit: 0,
    then({ lines }, api: ReturnType<typeof startFlakyApi>) {
      assertEquals(api.trails.size, COUNT);
      for (const [id, trail] of api.trails) {
        assertEquals(trail.statuses, [429, 500, 200], id);
        const waited = trail.at[1]! - trail.at[0]!;
        assert(waited >= 990, `${id}: retried ${waited.toFixed(0)} ms after a Retry-After of 1 s`);
      }
      const deferred = lines.filter((l) => l.status === "deferred");
      assertEquals(deferred.length, 2 * 2 * COUNT);
      assert(deferred.every((l) => /^SparkPost API (429|500): /.test(l.response ?? "")));
    },
  }),
];

for (const c of CASES) {
  Deno.test({
    name: `fault matrix: ${c.name}`,
    ignore: c.ignore,
    async fn() {
      await inScratch("smimepost-faults-", async (dir) => {
        const tag = dir.split("/").pop()!;
        const messages = await writeFaultRun(`${dir}/run`, COUNT, tag, c.bodyBytes);
        const target = await c.target(dir);
        try {
          const run = await send(dir, target, c.flags);
          assertEquals(run.code, c.exit, run.stderr);
          if (c.ledger !== false) {
            const guarantee = c.flags?.includes("--at-most-once") ? "at-most-once" : undefined;
            await checkLedger(
              dir,
              messages,
              target,
              (m, r) => c.expect?.(m, r) ?? ACCEPTED,
              guarantee,
            );
          }
          const { lines } = await readRun(dir);
          await c.then?.({ dir, messages, run, lines }, target);
        } finally {
          await target.close();
        }
      });
    },
  });
}
