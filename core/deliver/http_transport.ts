/**
 * The transport for transmissions APIs: one POST per message; the plugin
 * supplies the API base, its own headers and the payload.
 *
 * @module
 */
import { HttpError, TransmissionsClient } from "../http/mod.ts";
import type { TransmissionResponse } from "../http/mod.ts";
import type {
  DeliveryFields,
  DeliveryResult,
  PluginContext,
  RecipientResult,
  SealedMessage,
  Transport,
} from "./types.ts";

/** What an HTTP plugin hands the shared transport. */
export interface HttpTransportSettings {
  /** The API base, e.g. https://api.sparkpost.com/api/v1; resolved at open(). */
  baseUrl: () => string;
  apiKey: string;
  /** Names the API in errors: "SparkPost API", "PowerMTA API". */
  label: string;
  /** The platform's own request headers (a subaccount, say). */
  headers?: Readonly<Record<string, string>>;
  timeoutMs?: number;
  /** The JSON body for one message, with its own fields. */
  payload: (message: SealedMessage, fields: DeliveryFields) => object;
}

/** Posts each message to {baseUrl}/transmissions. */
export class HttpTransport implements Transport {
  readonly #settings: HttpTransportSettings;
  readonly #context: PluginContext;
  #client: TransmissionsClient | undefined;

  /** No I/O here: open() resolves the base and reports. */
  constructor(settings: HttpTransportSettings, context: PluginContext) {
    this.#settings = settings;
    this.#context = context;
  }

  /**
   * The API is stateless: resolves the base URL and prints the old tool's
   * `Opened connection to <origin>` without touching the network.
   *
   * @throws {SmimeError} E_CONFIG for a base that is not a host name or URL
   */
  open(): Promise<void> {
    this.#connect();
    return Promise.resolve();
  }

  /**
   * POSTs the message. A timeout, or a connection lost after the request
   * went out, is a result with `uncertain: true` and every recipient
   * "deferred", not an exception: the API may have accepted it, and
   * resending blindly would duplicate it.
   *
   * @throws {SmimeError} the client's HttpError codes: E_AUTH,
   *   E_RCPT_REJECTED, E_TEMPFAIL, E_UNAVAILABLE; E_CONFIG and E_MESSAGE
   *   from the payload builder
   */
  async deliver(
    message: SealedMessage,
    signal?: AbortSignal,
    fields: DeliveryFields = {},
  ): Promise<DeliveryResult> {
    const client = this.#client ?? this.#connect();
    const payload = this.#settings.payload(message, fields);
    try {
      return resultFromResponse(message, await client.send(payload, signal));
    } catch (err) {
      if (!(err instanceof HttpError) || !err.uncertain) throw err;
      return {
        recipients: message.recipients.map((recipient) => ({
          recipient,
          status: "deferred",
          response: err.message,
        })),
        response: err.message,
        uncertain: true,
      };
    }
  }

  /** Nothing to release: fetch pools its own connections. Idempotent. */
  close(): Promise<void> {
    this.#client = undefined;
    return Promise.resolve();
  }

  #connect(): TransmissionsClient {
    const { apiKey, headers, timeoutMs, label } = this.#settings;
    const baseUrl = this.#settings.baseUrl();
    this.#client = new TransmissionsClient({
      baseUrl,
      apiKey,
      headers,
      timeoutMs: timeoutMs ?? 300_000,
      userAgent: "smimepost",
      label,
      debug: this.#context.debug,
    });
    this.#context.info(`Opened connection to ${new URL(baseUrl).origin}`);
    return this.#client;
  }
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
  message: SealedMessage,
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
