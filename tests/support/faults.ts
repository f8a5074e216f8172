/**
 * Helpers for the fault matrix (tests/faults_test.ts): runs of small
 * messages with per-message recipients, servers that misbehave on cue (a
 * scriptable raw SMTP server, a TLS server nobody trusts, a transmissions
 * API that answers 429, 500, then 200), and the ledger check that holds the
 * journal and the --report against what the server actually accepted.
 *
 * @module
 */
import { bytesToLatin1 } from "../../core/bytes.ts";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { assert, assertEquals } from "./assert.ts";
import { headerOf, journalStatuses, pairKey, readJournalLines, tally } from "./batch.ts";
import type { JournalLine } from "./batch.ts";
import { startSink } from "../../core/sink/mod.ts";
import type { SinkFaults, SinkServer } from "../../core/sink/mod.ts";

// ------------------------------------------------------------------ messages

/** One generated message: its own recipients, so a server can tell attempts apart. */
export interface FaultMessage {
  index: number;
  file: string;
  messageId: string;
  recipients: string[];
}

/**
 * Writes `count` small messages to `dir`: From carol@example.net (an EC
 * P-256 signer: fast), To bob+N@example.com, Cc dave+N@example.org, each
 * with a unique Message-ID; `bodyBytes(i)` makes message i that big.
 */
export async function writeFaultRun(
  dir: string,
  count: number,
  tag: string,
  bodyBytes: (i: number) => number | undefined = () => undefined,
): Promise<FaultMessage[]> {
  await Deno.mkdir(dir, { recursive: true });
  const out: FaultMessage[] = [];
  for (let i = 1; i <= count; i++) {
    const messageId = `<${tag}-${i}@faults.example>`;
    const recipients = [`bob+${i}@example.com`, `dave+${i}@example.org`];
    const size = bodyBytes(i);
    const body = size ? ("z".repeat(76) + "\n").repeat(Math.ceil(size / 77)) : `Statement ${i}.\n`;
    const file = `${dir}/${String(i).padStart(4, "0")}.eml`;
    await Deno.writeTextFile(
      file,
      `From: Carol <carol@example.net>\nTo: ${recipients[0]}\nCc: ${recipients[1]}\n` +
        `Subject: statement ${i}\nMessage-ID: ${messageId}\n` +
        `Date: Sat, 28 Nov 2026 09:00:00 +0000\n\n${body}`,
    );
    out.push({ index: i, file, messageId, recipients });
  }
  return out;
}

/** The index N of `<tag-N@faults.example>`, or 0. */
export function indexOf(messageId: string | undefined): number {
  return Number(/-(\d+)@faults\.example>$/.exec(messageId ?? "")?.[1] ?? 0);
}

// ------------------------------------------------------------------- targets

/** A server a run delivers to, and what it really took. */
export interface Target {
  /** Environment for the CLI (SMTP_HOST, SMTP_PORT...). */
  env: Record<string, string>;
  /** Extra CLI arguments (--option ...). */
  args?: string[];
  /** One pair key (Message-ID, recipient) per recipient of every message the server accepted. */
  accepted(): string[];
  /** How many times the server received this message whole (final dot, API request). */
  seen(messageId: string): number;
  close(): Promise<void>;
}

/**
 * One reply of the raw server: any text (CRLF added; "" sends nothing), after
 * a delay, then maybe a close.
 */
export interface RawStep {
  reply: string;
  delayMs?: number;
  close?: boolean;
}

/** When the raw server deviates from a plain, pipelining SMTP server. */
export interface RawScript {
  /** `conn` counts connections from 1. */
  greeting?(conn: number): RawStep | undefined;
  ehlo?(conn: number): RawStep | undefined;
  /** `done`: messages this connection has taken to the final dot. */
  mail?(conn: number, done: number): RawStep | undefined;
  /**
   * Once the header of a message has arrived, before its end: true closes the
   * connection there (`seen`: how often this message reached its end before).
   */
  midData?(message: { conn: number; messageId: string; seen: number }): boolean;
  /** `store` (default: a 2xx reply) says whether the server keeps the message. */
  dataEnd?(
    message: { conn: number; messageId: string; seen: number },
  ): (RawStep & { store?: boolean }) | undefined;
}

