/**
 * One mail transaction (RFC 5321 3.3): MAIL, RCPTs, DATA, the message, the
 * end-of-data reply; pipelined (RFC 2920) when the server offers it, with
 * the next queued envelope written right behind the final dot (2920 3.1).
 *
 * @module
 */
import type { ByteSource } from "../bytes.ts";
import { reasonOf, SmimeError } from "../errors.ts";
import type { SmtpConnection } from "./connection.ts";
import {
  bodyChunks,
  DATA_WINDOW,
  type DataBuffers,
  dataTail,
  hasEightBit,
  headerHasEightBit,
  isAscii,
  messageSize,
  sourceChunks,
} from "./data.ts";
import { parseQueueId, syntheticReply } from "./reply.ts";
import type {
  SmtpEnvelope,
  SmtpRecipientOutcome,
  SmtpReply,
  SmtpSendResult,
  SmtpSession,
  SmtpTimeouts,
} from "./types.ts";

/** What the client hands over for one transaction. */
export interface TransactionContext {
  conn: SmtpConnection;
  session: SmtpSession;
  timeouts: SmtpTimeouts;
  pipelining: boolean;
  /** Where encoded message windows are copied; reused once written. */
  buffers?: DataBuffers;
}

/** Replies still to come for a MAIL..DATA group already written. */
export interface SentGroup {
  mail: Promise<SmtpReply>;
  rcpts: Promise<SmtpReply>[];
  data: Promise<SmtpReply>;
}

/** One queued send; `resolve`/`reject` settle the caller's promise. */
export interface Job {
  envelope: SmtpEnvelope;
  /** The message whole, or as a source read through while it is sent (a large one). */
  message: Uint8Array | ByteSource;
  resolve(result: SmtpSendResult): void;
  reject(err: unknown): void;
}

/** A transaction's outcome, plus the next job when its commands went behind the dot. */
export interface TransactionOutcome {
  result: SmtpSendResult;
  /** true when the final dot was sent (counts toward messagesSent). */
  reachedEnd: boolean;
  next?: { job: Job; group: SentGroup };
}

const isPositive = (r: SmtpReply) => r.code >= 200 && r.code < 300;
const NO_BYTES = new Uint8Array();

function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * Refuses locally what the server said it would refuse: a message over its
 * SIZE (RFC 1870), non-ASCII addresses without SMTPUTF8 (RFC 6531 3.2),
 * 8-bit bytes in the header section without 8BITMIME (RFC 6152 3: 8-bit
 * data only to a server that offers it; bodies are re-encoded to 7 bit when
 * the message is put in canonical form, header fields are not).
 */
export function localRefusal(
  session: SmtpSession,
  envelope: SmtpEnvelope,
  message: Uint8Array | ByteSource,
): SmtpSendResult | undefined {
  let reply: SmtpReply | undefined;
  const max = Number(session.extensions.get("SIZE") ?? 0);
  const size = messageSize(message);
  if (max > 0 && size > max) {
    reply = syntheticReply(
      552,
      "5.3.4",
      `message size ${size} exceeds the server's limit of ${max} bytes (not sent)`,
    );
  } else if (!session.extensions.has("SMTPUTF8") && !allAscii(envelope)) {
    reply = syntheticReply(
      553,
      "5.6.7",
      "non-ASCII envelope address and the server does not offer SMTPUTF8 (not sent)",
    );
  } else if (
    !session.extensions.has("8BITMIME") && hasEightBit(message) && headerHasEightBit(message)
  ) {
    reply = syntheticReply(
      554,
      "5.6.3",
      "8-bit bytes in the message's header fields and the server does not offer 8BITMIME " +
        "(not sent)",
    );
  }
  if (!reply) return undefined;
  const rejected = reply;
  return {
    mail: rejected,
    recipients: envelope.to.map((address) => ({ address, reply: rejected, accepted: false })),
  };
}

function allAscii(envelope: SmtpEnvelope): boolean {
  return isAscii(envelope.from) && envelope.to.every(isAscii);
}

/** "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8", parameters as the server offers. */
export function mailCommand(
  session: SmtpSession,
  envelope: SmtpEnvelope,
  message: Uint8Array | ByteSource,
) {
  const ext = session.extensions;
  let line = `MAIL FROM:<${envelope.from}>`;
  if (ext.has("SIZE")) line += ` SIZE=${messageSize(message)}`;
  if (ext.has("8BITMIME") && hasEightBit(message)) line += " BODY=8BITMIME";
  if (ext.has("SMTPUTF8") && !allAscii(envelope)) line += " SMTPUTF8";
  return line;
}

