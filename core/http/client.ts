/**
 * The transmissions-API client every HTTP plugin shares: one JSON POST to
 * `{base}/transmissions` per message, errors mapped to SmimeError codes. The
 * reply shapes it reads (`results.total_accepted_recipients`, `errors[]`) are
 * the transmissions API's, which the platforms that offer one share.
 *
 * The API key travels only in the Authorization header: it never appears in
 * a thrown message or a debug line.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import { reasonOf, SmimeError } from "../errors.ts";
import { httpErrorCode } from "../policy.ts";
import { escapeControls } from "../printable.ts";

/** SparkPost support recommends a 300 s timeout for API calls. */
export const DEFAULT_TIMEOUT_MS = 300_000;

/** How error details from non-JSON bodies are cut. */
const BODY_EXCERPT = 200;

/** Options of {@link TransmissionsClient}. */
export interface TransmissionsClientOptions {
  /**
   * API base, e.g. "https://api.sparkpost.com/api/v1"; a base that already
   * ends in `/transmissions` (as the platforms' manuals write the endpoint)
   * is taken as that endpoint.
   */
  baseUrl: string;
  /** Sent verbatim as `Authorization`; never logged. */
  apiKey: string;
  /**
   * More request headers, sent and logged as given (a platform's own, e.g.
   * a subaccount header); values must be one word of printable ASCII.
   */
  headers?: Readonly<Record<string, string>>;
  /** Per-request timeout; default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  userAgent?: string;
  /** Who answers, for messages: "SparkPost API", "PowerMTA API"; default "transmissions API". */
  label?: string;
  /** Request/response transcript; the Authorization value shows as "****". */
  debug?: (line: string) => void;
}

/** A successful (2xx) transmissions reply. */
export interface TransmissionResponse {
  /** HTTP status, 200 in practice. */
  status: number;
  /** Host (and port) that answered, for result lines. */
  host: string;
  /** Transmission id; PowerMTA gives none. */
  id?: string;
  /** results.total_accepted_recipients, when the reply has it. */
  accepted?: number;
  /** results.total_rejected_recipients, when the reply has it. */
  rejected?: number;
}

/** Extra facts an {@link HttpError} carries. */
export interface HttpErrorDetails extends ErrorOptions {
  /** HTTP status; 0 when no response arrived. */
  status: number;
  retryAfterMs?: number;
  /** The request may have been processed (timeout or connection lost mid-reply). */
  uncertain?: boolean;
}

/**
 * A failed API call: a SmimeError with the HTTP status, the server's
 * Retry-After (in ms) and whether the request may have been processed anyway.
 */
export class HttpError extends SmimeError {
  /** HTTP status; 0 when no response arrived (network error, timeout). */
  readonly status: number;
  /** From Retry-After (seconds or HTTP date), when the response had one. */
  readonly retryAfterMs?: number;
  /** True when the server may have accepted the transmission before the failure. */
  readonly uncertain: boolean;

  /**
   * @param code the SmimeError code
   * @param message one line with the server's words, never the API key
   * @param details status, retryAfterMs, uncertain, cause
   */
  constructor(code: ErrorCode, message: string, details: HttpErrorDetails) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "HttpError";
    this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    this.uncertain = details.uncertain ?? false;
  }
}

/**
 * Posts transmissions. Deno's fetch keeps connections alive and pools them;
 * every response body is read to the end so the connection goes back to
 * the pool.
 *
 * @example
 * ```ts
 * import { TransmissionsClient } from "./client.ts";
 *
 * // Needs the platform's API and a key.
 * async function post(apiKey: string, payload: object) {
 *   const client = new TransmissionsClient({ baseUrl: "https://api.sparkpost.com/api/v1", apiKey });
 *   const { id, accepted } = await client.send(payload);
 *   return { id, accepted };
 * }
 * ```
 */
export class TransmissionsClient {
  readonly #url: string;
  readonly #host: string;
  readonly #headers: Headers;
  readonly #timeoutMs: number;
  readonly #label: string;
  readonly #debug?: (line: string) => void;
  readonly #extra: [string, string][] = [];

