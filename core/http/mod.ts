/**
 * The transmissions-API client every HTTP plugin shares, and the parts of a
 * transmission body that are the same on every platform. A platform's own
 * body, limits and API hosts live in its plugin folder.
 *
 * @example
 * ```ts ignore
 * const client = new TransmissionsClient({
 *   baseUrl: "https://api.sparkpost.com/api/v1",
 *   apiKey,
 *   label: "SparkPost API",
 *   timeoutMs: 300_000,
 * });
 * const reply = await client.send({
 *   recipients: transmissionRecipients(message.recipients),
 *   content: { email_rfc822: rfc822Content(message.bytes) },
 * });
 * ```
 *
 * @module
 */
export {
  DEFAULT_TIMEOUT_MS,
  errorDetails,
  HttpError,
  parseRetryAfter,
  TransmissionsClient,
} from "./client.ts";
export type {
  HttpErrorDetails,
  TransmissionResponse,
  TransmissionsClientOptions,
} from "./client.ts";
export { requireReturnPath, rfc822Content, transmissionRecipients } from "./payload.ts";
export type { TransmissionRecipient } from "./payload.ts";