/** Registers the waiters of a MAIL..DATA group in order and returns its lines. */
export function prepareGroup(
  ctx: TransactionContext,
  job: Job,
): { lines: string[]; group: SentGroup } {
  const { conn, timeouts: t } = ctx;
  const lines = [mailCommand(ctx.session, job.envelope, job.message)];
  const mail = quiet(conn.expect("MAIL FROM", t.mail));
  const rcpts = job.envelope.to.map((a) => {
    lines.push(`RCPT TO:<${a}>`);
    return quiet(conn.expect("RCPT TO", t.rcpt));
  });
  lines.push("DATA");
  const data = quiet(conn.expect("DATA", t.dataInit));
  return { lines, group: { mail, rcpts, data } };
}

async function ask(ctx: TransactionContext, line: string, label: string, timeout: number) {
  const pending = quiet(ctx.conn.expect(label, timeout));
  await ctx.conn.command([line], timeout);
  return await pending;
}

/** RSET after a failed transaction; its failure only matters to the next one. */
async function reset(ctx: TransactionContext): Promise<void> {
  try {
    const reply = await ask(ctx, "RSET", "RSET", ctx.timeouts.rset);
    if (reply.code !== 250) ctx.conn.log("*: RSET was refused");
  } catch {
    // The connection is dead; the next send will say so.
  }
}

function outcomes(envelope: SmtpEnvelope, rcpts: SmtpReply[], final?: SmtpReply) {
  return envelope.to.map((address, i): SmtpRecipientOutcome => {
    const own = rcpts[i]!;
    if (!isPositive(own) || !final) {
      return { address, reply: own, accepted: isPositive(own) && !final };
    }
    return { address, reply: final, accepted: isPositive(final) };
  });
}

/**
 * Runs one transaction to its end. `takeNext` is asked, when pipelining,
 * for a job whose commands can follow the final dot in the same write.
 *
 * @throws {SmimeError} E_TEMPFAIL when the connection dies before the final dot;
 *   the connection's failure (421, timeout, abort reason) otherwise
 */
export async function runTransaction(
  ctx: TransactionContext,
  job: Job,
  sent: SentGroup | undefined,
  takeNext: () => Job | undefined,
): Promise<TransactionOutcome> {
  const { conn, timeouts: t } = ctx;
  const env = job.envelope;
  let mail: SmtpReply;
  const rcpts: SmtpReply[] = [];
  let data: SmtpReply | undefined;
  if (ctx.pipelining) {
    let group = sent;
    if (!group) {
      const prepared = prepareGroup(ctx, job);
      await conn.command(prepared.lines, t.mail);
      group = prepared.group;
    }
    mail = await group.mail;
    for (const r of group.rcpts) rcpts.push(await r);
    data = await group.data;
  } else {
    mail = await ask(ctx, mailCommand(ctx.session, env, job.message), "MAIL FROM", t.mail);
    if (isPositive(mail)) {
      for (const a of env.to) rcpts.push(await ask(ctx, `RCPT TO:<${a}>`, "RCPT TO", t.rcpt));
      if (rcpts.some(isPositive)) data = await ask(ctx, "DATA", "DATA", t.dataInit);
    }
  }
  const mailRefused = !isPositive(mail);
  if (mailRefused || !rcpts.some(isPositive)) {
    // RFC 2920 3.1: DATA should get 503/554 here; if a server said 354, end the empty message.
    if (data?.code === 354) await ask(ctx, ".", "end of data", t.dataEnd);
    await reset(ctx);
    const recipients = mailRefused
      ? env.to.map((address) => ({ address, reply: mail, accepted: false }))
      : outcomes(env, rcpts);
    return { result: { mail, recipients }, reachedEnd: false };
  }
  if (data!.code < 400 && data!.code !== 354) {
    // Only 354 lets the data go (RFC 5321 4.1.1.4). Any other 2xx or 3xx is a reply out of
    // step (one the server sent twice, or a stray one): nothing was sent, and no later reply
    // on this connection can be matched to its command, so it is dropped and the message
    // deferred. Taken for the end of data's reply, a 250 here counted a message never sent.
    const err = new SmimeError(
      "E_TEMPFAIL",
      `Cannot send via ${conn.where}: the server answered DATA with "${
        data!.text
      }", not 354 (replies out of step); the message was not sent`,
    );
    conn.fail(err, "garbage");
    throw err;
  }
  if (data!.code !== 354) {
    await reset(ctx);
    return { result: { mail, data, recipients: outcomes(env, rcpts, data) }, reachedEnd: false };
  }
  return await sendBody(ctx, job, mail, rcpts, takeNext);
}

