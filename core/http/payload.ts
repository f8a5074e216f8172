/**
 * Transmission bodies for a pre-built, sealed message, one builder per
 * platform, and the mapping of a reply to per-recipient results. Pure
 * functions: no I/O.
 *
 * The message goes in `content.email_rfc822` exactly as sealed: CRLF kept,
 * no dot-stuffing (that is SMTP's business, not the API's), and every
 * envelope recipient, Bcc included, listed in `recipients`, because with
 * rfc822 content the API generates no headers and delivers to the list only.
 *
 * @module
 */
import type { DeliveryResult, RecipientResult } from "../deliver/types.ts";
import { SmimeError } from "../errors.ts";
import type { OutboundMessage } from "../pipeline.ts";
import type { TransmissionResponse } from "./client.ts";

/** SparkPost's limit on `content.email_rfc822`. */
export const MAX_RFC822_BYTES = 20 * 1024 * 1024;
/** SparkPost's limit on `campaign_id`, in bytes. */
export const MAX_CAMPAIGN_ID_BYTES = 64;

/** A recipient of a transmission. */
export interface TransmissionRecipient {
  address: { email: string };
}

/** Options of {@link sparkpostPayload}; camelCase of the config keys. */
export interface SparkpostPayloadOptions {
  campaignId?: string;
  metadata?: Record<string, unknown>;
  returnPath?: string;
  description?: string;
  /** Default true: a sealed message is one person's mail, not a campaign. */
  transactional?: boolean;
  ipPool?: string;
  openTracking?: boolean;
  clickTracking?: boolean;
}

/** The SparkPost transmission body this tool sends. */
export interface SparkpostPayload {
  recipients: TransmissionRecipient[];
  content: { email_rfc822: string };
  campaign_id?: string;
  metadata?: Record<string, unknown>;
  description?: string;
  return_path?: string;
  options: {
    open_tracking: boolean;
    click_tracking: boolean;
    transactional: boolean;
    ip_pool?: string;
  };
}

/** Options of {@link powermtaPayload}. */
export interface PowermtaPayloadOptions {
  /** Required by PowerMTA 5: the envelope sender. */
  returnPath?: string;
  /** Becomes the PowerMTA job id. */
  campaignId?: string;
  smtputf8?: boolean;
}

/**
 * The PowerMTA 5 transmission body: only the fields PowerMTA accepts, since
 * any other SparkPost field is a 400 there.
 */
export interface PowermtaPayload {
  return_path: string;
  campaign_id?: string;
  options?: { smtputf8: boolean };
  recipients: TransmissionRecipient[];
  content: { email_rfc822: string };
}

/** Options of {@link momentumPayload}. */
export interface MomentumPayloadOptions {
  /** Required by Momentum's REST API. */
  returnPath?: string;
  campaignId?: string;
  metadata?: Record<string, unknown>;
  openTracking?: boolean;
  clickTracking?: boolean;
}

/** The Momentum transmission body: SparkPost's, without the cloud-only fields. */
export interface MomentumPayload {
  return_path: string;
  campaign_id?: string;
  metadata?: Record<string, unknown>;
  options: { open_tracking: boolean; click_tracking: boolean };
  recipients: TransmissionRecipient[];
  content: { email_rfc822: string };
}

/**
 * The SparkPost transmission for one sealed message.
 *
 * @param message the sealed copy and its envelope recipients
 * @param options campaign, metadata, return path, description, transactional,
 *   IP pool, tracking (off unless asked; refused for signed/encrypted mail)
 * @throws {SmimeError} E_CONFIG for tracking on a sealed message or a
 *   campaign_id over 64 bytes; E_MESSAGE for a message over 20 MB or with
 *   8-bit bytes that are not UTF-8
 */
export function sparkpostPayload(
  message: OutboundMessage,
  options: SparkpostPayloadOptions = {},
): SparkpostPayload {
  const tracking = trackingOf(message, options.openTracking, options.clickTracking);
  checkCampaignId(options.campaignId);
  const payload: SparkpostPayload = {
    recipients: recipientsOf(message),
    content: { email_rfc822: rfc822Of(message, MAX_RFC822_BYTES) },
    options: {
      open_tracking: tracking.open,
      click_tracking: tracking.click,
      transactional: options.transactional ?? true,
    },
  };
  if (options.ipPool) payload.options.ip_pool = options.ipPool;
  if (options.campaignId) payload.campaign_id = options.campaignId;
  if (options.metadata !== undefined) payload.metadata = options.metadata;
  if (options.description) payload.description = options.description;
  if (options.returnPath) payload.return_path = options.returnPath;
  return payload;
}

/**
 * The PowerMTA 5 transmission for one sealed message: return_path,
 * campaign_id, options.smtputf8, recipients[].address.email and
 * content.email_rfc822, nothing else. PowerMTA replies without an id.
 *
 * @throws {SmimeError} E_CONFIG without a return path or with whitespace in
 *   the campaign id (it becomes the job id); E_MESSAGE for 8-bit bytes that
 *   are not UTF-8
 */
export function powermtaPayload(
  message: OutboundMessage,
  options: PowermtaPayloadOptions,
): PowermtaPayload {
  const returnPath = requireReturnPath(options.returnPath, "PowerMTA");
  const payload: PowermtaPayload = {
    return_path: returnPath,
    recipients: recipientsOf(message),
    content: { email_rfc822: rfc822Of(message) },
  };
  if (options.campaignId) {
    if (/\s/.test(options.campaignId)) {
      throw new SmimeError(
        "E_CONFIG",
        `Cannot use campaign_id ${JSON.stringify(options.campaignId)} with PowerMTA: ` +
          "it becomes the job id, which has no whitespace",
      );
    }
    payload.campaign_id = options.campaignId;
  }
  if (options.smtputf8 !== undefined) payload.options = { smtputf8: options.smtputf8 };
  return payload;
}