  /**
   * @param options base URL, key, extra headers, timeout, user agent, label, debug sink
   * @throws {SmimeError} E_CONFIG for a base URL that does not parse or an
   *   API key or header value that cannot go in a header
   */
  constructor(options: TransmissionsClientOptions) {
    let url: URL;
    try {
      const base = options.baseUrl.replace(/\/+$/, "").replace(/\/transmissions$/i, "");
      url = new URL(`${base}/transmissions`);
    } catch (err) {
      throw new SmimeError("E_CONFIG", `Cannot use API base ${options.baseUrl}: not a URL`, {
        cause: err,
      });
    }
    this.#url = url.href;
    this.#host = url.host;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#label = options.label ?? "transmissions API";
    this.#debug = options.debug;
    if (!/^[\x21-\x7e]+$/.test(options.apiKey)) {
      // Never echo the value: it is the secret.
      throw new SmimeError(
        "E_CONFIG",
        "Cannot use the API key: empty, or has spaces or control characters",
      );
    }
    this.#headers = new Headers({
      "Authorization": options.apiKey,
      "Content-Type": "application/json",
      "Accept": "application/json",
    });
    if (options.userAgent) this.#headers.set("User-Agent", options.userAgent);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value === "") continue;
      if (!/^[\x21-\x7e]+$/.test(value)) {
        throw new SmimeError(
          "E_CONFIG",
          `Cannot send the ${name} header: its value has spaces or control characters`,
        );
      }
      this.#extra.push([name, value]);
      this.#headers.set(name, value);
    }
  }

  /** The full transmissions endpoint, e.g. "https://api.sparkpost.com/api/v1/transmissions". */
  get url(): string {
    return this.#url;
  }

  /** The host (and port) the client talks to. */
  get host(): string {
    return this.#host;
  }

  /**
   * POSTs one transmission.
   *
   * @param body the JSON body (see the payload builders)
   * @param signal aborts the request; its reason is rethrown as is
   * @returns status, id and the accepted/rejected counts of a 2xx reply
   * @throws {HttpError} E_AUTH (401/403), E_RCPT_REJECTED (400/413/422 and
   *   other 4xx), E_CONFIG (3xx, 404/405: wrong host or path), E_TEMPFAIL
   *   (420, 429, 5xx, timeout), E_UNAVAILABLE (network error, unreadable
   *   2xx reply)
   */
  async send(body: object, signal?: AbortSignal): Promise<TransmissionResponse> {
    const json = JSON.stringify(body);
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException("timed out", "TimeoutError")),
      this.#timeoutMs,
    );
    const signals = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    const started = performance.now();
    this.#logRequest(json.length);
    try {
      let response: Response;
      try {
        response = await fetch(this.#url, {
          method: "POST",
          headers: this.#headers,
          body: json,
          redirect: "manual",
          signal: signals,
        });
      } catch (err) {
        throw this.#networkError(err, signal, timeout.signal);
      }
      let text: string;
      try {
        text = await response.text();
      } catch (err) {
        throw this.#networkError(err, signal, timeout.signal, true);
      }
      const ms = Math.round(performance.now() - started);
      this.#debug?.(`< HTTP ${response.status} in ${ms} ms: ${oneLine(text, BODY_EXCERPT)}`);
      if (response.status >= 200 && response.status < 300) return this.#success(response, text);
      throw this.#statusError(response, text);
    } finally {
      clearTimeout(timer);
    }
  }

  #logRequest(length: number): void {
    if (!this.#debug) return;
    this.#debug(`> POST ${this.#url}`);
    this.#debug("> Authorization: ****");
    for (const [name, value] of this.#extra) this.#debug(`> ${name}: ${value}`);
    this.#debug(`> Content-Type: application/json (${length} characters)`);
  }

  #success(response: Response, text: string): TransmissionResponse {
    let parsed: unknown;
    try {
      parsed = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      throw new HttpError(
        "E_UNAVAILABLE",
        `${this.#label} ${response.status} from ${this.#host}: reply is not JSON, ` +
          `the transmission may have been accepted: ${oneLine(text, BODY_EXCERPT)}`,
        { status: response.status, uncertain: true },
      );
    }
    const results = isRecord(parsed) && isRecord(parsed.results) ? parsed.results : {};
    const out: TransmissionResponse = { status: response.status, host: this.#host };
    if (typeof results.id === "string" || typeof results.id === "number") {
      out.id = String(results.id);
    }
    const accepted = countOf(results.total_accepted_recipients);
    const rejected = countOf(results.total_rejected_recipients);
    if (accepted !== undefined) out.accepted = accepted;
    if (rejected !== undefined) out.rejected = rejected;
    return out;
  }

  #statusError(response: Response, text: string): HttpError {
    const status = response.status;
    const details = errorDetails(text) || oneLine(response.statusText, BODY_EXCERPT) ||
      "no details";
    const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
    let line = `${this.#label} ${status}: ${details}`;
    if (status >= 300 && status < 400) {
      const location = response.headers.get("Location");
      line += location
        ? ` (redirected to ${safeLocation(location)}; set the host to that URL)`
        : " (redirect)";
    } else if (status === 404 || status === 405) {
      line += ` (is ${this.#url} a transmissions endpoint? check the host)`;
    }
    return new HttpError(httpErrorCode(status), line, { status, retryAfterMs });
  }

  #networkError(
    err: unknown,
    signal: AbortSignal | undefined,
    timeout: AbortSignal,
    afterHeaders = false,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    if (timeout.aborted) {
      return new HttpError(
        "E_TEMPFAIL",
        `${this.#label} at ${this.#host} did not answer within ${this.#timeoutMs / 1000} s; ` +
          "the transmission may have been accepted (check the message events before resending)",
        { status: 0, uncertain: true, cause: err },
      );
    }
    const reason = networkReason(err);
    // A refused or unresolvable connection sent nothing; a connection lost
    // later may have carried the whole request.
    const beforeSending = !afterHeaders &&
      /connect|dns|resolve|lookup|certificate|tls/i.test(reason);
    return new HttpError(
      beforeSending ? "E_UNAVAILABLE" : "E_TEMPFAIL",
      `Cannot reach ${this.#label} at ${this.#host}: ${reason}`,
      { status: 0, uncertain: !beforeSending, cause: err },
    );
  }
}

