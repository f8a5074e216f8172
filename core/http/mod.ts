/**
 * The transmissions-API client every HTTP plugin shares, and the parts of a
 * transmission body that are the same on every platform. A platform's own
 * body, limits and API hosts live in its plugin folder.
 *
 * @example
 * ```ts
 * import { rfc822Content, TransmissionsClient, transmissionRecipients } from "./mod.ts";
 *
 * // Needs the platform's API and a key.
 * async function post(apiKey: string, bytes: Uint8Array, recipients: string[]) {
 *   const client = new TransmissionsClient({
 *     baseUrl: "https://api.sparkpost.com/api/v1",
 *     apiKey,
 *     label: "SparkPost API",
 *     timeoutMs: 300_000,
 *   });
 *   return await client.send({
 *     recipients: transmissionRecipients(recipients),
 *     content: { email_rfc822: rfc822Content(bytes) },
 *   });
 * }
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