/**
 * A raw SMTP server: reads commands and data byte for byte, answers each in
 * order (so pipelining works), and lets a script replace any reply with
 * garbage, an over-long line, a slow answer or a close.
 */
export class RawSmtpServer implements Target {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #script: RawScript;
  readonly #stored: string[] = [];
  readonly #seen = new Map<string, number>();
  connections = 0;
  /** Replies of each kind the script asked for, e.g. how many 421s went out. */
  readonly replies = new Map<string, number>();

  private constructor(server: Server, script: RawScript) {
    this.#server = server;
    this.#script = script;
  }

  static async start(script: RawScript): Promise<RawSmtpServer> {
    const server = createServer();
    const self = new RawSmtpServer(server, script);
    server.on("connection", (socket: Socket) => self.#serve(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return self;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get env(): Record<string, string> {
    return { SMTP_HOST: "127.0.0.1", SMTP_PORT: String(this.port) };
  }

  accepted(): string[] {
    return this.#stored;
  }

  seen(messageId: string): number {
    return this.#seen.get(messageId) ?? 0;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => {});
    socket.setNoDelay(true);
    const conn = ++this.connections;
    const script = this.#script;
    let buffer = "";
    let busy = false;
    let closed = false;
    let inData = false;
    /** The message in DATA was looked at by `midData`. */
    let judged = false;
    let rcptTo: string[] = [];
    /** A MAIL was accepted: RCPT and DATA without one get 503, as Postfix answers them. */
    let hasMail = false;
    let done = 0;
    const send = async (step: RawStep) => {
      if (step.delayMs) await new Promise((resolve) => setTimeout(resolve, step.delayMs));
      const kind = step.reply.slice(0, 3);
      this.replies.set(kind, (this.replies.get(kind) ?? 0) + 1);
      if (!socket.destroyed && step.reply) socket.write(step.reply + "\r\n");
      if (step.close) {
        closed = true;
        socket.end();
      }
    };
    const command = async (line: string) => {
      const verb = line.split(" ")[0]!.toUpperCase();
      if (verb === "EHLO") {
        const offer = "250-raw.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 50000000";
        return await send(script.ehlo?.(conn) ?? { reply: offer });
      }
      if (verb === "MAIL") {
        rcptTo = [];
        const step = script.mail?.(conn, done) ?? { reply: "250 2.1.0 Ok" };
        hasMail = step.reply.startsWith("2");
        return await send(step);
      }
      if ((verb === "RCPT" || verb === "DATA") && !hasMail) {
        return await send({ reply: "503 5.5.1 Error: need MAIL command" });
      }
      if (verb === "RCPT") {
        rcptTo.push(/<([^>]*)>/.exec(line)?.[1] ?? "?");
        return await send({ reply: "250 2.1.5 Ok" });
      }
      if (verb === "DATA") {
        hasMail = false;
        inData = true;
        judged = false;
        return await send({ reply: "354 End data with <CR><LF>.<CR><LF>" });
      }
      if (verb === "QUIT") return await send({ reply: "221 2.0.0 Bye", close: true });
      if (verb === "RSET" || verb === "NOOP" || verb === "HELO") {
        if (verb !== "NOOP") hasMail = false;
        return await send({ reply: "250 2.0.0 Ok" });
      }
      await send({ reply: "502 5.5.2 Error: command not recognized" });
    };
    const dataEnd = async (data: string) => {
      done++;
      const messageId = headerOf(new TextEncoder().encode(data), "Message-ID") ?? "?";
      const seen = (this.#seen.get(messageId) ?? 0) + 1;
      this.#seen.set(messageId, seen);
      const step = script.dataEnd?.({ conn, messageId, seen }) ??
        { reply: `250 2.0.0 Ok: queued as R${conn}x${done}` };
      if (step.store ?? step.reply.startsWith("2")) {
        for (const r of rcptTo) this.#stored.push(pairKey(messageId, r));
      }
      rcptTo = [];
      await send(step);
    };
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (!closed) {
          if (inData) {
            const head = judged ? -1 : buffer.indexOf("\r\n\r\n");
            if (head >= 0 && script.midData) {
              judged = true;
              const messageId =
                headerOf(new TextEncoder().encode(buffer.slice(0, head + 4)), "Message-ID") ?? "?";
              if (script.midData({ conn, messageId, seen: this.seen(messageId) })) {
                closed = true;
                socket.destroy();
                break;
              }
            }
            const end = buffer.indexOf("\r\n.\r\n");
            if (end < 0) break;
            const data = buffer.slice(0, end + 2);
            buffer = buffer.slice(end + 5);
            inData = false;
            await dataEnd(data);
          } else {
            const crlf = buffer.indexOf("\r\n");
            if (crlf < 0) break;
            const line = buffer.slice(0, crlf);
            buffer = buffer.slice(crlf + 2);
            await command(line);
          }
        }
      } finally {
        busy = false;
      }
    };
    socket.on("data", (chunk: Uint8Array) => {
      buffer += bytesToLatin1(chunk);
      void pump();
    });
    busy = true;
    void send(script.greeting?.(conn) ?? { reply: "220 raw.test ESMTP" }).finally(() => {
      busy = false;
      void pump();
    });
  }
}

