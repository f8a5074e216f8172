/**
 * Delivery headers that MTAs read and strip at injection: X-MSYS-API
 * (SparkPost, Momentum), X-Virtual-MTA and X-Job (PowerMTA), a site's
 * binding header (Momentum). They go on the outer message only; the signed
 * or encrypted entity is never touched.
 *
 * @module
 */
import { makeHeader } from "../message/mod.ts";
import { SmimeError } from "../errors.ts";

/**
 * One header field, folded on whitespace so that no line passes 78
 * characters where avoidable and none passes 998 (RFC 5322 2.1.1, 2.2.3).
 *
 * @throws {SmimeError} E_CONFIG naming the header when the value holds a line
 *   end or is not ASCII.
 */
export function headerField(name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new SmimeError("E_CONFIG", `${name}: the value must not contain line ends`);
  }
  return new TextDecoder().decode(makeHeader(name, value).raw);
}

/**
 * JSON for X-MSYS-API: non-ASCII escaped as \uXXXX, and a space after every
 * separator so the header can be folded on whitespace without touching the
 * JSON (unfolding only removes the CRLF).
 */
export function msysApiJson(value: Record<string, unknown>): string {
  const spaced = JSON.stringify(value, null, 1).replace(/\n\s*/g, " ");
  return spaced.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The X-MSYS-API header for SparkPost SMTP injection or Momentum. Open and
 * click tracking rewrite the body and would break S/MIME, so they are off
 * whenever the message is signed or encrypted.
 */
export function msysApiHeader(fields: {
  campaign_id?: string;
  metadata?: Record<string, unknown>;
  tags?: string[];
  options?: Record<string, unknown>;
}): string {
  const value: Record<string, unknown> = {};
  if (fields.campaign_id !== undefined) value.campaign_id = fields.campaign_id;
  if (fields.metadata && Object.keys(fields.metadata).length) value.metadata = fields.metadata;
  if (fields.tags?.length) value.tags = fields.tags;
  if (fields.options && Object.keys(fields.options).length) value.options = fields.options;
  return headerField("X-MSYS-API", msysApiJson(value));
}

/** A token for X-Job and X-Virtual-MTA: visible ASCII, no whitespace. */
export const TOKEN = /^[\x21-\x7e]+$/;
