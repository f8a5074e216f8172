/**
 * What a harvest request carries: the messages out of a SparkPost relay
 * webhook batch (a JSON array of `msys.relay_message` events), or one raw
 * `message/rfc822` body as other platforms post it.
 *
 * The relay event, from SparkPost's relay-webhook documentation:
 * `{ msys: { relay_message: { content: { email_rfc822, email_rfc822_is_base64,
 * html, text, headers, subject, to }, msg_from, rcpt_to, friendly_from,
 * customer_id, webhook_id, protocol } } }`. Only `content.email_rfc822` is
 * required here; the rest is passed on when it is a string.
 *
 * @module
 */

import { latin1ToBytes } from "../bytes.ts";
import { HttpError } from "./http_wire.ts";

/** One message out of a request, with what the platform said about it. */
export interface InboundMessage {
  /** The whole message as received. */
  bytes: Uint8Array;
  /** SMTP MAIL FROM as the platform saw it (`msg_from`), when given. */
  msgFrom?: string;
  /** SMTP RCPT TO as the platform saw it (`rcpt_to`), when given. */
  rcptTo?: string;
}

/** The media types a harvest request may have. */
export type PayloadKind = "json" | "rfc822";

/**
 * The payload kind of a Content-Type field value, parameters ignored.
 *
 * @returns the kind, or undefined for anything else (the caller answers 400)
 */
export function payloadKindOf(contentType: string | undefined): PayloadKind | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return "json";
  if (type === "message/rfc822") return "rfc822";
  return undefined;
}

/**
 * The messages of a request body.
 *
 * @param kind from {@link payloadKindOf}
 * @param body the whole body, already bounded in size
 * @param maxMessages the most events one request may carry
 * @throws {HttpError} 400 with a one-line reason for malformed JSON, a
 *   shape that is not an array of relay events, bad base64, an empty body;
 *   413 for more than `maxMessages` events
 */
export function messagesOf(
  kind: PayloadKind,
  body: Uint8Array,
  maxMessages: number,
): InboundMessage[] {
  if (body.length === 0) throw bad("empty request body");
  if (kind === "rfc822") return [{ bytes: body }];
  let events: unknown;
  try {
    events = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (err) {
    throw bad(`body is not JSON (${err instanceof Error ? err.message.split("\n")[0] : err})`);
  }
  if (!Array.isArray(events)) throw bad("body is not a JSON array of relay events");
  if (events.length > maxMessages) {
    throw new HttpError(
      413,
      `Too many events in one request: ${events.length}, at most ${maxMessages}`,
    );
  }
  return events.map((event, i) => relayMessageOf(event, i));
}

function relayMessageOf(event: unknown, i: number): InboundMessage {
  const where = `event ${i + 1}`;
  const relay = field(field(event, "msys", where), "relay_message", `${where} msys`);
  const content = field(relay, "content", `${where} msys.relay_message`);
  const rfc822 = (content as Record<string, unknown>).email_rfc822;
  if (typeof rfc822 !== "string" || rfc822 === "") {
    throw bad(`${where}: msys.relay_message.content.email_rfc822 is missing or not a string`);
  }
  const isBase64 = (content as Record<string, unknown>).email_rfc822_is_base64;
  if (isBase64 !== undefined && typeof isBase64 !== "boolean") {
    throw bad(`${where}: email_rfc822_is_base64 is not true or false`);
  }
  const bytes = isBase64 ? decodeBase64(rfc822, where) : new TextEncoder().encode(rfc822);
  const message: InboundMessage = { bytes };
  const { msg_from: msgFrom, rcpt_to: rcptTo } = relay as Record<string, unknown>;
  if (typeof msgFrom === "string") message.msgFrom = msgFrom;
  if (typeof rcptTo === "string") message.rcptTo = rcptTo;
  return message;
}

function field(value: unknown, name: string, where: string): object {
  const inner = value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
  if (inner === null || typeof inner !== "object" || Array.isArray(inner)) {
    throw bad(`${where}: no ${name} object`);
  }
  return inner;
}

/** Strict base64 (RFC 4648 4), line breaks allowed. */
function decodeBase64(text: string, where: string): Uint8Array {
  const compact = text.replace(/[\r\n]/g, "");
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw bad(`${where}: email_rfc822 is not valid base64`);
  }
  return latin1ToBytes(atob(compact));
}

function bad(reason: string): HttpError {
  return new HttpError(400, `Bad request: ${reason}`);
}