/**
 * A TLS server with a self-signed certificate for a name nobody asked for,
 * and no CA anyone trusts. Counts handshakes that completed on its side and
 * application bytes it received (there must be none).
 */
export async function startUntrustedTls(dir: string): Promise<{
  port: number;
  bytesReceived: () => number;
  close(): Promise<void>;
}> {
  const key = `${dir}/untrusted.key`;
  const cert = `${dir}/untrusted.crt`;
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=unrelated.invalid",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(made.code, 0, new TextDecoder().decode(made.stderr));
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createTlsServer({
    key: await Deno.readTextFile(key),
    cert: await Deno.readTextFile(cert),
  }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => received += chunk.length);
    socket.write("220 untrusted.invalid ESMTP\r\n");
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    bytesReceived: () => received,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What the fake transmissions API saw of one message. */
export interface ApiTrail {
  /** performance.now() of each request. */
  at: number[];
  /** The status each request got. */
  statuses: number[];
  recipients: string[];
}

/**
 * A transmissions API that answers each message's first request 429 (with
 * Retry-After), its second 500, and every later one 200.
 */
export function startFlakyApi(retryAfterSeconds: number): Target & {
  trails: Map<string, ApiTrail>;
} {
  const trails = new Map<string, ApiTrail>();
  const stored: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    const rfc822: string = body?.content?.email_rfc822 ?? "";
    const messageId = headerOf(new TextEncoder().encode(rfc822), "Message-ID") ?? "?";
    const recipients: string[] = (body?.recipients ?? []).map(
      (r: { address: { email: string } }) => r.address.email,
    );
    const trail = trails.get(messageId) ?? { at: [], statuses: [], recipients };
    trails.set(messageId, trail);
    trail.at.push(performance.now());
    const attempt = trail.at.length;
    const status = attempt === 1 ? 429 : attempt === 2 ? 500 : 200;
    trail.statuses.push(status);
    if (status === 429) {
      return Response.json({ errors: [{ message: "Too many requests", code: "1500" }] }, {
        status,
        headers: { "Retry-After": String(retryAfterSeconds) },
      });
    }
    if (status === 500) {
      return Response.json({ errors: [{ message: "Internal server error" }] }, { status });
    }
    for (const r of recipients) stored.push(pairKey(messageId, r));
    return Response.json({
      results: {
        id: `tx-${indexOf(messageId)}`,
        total_accepted_recipients: recipients.length,
        total_rejected_recipients: 0,
      },
    });
  });
  return {
    trails,
    env: {
      SPARKPOST_HOST: `http://127.0.0.1:${server.addr.port}`,
      SPARKPOST_API_KEY: "fault-matrix-api-key",
    },
    accepted: () => stored,
    seen: (messageId) => trails.get(messageId)?.statuses.filter((s) => s === 200).length ?? 0,
    close: () => server.shutdown(),
  };
}

