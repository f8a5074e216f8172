/**
 * The SMTP client of smimepost: node:net / node:tls with TCP_NODELAY,
 * STARTTLS (with pinning), AUTH, PIPELINING, per-recipient results, and
 * never a bare CR or LF on the wire.
 *
 * @example
 * ```ts ignore
 * import { SmtpClient } from "./mod.ts";
 * const client = new SmtpClient({ host: "mx.example", port: 587, tls: { mode: "require" } });
 * await client.connect();
 * const r = await client.send({ from: "a@example.com", to: ["b@example.com"] }, bytes);
 * console.log(r.recipients.map((x) => x.reply.text), r.queueId);
 * await client.close();
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
