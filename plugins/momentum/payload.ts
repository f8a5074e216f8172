/**
 * The Momentum REST transmission body for one sealed message. Pure: no I/O.
 *
 * @module
 */
import type { TransmissionRecipient } from "../../core/http/mod.ts";
import { requireReturnPath, rfc822Content, transmissionRecipients } from "../../core/http/mod.ts";
import type { SealedMessage } from "../../core/deliver/types.ts";
import { checkCampaignId, trackingFor } from "../sparkpost/fields.ts";

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
 * The Momentum REST transmission for one sealed message: return_path
 * (required), campaign_id, metadata, tracking options, recipients, content.
 *
 * @throws {SmimeError} E_CONFIG without a return path, for tracking on a
 *   sealed message, or a campaign_id over 64 bytes; E_MESSAGE for 8-bit
 *   bytes that are not UTF-8
 */
export function momentumPayload(
  message: SealedMessage,
  options: MomentumPayloadOptions,
): MomentumPayload {
  const returnPath = requireReturnPath(options.returnPath, "Momentum");
  const tracking = trackingFor(message, {
    open: options.openTracking,
    click: options.clickTracking,
  });
  checkCampaignId(options.campaignId);
  const payload: MomentumPayload = {
    return_path: returnPath,
    options: { open_tracking: tracking.open, click_tracking: tracking.click },
    recipients: transmissionRecipients(message.recipients),
    content: { email_rfc822: rfc822Content(message.bytes) },
  };
  if (options.campaignId) payload.campaign_id = options.campaignId;
  if (options.metadata !== undefined) payload.metadata = options.metadata;
  return payload;
}