/** A loopback port nothing listens on (bound a moment ago, then released). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

// -------------------------------------------------------------------- ledger

/** A recipient's final status, as the journal and the report name it. */
export type Final = "accepted" | "rejected" | "failed" | "uncertain";

/** What a recipient of a message should end as, and the server's words for it. */
export interface Expected {
  status: Final;
  /** The final response: verbatim (string) or matching (RegExp). */
  response?: string | RegExp;
  /**
   * How many times the server received the message whole: accepted once by
   * default, possibly delivered ("uncertain") once, refused or failed never.
   */
  copies?: number;
  /** Whether the journal and the report say it was sent again after a lost reply. */
  resent?: boolean;
}

interface ReportFile {
  messages: {
    message_id: string | null;
    outcome: string;
    recipients: {
      recipient: string;
      status: string;
      response: string;
      code?: number;
      resent?: boolean;
    }[];
  }[];
  summary: {
    messages: Record<string, number>;
    recipients: Record<string, number>;
    resent: number;
  };
}

/** The journal's lines and the report of a finished run. */
export async function readRun(dir: string): Promise<{
  lines: JournalLine[];
  report: ReportFile | undefined;
}> {
  const lines = await readJournalLines(`${dir}/journal.jsonl`);
  const report = await Deno.readTextFile(`${dir}/report.json`).then(
    (text) => JSON.parse(text) as ReportFile,
    () => undefined,
  );
  return { lines, report };
}

function matches(text: string | undefined, want: string | RegExp | undefined): boolean {
  if (want === undefined) return true;
  return typeof want === "string" ? text === want : want.test(text ?? "");
}

/**
 * Holds the run to account, recipient by recipient: the journal's last
 * status and the report's agree with each other and with `expected`, with
 * the server's words; every accepted copy reached the server exactly once,
 * a rejected or failed one never, and a possibly delivered ("uncertain")
 * one at most once and was never sent again. Collects every mismatch
 * before failing.
 */
export async function checkLedger(
  dir: string,
  messages: FaultMessage[],
  target: Target,
  expected: (message: FaultMessage, recipient: string) => Expected | Expected[],
  guarantee: "at-least-once" | "at-most-once" = "at-least-once",
): Promise<Record<Final, number>> {
  const { lines, report } = await readRun(dir);
  assert(report, "no report written");
  const journal = journalStatuses(lines);
  const stored = tally(target.accepted());
  const reported = new Map<string, ReportFile["messages"][number]["recipients"][number]>();
  for (const m of report.messages) {
    for (const r of m.recipients) reported.set(pairKey(m.message_id ?? "?", r.recipient), r);
  }
  const problems: string[] = [];
  const counts: Record<Final, number> = { accepted: 0, rejected: 0, failed: 0, uncertain: 0 };
  const planned = new Set<string>();
  for (const message of messages) {
    for (const recipient of message.recipients) {
      const key = pairKey(message.messageId, recipient);
      planned.add(key);
      const where = `${message.messageId} ${recipient}`;
      const found = {
        last: journal.get(key)?.last,
        inReport: reported.get(key),
        onServer: stored.get(key) ?? 0,
        seen: target.seen(message.messageId),
      };
      // The first expectation that holds; else the first one's mismatches.
      const wants = [expected(message, recipient)].flat();
      const judged = wants.map((want) => ({ want, wrong: mismatches(want, found) }));
      const match = judged.find((j) => j.wrong.length === 0) ?? judged[0]!;
      counts[match.want.status]++;
      problems.push(...match.wrong.map((p) => `${where}: ${p}`));
    }
  }
  for (const [key, n] of stored) {
    if (!planned.has(key)) problems.push(`${key}: the server has a copy nobody sent (${n})`);
  }
  // A message is "done" (skipped by --resume) exactly when none of its recipients failed,
  // nor (under at-least-once) may have been lost.
  const unsettled = guarantee === "at-least-once" ? ["failed", "uncertain"] : ["failed"];
  const lastByKey = new Map<string, Map<string, string>>();
  for (const l of lines) {
    if (l.type !== "recipient") continue;
    const byRecipient = lastByKey.get(l.key!) ?? new Map<string, string>();
    byRecipient.set(l.recipient!, l.status!);
    lastByKey.set(l.key!, byRecipient);
  }
  const lastMessage = new Map(
    lines.filter((l) => l.type === "message").map((l) => [l.key!, l] as const),
  );
  const doneWrong = [...lastMessage.values()].filter((l) =>
    l.done !== [...(lastByKey.get(l.key!)?.values() ?? [])].every((s) => !unsettled.includes(s))
  );
  if (doneWrong.length) problems.push(`${doneWrong.length} message line(s) with a wrong "done"`);
  assertEquals(problems.slice(0, 8), [], `${problems.length} mismatch(es)`);
  assertEquals(report.summary.recipients, counts, "the report's summary");
  assertEquals(report.messages.length, messages.length, "messages in the report");
  return counts;
}

