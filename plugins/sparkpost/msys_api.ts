/**
 * The X-MSYS-API header that SparkPost SMTP injection and Momentum read and
 * strip at injection: JSON with campaign_id, metadata, tags and options
 * (FIELD.md). Shared by the sparkpost-smtp and momentum plugins.
 *
 * @module
 */
import { headerField } from "../../core/deliver/headers.ts";

/** What an X-MSYS-API header may carry; absent or empty fields are left out. */
export interface MsysApiFields {
  campaign_id?: string;
  metadata?: Record<string, unknown>;
  tags?: string[];
  options?: Record<string, unknown>;
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
 * The X-MSYS-API header field, folded (no CRLF at the end). Open and click
 * tracking rewrite the body and would break S/MIME: callers turn them off
 * for sealed mail (see tracking.ts).
 *
 * @throws {SmimeError} E_CONFIG when a value holds a line end
 */
export function msysApiHeader(fields: MsysApiFields): string {
  const value: Record<string, unknown> = {};
  if (fields.campaign_id !== undefined) value.campaign_id = fields.campaign_id;
  if (fields.metadata && Object.keys(fields.metadata).length) value.metadata = fields.metadata;
  if (fields.tags?.length) value.tags = fields.tags;
  if (fields.options && Object.keys(fields.options).length) value.options = fields.options;
  return headerField("X-MSYS-API", msysApiJson(value));
}
