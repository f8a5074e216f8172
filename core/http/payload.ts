/**
 * What every transmission body holds, whatever the platform: the message in
 * `content.email_rfc822` and every envelope recipient listed. Each platform's
 * own body (its fields, its limits) is built in its plugin folder from these.
 * Pure functions: no I/O.
 *
 * The message goes in `content.email_rfc822` exactly as sealed: CRLF kept,
 * no dot-stuffing (that is SMTP's business, not the API's), and every
 * envelope recipient, Bcc included, listed in `recipients`, because with
 * rfc822 content the API generates no headers and delivers to the list only.
 *
 * @module
 */
import { bytesToLatin1 } from "../bytes.ts";
import { SmimeError } from "../errors.ts";

/** A recipient of a transmission. */
export interface TransmissionRecipient {
  address: { email: string };
}

/**
 * The `recipients` list: one entry per envelope recipient, in order.
 *
 * @throws {SmimeError} E_MESSAGE when there are none
 */
export function transmissionRecipients(recipients: readonly string[]): TransmissionRecipient[] {
  if (recipients.length === 0) {
    throw new SmimeError("E_MESSAGE", "Cannot send a transmission: the message has no recipients");
  }
  return recipients.map((email) => ({ address: { email } }));
}

/**
 * The message as the JSON string of `content.email_rfc822`. Sealed messages
 * are 7-bit, so any decoding keeps their bytes. For 8-bit plain messages the
 * string must be what the server re-encodes as UTF-8 on the wire: decoding
 * UTF-8 keeps those bytes; bytes that are not UTF-8 have no JSON form at
 * all, so they are refused instead of being silently changed.
 *
 * @param bytes the message as it is to arrive
 * @param maxBytes the platform's limit on the content, when it has one
 * @throws {SmimeError} E_MESSAGE for a message over `maxBytes`, or with
 *   8-bit bytes that are not UTF-8
 */
export function rfc822Content(bytes: Uint8Array, maxBytes?: number): string {
  if (maxBytes !== undefined && bytes.length > maxBytes) {
    throw new SmimeError(
      "E_MESSAGE",
      `Cannot send a ${bytes.length}-byte message through the transmissions API: ` +
        `email_rfc822 is limited to ${maxBytes} bytes`,
    );
  }
  if (isAscii(bytes)) return bytesToLatin1(bytes);
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

/**
 * The envelope sender a platform's API insists on (`return_path`), trimmed.
 *
 * @param platform names the API in the error, e.g. "PowerMTA"
 * @throws {SmimeError} E_CONFIG when it is missing or blank
 */
export function requireReturnPath(returnPath: string | undefined, platform: string): string {
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

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}