/** Where one recipient's journal line, report entry and server copies differ from `want`. */
function mismatches(want: Expected, found: {
  last: JournalLine | undefined;
  inReport: ReportFile["messages"][number]["recipients"][number] | undefined;
  onServer: number;
  seen: number;
}): string[] {
  const { last, inReport, onServer, seen } = found;
  const wrong: string[] = [];
  if (!last) wrong.push("not in the journal");
  else if (last.status !== want.status || !matches(last.response, want.response)) {
    wrong.push(`journal ${last.status} "${last.response}", want ${want.status}`);
  }
  if (!inReport) wrong.push("not in the report");
  else if (inReport.status !== last?.status || inReport.response !== last?.response) {
    wrong.push(`report ${inReport.status} "${inReport.response}" != journal`);
  }
  if (want.resent !== undefined && Boolean(inReport?.resent) !== want.resent) {
    wrong.push(`the report says resent: ${Boolean(inReport?.resent)}`);
  }
  if (want.resent !== undefined && Boolean(last?.resent) !== want.resent) {
    wrong.push(`the journal says resent: ${Boolean(last?.resent)}`);
  }
  const copies = want.copies ??
    (want.status === "accepted" || want.status === "uncertain" ? 1 : 0);
  if (want.status === "uncertain" ? seen !== copies || onServer > copies : onServer !== copies) {
    wrong.push(
      `${want.status}, but the server received it ${seen} and has it ${onServer} time(s), ` +
        `want ${copies}`,
    );
  }
  return wrong;
}

/** The programmable sink as a {@link Target}; counts every final dot per Message-ID. */
export async function startSinkTarget(
  faults: SinkFaults,
  options: { maxSize?: number } = {},
): Promise<Target & { sink: SinkServer }> {
  const seen = new Map<string, number>();
  const sink = await startSink({
    port: 0,
    maxSize: options.maxSize,
    faults: {
      ...faults,
      onDataEnd(message) {
        const id = headerOf(message.data, "Message-ID") ?? "?";
        seen.set(id, (seen.get(id) ?? 0) + 1);
        return faults.onDataEnd?.(message);
      },
    },
  });
  return {
    sink,
    env: { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) },
    accepted: () =>
      sink.received.flatMap((m) => {
        const id = headerOf(m.data, "Message-ID") ?? "?";
        return m.rcptTo.map((r) => pairKey(id, r));
      }),
    seen: (messageId) => seen.get(messageId) ?? 0,
    close: () => sink.close(),
  };
}
