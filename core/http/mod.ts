/**
 * The transmissions-API client and payload builders that the sparkpost-api
 * plugin and the HTTP modes of the powermta and momentum plugins share.
 *
 * @example
 * ```ts ignore
 * const client = new TransmissionsClient({
 *   baseUrl: resolveApiBase(Deno.env.get("SPARKPOST_HOST"), "us", console.warn),
 *   apiKey,
 *   timeoutMs: 300_000,
 * });
 * const reply = await client.send(sparkpostPayload(message, { campaignId: "statements" }));
 * const result = resultFromResponse(message, reply);
 * ```
 *
 * @module
 */
export { resolveApiBase, SPARKPOST_EU_BASE, SPARKPOST_US_BASE } from "./base.ts";
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
export {
  MAX_CAMPAIGN_ID_BYTES,
  MAX_RFC822_BYTES,
  momentumPayload,
  powermtaPayload,
  resultFromResponse,
  sparkpostPayload,
} from "./payload.ts";
export type {
  MomentumPayload,
  MomentumPayloadOptions,
  PowermtaPayload,
  PowermtaPayloadOptions,
  SparkpostPayload,
  SparkpostPayloadOptions,
  TransmissionRecipient,
} from "./payload.ts";