/**
 * The Momentum REST transmission for one sealed message: return_path
 * (required), campaign_id, metadata, tracking options, recipients, content.
 *
 * @throws {SmimeError} E_CONFIG without a return path, for tracking on a
 *   sealed message, or a campaign_id over 64 bytes; E_MESSAGE for 8-bit
 *   bytes that are not UTF-8
 */
export function momentumPayload(
  message: OutboundMessage,
  options: MomentumPayloadOptions,
): MomentumPayload {
  const returnPath = requireReturnPath(options.returnPath, "Momentum");
  const tracking = trackingOf(message, options.openTracking, options.clickTracking);
  checkCampaignId(options.campaignId);
  const payload: MomentumPayload = {
    return_path: returnPath,
    options: { open_tracking: tracking.open, click_tracking: tracking.click },
    recipients: recipientsOf(message),
    content: { email_rfc822: rfc822Of(message) },
  };
  if (options.campaignId) payload.campaign_id = options.campaignId;
  if (options.metadata !== undefined) payload.metadata = options.metadata;
  return payload;
}

/**
 * One RecipientResult per envelope recipient, from a 2xx reply.
 *
 * The API reports counts, not addresses. When nothing was rejected every
 * recipient is "accepted". When some were rejected (at submission: the
 * suppression list, an invalid address) the reply does not say which, so
 * every recipient is reported "rejected" with "<host> accepted N of M
 * recipients (which ones is not reported; see the message events)": that
 * under-reports success rather than claiming delivery that may not happen,
 * and "rejected" is final, so a runner does not resend (and duplicate) the
 * copies that were accepted.
 *
 * @param message the message that was sent
 * @param response the client's reply
 * @param httpStatus the status to report as `code`; default the reply's
 */
export function resultFromResponse(
  message: OutboundMessage,
  response: TransmissionResponse,
  httpStatus: number = response.status,
): DeliveryResult {
  const total = message.recipients.length;
  const rejected = response.rejected ?? 0;
  const idText = response.id === undefined ? "" : ` (id ${response.id})`;
  let status: RecipientResult["status"] = "accepted";
  let line = `accepted by ${response.host}${idText}`;
  if (rejected > 0) {
    status = "rejected";
    const accepted = response.accepted ?? Math.max(0, total - rejected);
    line = `${response.host} accepted ${accepted} of ${total} recipients${idText} ` +
      "(which ones is not reported; see the message events)";
  }
  const result: DeliveryResult = {
    recipients: message.recipients.map((recipient) => ({
      recipient,
      status,
      code: httpStatus,
      response: line,
    })),
    response: `${httpStatus} ${line}`,
  };
  if (response.id !== undefined) result.id = response.id;
  return result;
}

function recipientsOf(message: OutboundMessage): TransmissionRecipient[] {
  if (message.recipients.length === 0) {
    throw new SmimeError("E_MESSAGE", "Cannot send a transmission: the message has no recipients");
  }
  return message.recipients.map((email) => ({ address: { email } }));
}

/**
 * The message as a JSON string. Sealed messages are 7-bit, so any decoding
 * keeps their bytes. For 8-bit plain messages the string must be what the
 * server re-encodes as UTF-8 on the wire: decoding UTF-8 keeps those bytes;
 * bytes that are not UTF-8 have no JSON form at all, so they are refused
 * instead of being silently changed.
 */
function rfc822Of(message: OutboundMessage, maxBytes?: number): string {
  const bytes = message.bytes;
  if (maxBytes !== undefined && bytes.length > maxBytes) {
    throw new SmimeError(
      "E_MESSAGE",
      `Cannot send a ${bytes.length}-byte message through the transmissions API: ` +
        `email_rfc822 is limited to ${maxBytes} bytes (20 MB)`,
    );
  }
  if (isAscii(bytes)) return latin1(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new SmimeError(
      "E_MESSAGE",
      "Cannot send the message through the transmissions API: it has 8-bit bytes that are not " +
        "UTF-8, which JSON cannot carry (use a 7-bit transfer encoding, or SMTP)",
    );
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

/** Byte-to-code-point decoding (TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array): string {
  let out = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    out += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return out;
}

/**
 * Open and click tracking rewrite the body (a pixel, redirected links):
 * that breaks an S/MIME signature and garbles an encrypted body, so sealed
 * messages always go with tracking off, and asking for it is an error.
 */
function trackingOf(
  message: OutboundMessage,
  open = false,
  click = false,
): { open: boolean; click: boolean } {
  if (message.sealed.stage !== "plain" && (open || click)) {
    const asked = [open && "open_tracking", click && "click_tracking"].filter(Boolean).join(
      " and ",
    );
    throw new SmimeError(
      "E_CONFIG",
      `Cannot send a ${message.sealed.stage} message with ${asked}: ` +
        "tracking rewrites the body and breaks the S/MIME signature",
    );
  }
  return { open, click };
}

function checkCampaignId(campaignId: string | undefined): void {
  if (campaignId === undefined) return;
  const bytes = new TextEncoder().encode(campaignId).length;
  if (bytes > MAX_CAMPAIGN_ID_BYTES) {
    throw new SmimeError(
      "E_CONFIG",
      `Cannot use campaign_id: ${bytes} bytes, the API allows ${MAX_CAMPAIGN_ID_BYTES}`,
    );
  }
}

function requireReturnPath(returnPath: string | undefined, platform: string): string {
  const value = returnPath?.trim();
  if (!value) {
    throw new SmimeError(
      "E_CONFIG",
      `Cannot send through the ${platform} transmissions API without return_path ` +
        "(the envelope sender it requires)",
    );
  }
  return value;
}
