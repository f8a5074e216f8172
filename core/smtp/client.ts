/**
 * The SMTP client: one connection, a queue of sends, pipelining when the
 * server offers it.
 *
 * @module
 */
import type { ByteSource } from "../bytes.ts";
import { SmimeError } from "../errors.ts";
import { SmtpConnection } from "./connection.ts";
import { checkEnvelopeAddress, DataBuffers, withAsciiKnown } from "./data.ts";
import { openSession } from "./handshake.ts";
import { normalisePin, tlsConnectOptions } from "./tls_options.ts";
import { type Job, localRefusal, runTransaction, type SentGroup } from "./transaction.ts";
import {
  DEFAULT_TIMEOUTS,
  type SmtpClientOptions,
  type SmtpEnvelope,
  type SmtpSendResult,
  type SmtpSession,
  type SmtpTimeouts,
} from "./types.ts";

/**
 * An SMTP client for one connection. Concurrent {@link send} calls are
 * queued and run in order; with PIPELINING each envelope goes in one write
 * and the next envelope follows the previous final dot.
 *
 * @example
 * ```ts
 * import { SmtpClient } from "./client.ts";
 *
 * // Type-checked, not run (it needs an MTA): core/smtp/mod.ts has one that runs.
 * export async function inject(bytes: Uint8Array): Promise<boolean> {
 *   const client = new SmtpClient({ host: "127.0.0.1", port: 25, tls: { mode: "auto" } });
 *   await client.connect();
 *   try {
 *     const result = await client.send({ from: "a@example.com", to: ["b@example.com"] }, bytes);
 *     return result.recipients.every((r) => r.accepted);
 *   } finally {
 *     await client.close();
 *   }
 * }
 * ```
 */
export class SmtpClient {
  #options: SmtpClientOptions;
  #timeouts: SmtpTimeouts;
  #conn?: SmtpConnection;
  #session?: SmtpSession;
  #sent = 0;
  #queue: Job[] = [];
  #pump?: Promise<void>;
  /** Set and cleared synchronously, so a send() racing the pump's end is never stranded. */
  #running = false;
  #closing?: Promise<void>;
  #buffers = new DataBuffers();

  /**
   * @throws {SmimeError} E_CONFIG for an EHLO name with spaces or control characters,
   *   or a pin that is not 64 hex digits
   */
  constructor(options: SmtpClientOptions) {
    this.#options = options;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    // deno-lint-ignore no-control-regex
    if (options.ehloName !== undefined && !/^[^\x00-\x20\x7f]+$/.test(options.ehloName)) {
      throw new SmimeError(
        "E_CONFIG",
        `Cannot use ${JSON.stringify(options.ehloName)} as EHLO name`,
      );
    }
    if (options.tls.pinnedSha256 !== undefined) normalisePin(options.tls.pinnedSha256);
  }

  /** What the server offered; undefined before {@link connect} succeeds. */
  get session(): SmtpSession | undefined {
    return this.#session;
  }

  /** Transactions that reached the final dot on this connection. */
  get messagesSent(): number {
    return this.#sent;
  }

  /** False before connect, after close, 421, a timeout or a dropped connection. */
  get isOpen(): boolean {
    return !!this.#session && !!this.#conn?.isOpen && !this.#closing;
  }

