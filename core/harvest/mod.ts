/**
 * The harvest receiver: an HTTP(S) endpoint that collects recipients'
 * certificates from signed mail. SparkPost relay webhooks post a JSON batch
 * of `msys.relay_message` events; other platforms post one raw
 * `message/rfc822` body. Each message must carry a passing DKIM signature
 * aligned with its single From address (unless DKIM is off) before it is
 * handed to the injected import step, one From address at a time.
 *
 * Answers as the old relay-webhook app did: 405 for other methods, 400
 * `Unknown Content-Type in request headers`, 401 `Invalid
 * X-MessageSystems-Webhook-Token in request headers` (the old app said 400),
 * 413 over the size limit, `GET /health` -> 200 `ok`. A processed request is
 * 200 with one result per message, refusals included: a refused certificate
 * does not get better when the platform retries. Only a failure that may
 * pass later (DNS trouble, a full disk) answers 503, so the batch is sent
 * again; importing is idempotent, so the messages that did import then
 * come back "unchanged".
 *
 * @example
 * ```ts
 * import { startHarvest } from "./mod.ts";
 * const server = await startHarvest({
 *   hostname: "127.0.0.1", port: 0, maxBytes: 25 * 1024 * 1024,
 *   dkim: { required: true },
 *   handle: async (_bytes, meta) => ({ status: "unchanged", detail: meta.from }),
 *   log: (line) => console.error(line),
 * });
 * console.error(`listening on ${server.url}`);
 * await server.close();
 * ```
 *
 * @module
 */

import { reasonOf, SmimeError } from "../errors.ts";
import { Deadline, HttpError, WireConnection } from "./http_wire.ts";
import type { RequestHead } from "./http_wire.ts";
import { messagesOf, payloadKindOf } from "./payload.ts";
import { Processor } from "./process.ts";
import { tokenChecker } from "./token.ts";
import type { HarvestOptions, HarvestServer, MessageResult } from "./types.ts";

export type {
  HarvestHandler,
  HarvestMeta,
  HarvestOptions,
  HarvestOutcome,
  HarvestServer,
  MessageResult,
} from "./types.ts";

/** The largest request line plus header fields accepted. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Time allowed to write an answer to a client that does not read. */
const WRITE_TIMEOUT_MS = 10_000;

/** What a request is answered with. */
interface Answer {
  status: number;
  reason: string;
  headers?: Record<string, string>;
  body: string;
  /** The request body was read to its end, so the connection can just close. */
  isBodyRead?: boolean;
}

/**
 * Starts the receiver and resolves once it listens.
 *
 * @throws {SmimeError} E_USAGE for a bad port or size; E_INPUT when a TLS
 *   file can't be read; E_CONFIG when the TLS certificate or key is
 *   unusable; E_UNAVAILABLE when it can't listen (address in use)
 */
export async function startHarvest(options: HarvestOptions): Promise<HarvestServer> {
  const { port, maxBytes } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SmimeError("E_USAGE", `Cannot start harvest: port ${port} is not 0-65535`);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new SmimeError(
      "E_USAGE",
      `Cannot start harvest: max bytes ${maxBytes} is not a positive number`,
    );
  }
  const listener = await listen(options);
  const bound = listener.addr.port;
  const scheme = options.tls ? "https" : "http";
  const shownHost = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  const receiver = new Receiver(options);
  const accepting = receiver.accept(listener);
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    url: `${scheme}://${shownHost}:${bound}${options.path ?? "/"}`,
    close() {
      closing ??= (async () => {
        listener.close();
        await accepting;
        await receiver.drain();
      })();
      return closing;
    },
  };
}

async function listen(options: HarvestOptions): Promise<Deno.Listener<Deno.Conn, Deno.NetAddr>> {
  const where = `${options.hostname}:${options.port}`;
  let tls: { cert: string; key: string } | undefined;
  if (options.tls) {
    tls = { cert: await readPem(options.tls.certFile), key: await readPem(options.tls.keyFile) };
  }
  try {
    return tls
      ? Deno.listenTls({ hostname: options.hostname, port: options.port, ...tls })
      : Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    if (
      tls && !(err instanceof Deno.errors.AddrInUse) &&
      !(err instanceof Deno.errors.AddrNotAvailable)
    ) {
      throw new SmimeError(
        "E_CONFIG",
        `Cannot use TLS certificate ${options.tls!.certFile} with key ${
          options.tls!.keyFile
        }: ${reason}`,
        { cause: err },
      );
    }
    throw new SmimeError("E_UNAVAILABLE", `Cannot listen on ${where}: ${reason}`, { cause: err });
  }
}

async function readPem(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound ? "no such file" : String(err);
    throw new SmimeError("E_INPUT", `Cannot read ${path}: ${reason}`, { cause: err });
  }
}

/** Serves connections: one request each, answered, closed. */
class Receiver {
  readonly #options: HarvestOptions;
  readonly #processor: Processor;
  readonly #isTokenValid: (given: string | undefined) => boolean;
  /** Open connections; `busy` once a request head has arrived. */
  readonly #open = new Map<WireConnection, { busy: boolean; done: Promise<void> }>();
  #closing = false;
  #requests = 0;

  constructor(options: HarvestOptions) {
    this.#options = options;
    this.#processor = new Processor(options);
    this.#isTokenValid = tokenChecker(options.token);
  }

