/**
 * The PowerMTA 5 transmission body for one sealed message. Pure: no I/O.
 *
 * @module
 */
import type { TransmissionRecipient } from "../../core/http/mod.ts";
import { requireReturnPath, rfc822Content, transmissionRecipients } from "../../core/http/mod.ts";
import { SmimeError } from "../../core/errors.ts";
import type { SealedMessage } from "../../core/deliver/types.ts";

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
  message: SealedMessage,
  options: PowermtaPayloadOptions,
): PowermtaPayload {
  const returnPath = requireReturnPath(options.returnPath, "PowerMTA");
  const payload: PowermtaPayload = {
    return_path: returnPath,
    recipients: transmissionRecipients(message.recipients),
    content: { email_rfc822: rfc822Content(message.bytes) },
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