  get #where(): string {
    return `${this.#options.host}:${this.#options.port}`;
  }

  /**
   * Connects, reads the greeting, says EHLO, starts TLS and logs in.
   *
   * @throws {SmimeError} E_UNAVAILABLE (cannot connect, 554, TLS required or
   *   untrusted), E_TEMPFAIL (4xx, 421, timeouts), E_AUTH, E_CONFIG; the
   *   signal's reason when aborted
   */
  async connect(signal?: AbortSignal): Promise<SmtpSession> {
    if (this.#conn || this.#closing) throw new Error("SmtpClient.connect() called twice");
    const { host, port, tls } = this.#options;
    const tlsOptions = tls.mode === "implicit" ? tlsConnectOptions(host, tls) : undefined;
    const t = this.#timeouts;
    const conn = await SmtpConnection.open(
      host,
      port,
      tlsOptions,
      t.connect,
      signal,
      this.#options.transcript,
    );
    this.#conn = conn;
    const onAbort = () => conn.fail(signal?.reason, "abort");
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.#session = await openSession(conn, this.#options, t);
      return this.#session;
    } catch (err) {
      conn.fail(err, "closed");
      await conn.closed();
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Sends one message to the envelope's recipients. A refused recipient is a
   * result, not an exception.
   *
   * @param message the message bytes, any line ends (made CRLF and dot-stuffed here); or a
   *   source, made piece by piece while it is sent (a large message is never whole): if
   *   making it fails part way, the connection is dropped before the final dot
   * @throws {SmimeError} E_MESSAGE for an unsafe envelope address; E_TEMPFAIL
   *   when the connection is closed, lost before the final dot, timed out or got 421;
   *   the signal's reason when aborted
   */
  send(
    envelope: SmtpEnvelope,
    message: Uint8Array | ByteSource,
    signal?: AbortSignal,
  ): Promise<SmtpSendResult> {
    let body: Uint8Array | ByteSource;
    try {
      checkEnvelopeAddress(envelope.from, true);
      if (envelope.to.length === 0) throw new SmimeError("E_MESSAGE", "Cannot send: no recipients");
      for (const to of envelope.to) checkEnvelopeAddress(to, false);
      signal?.throwIfAborted();
      if (!this.isOpen) throw this.#deadError();
      body = withAsciiKnown(message);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<SmtpSendResult>((resolve, reject) => {
      const onAbort = () => {
        const queued = this.#queue.indexOf(job);
        if (queued >= 0) this.#queue.splice(queued, 1);
        else {
          const err = new SmimeError(
            "E_TEMPFAIL",
            `Cannot send via ${this.#where}: a send was aborted`,
          );
          this.#conn?.fail(err, "abort");
        }
        reject(signal?.reason);
      };
      const done = () => signal?.removeEventListener("abort", onAbort);
      const job: Job = {
        envelope,
        message: body,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(job);
      if (!this.#running) {
        this.#running = true;
        this.#pump = this.#run();
      }
    });
  }

  #deadError(): SmimeError {
    const failure = this.#conn?.failure;
    if (failure instanceof SmimeError && failure.code === "E_TEMPFAIL") return failure;
    return new SmimeError(
      "E_TEMPFAIL",
      `Cannot send via ${this.#where}: the connection is not open`,
      {
        cause: failure,
      },
    );
  }

  /** Takes the next job that needs the server, settling local refusals on the way. */
  #takeNext = (): Job | undefined => {
    for (;;) {
      const job = this.#queue.shift();
      if (!job) return undefined;
      const refused = localRefusal(this.#session!, job.envelope, job.message);
      if (!refused) return job;
      job.resolve(refused);
    }
  };

  async #run(): Promise<void> {
    const conn = this.#conn!;
    const ctx = {
      conn,
      session: this.#session!,
      timeouts: this.#timeouts,
      pipelining: this.#session!.extensions.has("PIPELINING"),
      buffers: this.#buffers,
    };
    let job = this.#takeNext();
    let sent: SentGroup | undefined;
    while (job) {
      if (!conn.isOpen) {
        job.reject(this.#deadError());
        sent = undefined;
        job = this.#takeNext();
        continue;
      }
      const current: Job = job;
      let taken: Job | undefined;
      const take = () => (taken = this.#takeNext());
      try {
        const outcome = await runTransaction(ctx, current, sent, take);
        if (outcome.reachedEnd) this.#sent++;
        current.resolve(outcome.result);
        job = outcome.next?.job ?? this.#takeNext();
        sent = outcome.next?.group;
      } catch (err) {
        current.reject(err);
        // A job whose commands went behind the dot dies with the connection.
        taken?.reject(this.#deadError());
        sent = undefined;
        job = this.#takeNext();
      }
    }
    this.#running = false;
  }

  /** Sends QUIT (waiting at most the quit timeout), then closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return;
    await this.#pump;
    if (conn.isOpen) {
      try {
        const bye = conn.expect("QUIT", this.#timeouts.quit);
        bye.catch(() => {});
        await conn.command(["QUIT"], this.#timeouts.quit);
        await bye;
      } catch {
        // Closing anyway.
      }
    }
    conn.fail(new SmimeError("E_TEMPFAIL", `Connection to ${this.#where} was closed`), "closed");
    await conn.closed();
  }
}