/**
 * One line from an error body: SparkPost's `errors[]` as "message: description
 * (code N)" joined with "; ", else the first 200 characters of the body.
 */
export function errorDetails(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return oneLine(text, BODY_EXCERPT);
  }
  const errors = isRecord(parsed) && Array.isArray(parsed.errors) ? parsed.errors : undefined;
  if (!errors || errors.length === 0) return oneLine(text, BODY_EXCERPT);
  const parts = errors.map((e) => {
    if (!isRecord(e)) return oneLine(JSON.stringify(e), BODY_EXCERPT);
    const message = typeof e.message === "string" ? e.message.trim() : "";
    const description = typeof e.description === "string" ? e.description.trim() : "";
    const code = typeof e.code === "string" || typeof e.code === "number" ? String(e.code) : "";
    let part = message;
    if (description && description !== message) {
      // "Forbidden." + description reads as two sentences; "Invalid data" needs a colon.
      part = part ? `${part}${/[.!?:]$/.test(part) ? " " : ": "}${description}` : description;
    }
    if (code) part = part ? `${part} (code ${code})` : `code ${code}`;
    return part || oneLine(JSON.stringify(e), BODY_EXCERPT);
  });
  return oneLine(parts.join("; "), 4 * BODY_EXCERPT);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The useful words of a fetch failure: Deno throws "fetch failed" and puts
 * "error sending request for url (...): client error (Connect): tcp connect
 * error: Connection refused" in the cause chain.
 */
function networkReason(err: unknown): string {
  let deepest = err;
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) deepest = e;
  const text = reasonOf(deepest).replace(/^error sending request for url \([^)]*\):\s*/, "");
  return oneLine(text, 2 * BODY_EXCERPT);
}

/** Remote text on one line, its control characters shown as `\xNN` (a terminal obeys them). */
function oneLine(text: string, max: number): string {
  const line = escapeControls(text.replace(/\s+/g, " ").trim());
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function safeLocation(location: string): string {
  try {
    const url = new URL(location);
    return `${url.origin}${url.pathname}`;
  } catch {
    return oneLine(location, BODY_EXCERPT);
  }
}

function countOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