  /** Accepts until the listener is closed. */
  async accept(listener: Deno.Listener<Deno.Conn, Deno.NetAddr>): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      const wire = new WireConnection(conn);
      const remote = (conn.remoteAddr as Deno.NetAddr).hostname;
      if (this.#open.size >= (this.#options.maxConnections ?? 32)) {
        this.#answer(wire, {
          status: 503,
          reason: "Service Unavailable",
          body: "Too many connections",
        })
          .finally(() => wire.close());
        continue;
      }
      const entry = { busy: false, done: Promise.resolve() };
      entry.done = this.#serve(wire, remote, entry).finally(() => {
        wire.close();
        this.#open.delete(wire);
      });
      this.#open.set(wire, entry);
    }
  }

  /** Closes idle connections and waits for the busy ones. */
  async drain(): Promise<void> {
    this.#closing = true;
    for (const [wire, entry] of this.#open) if (!entry.busy) wire.close();
    await Promise.all([...this.#open.values()].map((entry) => entry.done));
  }

  async #serve(wire: WireConnection, remote: string, entry: { busy: boolean }): Promise<void> {
    let id = 0;
    try {
      const head = await wire.readHead(
        MAX_HEAD_BYTES,
        new Deadline(this.#options.headerTimeoutMs ?? 10_000),
      );
      if (!head) return;
      entry.busy = true;
      id = ++this.#requests;
      const answer = await this.#route(wire, head, `${remote} #${id}`);
      await this.#answer(wire, answer);
      if (!answer.isBodyRead && head.body.kind !== "none") await wire.lingerClose();
    } catch (err) {
      if (this.#closing && !entry.busy) return; // an idle connection closed by drain()
      if (isConnectionError(err)) {
        // Reset, TLS handshake refused, plain HTTP on the TLS port: nobody to answer.
        this.#options.log(
          `harvest: ${remote}${id ? ` #${id}` : ""}: connection lost (${err.name})`,
        );
        return;
      }
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : "Internal error";
      // A bug's reason goes to the log only (a name and a first line), never to the client.
      const logged = err instanceof HttpError ? message : `${message}: ${reasonOf(err)}`;
      this.#options.log(`harvest: ${remote}${id ? ` #${id}` : ""}: ${status} ${logged}`);
      await this.#answer(wire, jsonAnswer(status, { message })).catch(() => {});
      await wire.lingerClose();
    }
  }

  async #route(wire: WireConnection, head: RequestHead, source: string): Promise<Answer> {
    const path = head.target.split("?")[0];
    if (path === "/health") {
      if (head.method === "GET" || head.method === "HEAD") {
        return { status: 200, reason: "OK", body: head.method === "GET" ? "ok" : "" };
      }
      return methodNotAllowed("GET, HEAD");
    }
    if (path !== (this.#options.path ?? "/")) return jsonAnswer(404, { message: "Not Found" });
    if (head.method !== "POST") return methodNotAllowed("POST");
    if (!this.#isTokenValid(head.headers.get("x-messagesystems-webhook-token"))) {
      throw new HttpError(401, "Invalid X-MessageSystems-Webhook-Token in request headers");
    }
    const kind = payloadKindOf(head.headers.get("content-type"));
    if (!kind) throw new HttpError(400, "Unknown Content-Type in request headers");
    if (head.body.kind === "length" && head.body.length > this.#options.maxBytes) {
      throw new HttpError(413, `Request body larger than ${this.#options.maxBytes} bytes`);
    }
    if (head.body.kind !== "none" && head.headers.get("expect")?.toLowerCase() === "100-continue") {
      // RFC 9110 10.1.1: curl and others wait for this before sending a body.
      await wire.write(
        new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n"),
        new Deadline(WRITE_TIMEOUT_MS),
      );
    }
    const body = await wire.readBody(
      head,
      this.#options.maxBytes,
      new Deadline(this.#options.bodyTimeoutMs ?? 120_000),
    );
    const messages = messagesOf(kind, body, this.#options.maxMessages ?? 100);
    const results: MessageResult[] = [];
    for (const [i, message] of messages.entries()) {
      results.push(await this.#processor.process(message, `${source}.${i + 1}`, i + 1));
    }
    const isRetry = results.some((r) => r.status === "failed");
    return { ...jsonAnswer(isRetry ? 503 : 200, { results }), isBodyRead: true };
  }

  async #answer(wire: WireConnection, answer: Answer): Promise<void> {
    await wire.respond(
      answer.status,
      answer.reason,
      {
        "Content-Type": answer.body.startsWith("{")
          ? "application/json"
          : "text/plain; charset=utf-8",
        ...answer.headers,
      },
      new TextEncoder().encode(answer.body),
      new Deadline(WRITE_TIMEOUT_MS),
    );
  }
}

/** Errors of the connection itself, not of the request on it. */
function isConnectionError(err: unknown): err is Error {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.UnexpectedEof ||
    err instanceof Deno.errors.InvalidData || err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

function jsonAnswer(status: number, body: unknown): Answer {
  return { status, reason: REASONS[status] ?? "Error", body: JSON.stringify(body) };
}

function methodNotAllowed(allow: string): Answer {
  return { ...jsonAnswer(405, { message: "Method Not Allowed" }), headers: { Allow: allow } };
}