function lostDuringData(conn: SmtpConnection, err: unknown): unknown {
  if (conn.failureKind !== "lost") return err;
  return new SmimeError(
    "E_TEMPFAIL",
    `Cannot send via ${conn.where}: connection lost during DATA`,
    {
      cause: err,
    },
  );
}

async function sendBody(
  ctx: TransactionContext,
  job: Job,
  mail: SmtpReply,
  rcpts: SmtpReply[],
  takeNext: () => Job | undefined,
): Promise<TransactionOutcome> {
  const { conn, timeouts: t } = ctx;
  if (conn.isLogging) conn.log(`C: <message, ${messageSize(job.message)} bytes>`);
  const given = (chunk: Uint8Array | string, err?: Error | null) => {
    if (!err && typeof chunk !== "string") ctx.buffers?.give(chunk);
  };
  // Every window but the last is written alone, waiting for the socket to take it; the last
  // one goes in one write with the end of data and the next envelope (RFC 2920 3.1).
  // A source is made as it is sent (a large message, never whole).
  const chunks = job.message instanceof Uint8Array
    ? bodyChunks(job.message, DATA_WINDOW, ctx.buffers)
    : sourceChunks(job.message, ctx.buffers);
  let last: Uint8Array | undefined;
  try {
    for (let c = chunks.next(); !c.done; c = chunks.next()) {
      if (last) await conn.write(last, t.dataBlock, "message data", given);
      last = c.value;
    }
  } catch (err) {
    // A message that could not be made to its end must not be ended: only the final dot
    // ends DATA (RFC 5321 4.1.1.4), so the connection is dropped and the server discards it.
    if (conn.isOpen) conn.fail(err, "abort");
    throw lostDuringData(conn, err);
  }
  const dot = quiet(conn.expect("end of data", t.dataEnd));
  const parts: (Uint8Array | string)[] = last ? [last] : [];
  // The last chunk ends as the message does (see dataTail).
  parts.push(dataTail(last ?? NO_BYTES));
  conn.log("C: .");
  let next: TransactionOutcome["next"];
  const nextJob = ctx.pipelining ? takeNext() : undefined;
  if (nextJob) {
    const prepared = prepareGroup(ctx, nextJob);
    if (conn.isLogging) prepared.lines.forEach((line) => conn.log(`C: ${line}`));
    parts.push(prepared.lines.map((l) => l + "\r\n").join(""));
    next = { job: nextJob, group: prepared.group };
  }
  if (!conn.isOpen) throw lostDuringData(conn, conn.failure);
  // The last window and the dot go in one write. Once it is issued, a failure is no longer
  // one during DATA: a write that fails part way may have put the dot on the wire already.
  let final: SmtpReply;
  try {
    await conn.write(parts, t.dataBlock, "end of data", given);
    final = await dot;
  } catch (err) {
    // The dot may have reached the server; only a reply is definite (421 is one). A
    // garbled or over-long line may have been the 250; a late one may still come.
    if (conn.failureKind === "421") throw err;
    const what = conn.failureKind === "timeout" || conn.failureKind === "garbage"
      ? `no usable reply to end of data (${reasonOf(err)})`
      : "connection lost after end of data";
    const lost = syntheticReply(451, undefined, `${what}; the message may have been delivered`);
    const recipients = outcomes(job.envelope, rcpts, lost);
    return { result: { mail, recipients, uncertain: true }, reachedEnd: true, next };
  }
  if (!isPositive(final) && !next) await reset(ctx);
  const result: SmtpSendResult = {
    mail,
    data: final,
    recipients: outcomes(job.envelope, rcpts, final),
    queueId: parseQueueId(final),
  };
  return { result, reachedEnd: true, next };
}
