/**
 * The SparkPost transmission body for one sealed message. Pure: no I/O.
 *
 * @module
 */
import type { TransmissionRecipient } from "../../core/http/mod.ts";
import { rfc822Content, transmissionRecipients } from "../../core/http/mod.ts";
import type { SealedMessage } from "../../core/deliver/types.ts";
import { checkCampaignId, trackingFor } from "../sparkpost/fields.ts";

/** SparkPost's limit on `content.email_rfc822`. */
export const MAX_RFC822_BYTES = 20 * 1024 * 1024;

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
  message: SealedMessage,
  options: SparkpostPayloadOptions = {},
): SparkpostPayload {
  const tracking = trackingFor(message, {
    open: options.openTracking,
    click: options.clickTracking,
  });
  checkCampaignId(options.campaignId);
  const payload: SparkpostPayload = {
    recipients: transmissionRecipients(message.recipients),
    content: { email_rfc822: rfc822Content(message.bytes, MAX_RFC822_BYTES) },
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
