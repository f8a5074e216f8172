/**
 * Rules the SparkPost family (the sparkpost-api and sparkpost-smtp plugins,
 * and Momentum, which shares SparkPost's API and X-MSYS-API) applies to the
 * fields it sends: the campaign_id limit, and tracking, which a sealed
 * message never gets.
 *
 * @module
 */
import { z } from "zod";
import { SmimeError } from "../../core/errors.ts";
import type { SealedMessage } from "../../core/deliver/types.ts";

/** SparkPost's limit on `campaign_id`, in bytes (UTF-8). */
export const MAX_CAMPAIGN_ID_BYTES = 64;

const bytesOf = (text: string) => new TextEncoder().encode(text).length;

/** The `campaign_id` option: 1 to 64 bytes. */
export const campaignIdOption = z.string().min(1).refine(
  (id) => bytesOf(id) <= MAX_CAMPAIGN_ID_BYTES,
  { message: `must be at most ${MAX_CAMPAIGN_ID_BYTES} bytes` },
);

/**
 * Checks a campaign id that did not pass the options schema (a manifest's
 * per-message value).
 *
 * @throws {SmimeError} E_CONFIG for one over 64 bytes
 */
export function checkCampaignId(campaignId: string | undefined): void {
  if (campaignId === undefined) return;
  const bytes = bytesOf(campaignId);
  if (bytes > MAX_CAMPAIGN_ID_BYTES) {
    throw new SmimeError(
      "E_CONFIG",
      `Cannot use campaign_id: ${bytes} bytes, the API allows ${MAX_CAMPAIGN_ID_BYTES}`,
    );
  }
}

/** Open and click tracking as asked. */
export interface Tracking {
  open: boolean;
  click: boolean;
}

/**
 * The tracking a message goes with. Open and click tracking rewrite the body
 * (a pixel, redirected links): that breaks an S/MIME signature and garbles
 * an encrypted body, so a sealed message goes with tracking off, and asking
 * for it is an error rather than a silently broken signature.
 *
 * @throws {SmimeError} E_CONFIG when tracking is asked for a sealed message
 */
export function trackingFor(message: SealedMessage, asked: Partial<Tracking>): Tracking {
  const open = asked.open ?? false;
  const click = asked.click ?? false;
  if (message.isSealed && (open || click)) {
    const names = [open && "open_tracking", click && "click_tracking"].filter(Boolean);
    throw new SmimeError(
      "E_CONFIG",
      `Cannot send a ${message.seal} message with ${names.join(" and ")}: ` +
        "tracking rewrites the body and breaks the S/MIME signature",
    );
  }
  return { open, click };
}
