/**
 * The SMTP client of smimepost: node:net / node:tls with TCP_NODELAY,
 * STARTTLS (with pinning), AUTH, PIPELINING, per-recipient results, and
 * never a bare CR or LF on the wire.
 *
 * @example Send one message (here to a local sink, so the example runs offline)
 * ```ts
 * import { SmtpClient } from "./mod.ts";
 * import { startSink } from "../sink/mod.ts";
 *
 * const sink = await startSink({ port: 0 });
 * const client = new SmtpClient({ host: sink.host, port: sink.port, tls: { mode: "never" } });
 * try {
 *   await client.connect();
 *   const bytes = new TextEncoder().encode("From: a@example.com\r\nTo: b@example.com\r\n\r\nhi\r\n");
 *   const r = await client.send({ from: "a@example.com", to: ["b@example.com"] }, bytes);
 *   if (!r.recipients.every((x) => x.accepted)) throw new Error(r.recipients[0]?.reply.text);
 * } finally {
 *   await client.close();
 *   await sink.close();
 * }
 * ```
 *
 * @module
 */
export { SmtpClient } from "./client.ts";
export { parseQueueId, parseReplyLines, ReplyParser } from "./reply.ts";
export { encodeData } from "./data.ts";
export {
  DEFAULT_TIMEOUTS,
  type EnhancedStatus,
  isEnhancedStatus,
  type SmtpAuthMethod,
  type SmtpClientOptions,
  type SmtpEnvelope,
  type SmtpRecipientOutcome,
  type SmtpReply,
  type SmtpSendResult,
  type SmtpSession,
  type SmtpTimeouts,
  type SmtpTlsOptions,
  type TlsMode,
} from "./types.ts";
