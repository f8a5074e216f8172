/**
 * One SMTP socket: connect (TCP or implicit TLS), STARTTLS upgrade, writes
 * that respect backpressure, and replies handed out in order to waiting
 * commands, each with its own timeout (RFC 5321 4.5.3.2).
 *
 * Once anything goes wrong (timeout, lost connection, 421, garbage, abort)
 * the connection is dead: the socket is destroyed and every waiter is
 * rejected with the same error. Nothing here knows about transactions.
 *
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { SmimeError } from "../errors.ts";
import { ReplyParser } from "./reply.ts";
import { isTlsFailure, tlsError } from "./tls_options.ts";
import type { SmtpReply } from "./types.ts";

/** The longest delay setTimeout() takes (larger ones fire at once). */
const MAX_DELAY = 2 ** 31 - 1;

/** Why a connection died. */
export type FailureKind = "lost" | "timeout" | "421" | "garbage" | "abort" | "closed";

interface Waiter {
  label: string;
  timeout: number;
  resolve(reply: SmtpReply): void;
  reject(err: unknown): void;
  /** performance.now() by which the reply must have come; set once it is the head. */
  deadline?: number;
  discardAfter?: boolean;
}

/** Seconds for messages: 300000 → "300 s", 250 → "0.25 s". */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function socketReason(err: unknown): string {
  const code = (err as { code?: string })?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ECONNRESET") return "connection reset by peer";
  if (code === "ETIMEDOUT") return "timed out";
  return err instanceof Error ? (err.message.split("\n")[0] ?? String(err)) : String(err);
}

/** Bytes handed to the socket but not yet written, past which {@link SmtpConnection.write} waits. */
const MAX_UNWRITTEN = 512 * 1024;

/** A live SMTP socket with an in-order reply queue. */
export class SmtpConnection {
  /** "host:port", for messages. */
  readonly where: string;
  #socket: net.Socket;
  #plain?: net.Socket;
  #parser = new ReplyParser();
  #waiters: Waiter[] = [];
  #failure: unknown;
  #failureKind?: FailureKind;
  #discarding = false;
  #closed: Promise<void>;
  #log?: (line: string) => void;
  /** The one reply timer, armed to fire at #armedAt (performance.now() ms). */
  #timer?: ReturnType<typeof setTimeout>;
  #armedAt = 0;
  /** Bytes handed to the socket whose write has not completed yet. */
  #unwritten = 0;
  /** Called whenever a write completes: the writers waiting for room. */
  #onWritten = new Set<() => void>();

  private constructor(socket: net.Socket, where: string, log?: (line: string) => void) {
    this.#socket = socket;
    this.where = where;
    this.#log = log;
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    this.#attach(socket);
  }

  /**
   * Opens TCP (or TLS when `tlsOptions` is given) with TCP_NODELAY set: without
   * it a 19 KB message over TLS stalls ~44 ms (Nagle + delayed ACK).
   *
   * @throws {SmimeError} E_UNAVAILABLE "Cannot connect to host:port: <reason>"
   */
  static async open(
    host: string,
    port: number,
    tlsOptions: tls.ConnectionOptions | undefined,
    timeout: number,
    signal: AbortSignal | undefined,
    log?: (line: string) => void,
  ): Promise<SmtpConnection> {
    const where = `${host}:${port}`;
    signal?.throwIfAborted();
    const socket = tlsOptions
      ? tls.connect({ host, port, ...tlsOptions })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`timed out after ${formatSeconds(timeout)}`));
        }, timeout);
        const onAbort = () => reject(signal?.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        };
        socket.once(tlsOptions ? "secureConnect" : "connect", () => {
          done();
          resolve();
        });
        socket.once("error", (err) => {
          done();
          reject(err);
        });
      }).finally(() => socket.removeAllListeners("error"));
    } catch (err) {
      socket.on("error", () => {});
      socket.destroy();
      await closed;
      if (signal?.aborted && err === signal.reason) throw err;
      if (tlsOptions && isTlsFailure(err)) throw tlsError(err, where);
      throw new SmimeError("E_UNAVAILABLE", `Cannot connect to ${where}: ${socketReason(err)}`, {
        cause: err,
      });
    }
    return new SmtpConnection(socket, where, log);
  }

  /** This end's IP address (for the EHLO address literal). */
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  /** The TLS socket when TLS is on, for protocol and cipher. */
  get tlsSocket(): tls.TLSSocket | undefined {
    return this.#socket instanceof tls.TLSSocket ? this.#socket : undefined;
  }

  /** True until the connection fails or is closed. */
  get isOpen(): boolean {
    return this.#failureKind === undefined;
  }

  /** Why the connection died, when it has. */
  get failureKind(): FailureKind | undefined {
    return this.#failureKind;
  }

  /** The error every later call gets, once the connection is dead. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Transcript line, when a transcript is on. */
  log(line: string): void {
    this.#log?.(line);
  }

  /** True when a transcript is on: lines worth formatting. */
  get isLogging(): boolean {
    return this.#log !== undefined;
  }

  #attach(socket: net.Socket): void {
    socket.on("data", this.#onData);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  #detach(socket: net.Socket): void {
    socket.off("data", this.#onData);
    socket.off("error", this.#onError);
    socket.off("close", this.#onClose);
  }

  #onData = (chunk: Uint8Array): void => {
    if (this.#discarding || this.#failureKind) return;
    this.#parser.push(chunk);
    for (;;) {
      let reply: SmtpReply | undefined;
      try {
        reply = this.#parser.next();
      } catch (err) {
        this.fail(err, "garbage");
        return;
      }
      if (!reply) return;
      this.#onReply(reply);
      if (this.#discarding || this.#failureKind) return;
    }
  };

  #onReply(reply: SmtpReply): void {
    if (this.#log) {
      const last = reply.lines.length - 1;
      const enh = reply.enhanced ? `${reply.enhanced} ` : "";
      reply.lines.forEach((l, i) =>
        this.#log!(`S: ${reply.code}${i < last ? "-" : " "}${enh}${l}`)
      );
    }
    const waiter = this.#waiters.shift();
    if (reply.code === 421) {
      // RFC 5321 3.8: 421 means the server is closing the channel.
      const err = new SmimeError(
        "E_TEMPFAIL",
        `SMTP server ${this.where} closed the connection: ${reply.text}`,
      );
      waiter?.reject(err);
      this.fail(err, "421");
      return;
    }
    if (!waiter) {
      this.#log?.("*: ignored an unexpected reply");
      return;
    }
    if (waiter.discardAfter && reply.code === 220) {
      // RFC 3207 4.2 / CVE-2011-0411: nothing read before the handshake may be used after it.
      this.#discarding = true;
      const dropped = this.#parser.discard();
      if (dropped > 0) {
        this.#log?.(`*: discarded ${dropped} bytes received before the TLS handshake`);
      }
    }
    this.#startHeadClock();
    waiter.resolve(reply);
  }

  #onError = (err: unknown): void => {
    this.fail(this.#lostError(socketReason(err), err), "lost");
  };

  #onClose = (): void => {
    this.fail(this.#lostError("closed by the server"), "lost");
  };

  #lostError(reason: string, cause?: unknown): SmimeError {
    const head = this.#waiters[0];
    const during = head ? ` while waiting for the reply to ${head.label}` : "";
    return new SmimeError("E_TEMPFAIL", `Connection to ${this.where} lost${during}: ${reason}`, {
      cause,
    });
  }

  /**
   * Starts the head waiter's clock (every earlier reply has arrived) and sees
   * that the one timer fires no later than its deadline. A timer per command
   * cost more CPU than the reply parsing; the one timer is armed again only
   * for an earlier deadline than the armed one, or after it fired early. It
   * stays armed while no reply is due (the open socket keeps the process
   * alive anyway) and is cleared when the connection dies.
   */
  #startHeadClock(): void {
    const head = this.#waiters[0];
    if (!head || head.deadline !== undefined) return;
    head.deadline = performance.now() + head.timeout;
    if (this.#timer === undefined || head.deadline < this.#armedAt) this.#arm(head.deadline);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#armedAt = at;
    // setTimeout() takes at most 2^31 - 1 ms; a later deadline is checked again then.
    const delay = Math.min(MAX_DELAY, Math.max(1, at - performance.now()));
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    const head = this.#waiters[0];
    if (!head || head.deadline === undefined) return;
    if (performance.now() < head.deadline) {
      this.#arm(head.deadline);
      return;
    }
    const err = new SmimeError(
      "E_TEMPFAIL",
      `Cannot go on with ${this.where}: timeout waiting for reply to ${head.label} after ` +
        formatSeconds(head.timeout),
    );
    this.fail(err, "timeout");
  };

  /**
   * Waits for the next reply in order, as the reply to `label`. The timeout
   * starts when every earlier reply has arrived.
   *
   * @param discardAfter drop every byte received after this reply (STARTTLS)
   */
  expect(label: string, timeout: number, discardAfter = false): Promise<SmtpReply> {
    if (this.#failureKind) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ label, timeout, resolve, reject, discardAfter });
      this.#startHeadClock();
    });
  }

  /**
   * Writes bytes, several chunks in one go when given a list (corked: one
   * writev); when the socket's buffer is full, or more than
   * {@link MAX_UNWRITTEN} bytes are still being written, waits for room, at
   * most `timeout` ms (the data-block timeout). Deno's sockets take every
   * write at once and seldom ask for 'drain', so the bytes of writes given
   * `written` (message data) not yet written are counted too: a message made
   * piece by piece while it is sent (copies of a 95 MB source) must not
   * pile up in the socket.
   *
   * @param written called for each chunk once the socket has written it, with
   *   the error instead when it never will
   * @throws the connection's failure when it is dead or dies meanwhile
   */
  async write(
    chunk: Uint8Array | string | readonly (Uint8Array | string)[],
    timeout: number,
    label: string,
    written?: (chunk: Uint8Array | string, err?: Error | null) => void,
  ): Promise<void> {
    if (this.#failureKind) throw this.#failure;
    const socket = this.#socket;
    // Message data (given with `written`) is counted until written; a command line is short
    // and goes without a callback, as a callback per write costs every message CPU.
    const put = written
      ? (c: Uint8Array | string) => {
        this.#unwritten += c.length;
        socket.write(c, (err) => {
          this.#unwritten -= c.length;
          written(c, err);
          if (this.#onWritten.size > 0) { for (const wake of this.#onWritten) wake(); }
        });
      }
      : (c: Uint8Array | string) => socket.write(c);
    if (typeof chunk === "string" || chunk instanceof Uint8Array) put(chunk);
    else {
      socket.cork();
      for (const c of chunk) put(c);
      socket.uncork();
    }
    const hasRoom = () => !socket.writableNeedDrain && this.#unwritten <= MAX_UNWRITTEN;
    if (hasRoom()) return;
    await new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        socket.off("drain", onDrain);
        socket.off("close", onClose);
        this.#onWritten.delete(onDrain);
      };
      const onDrain = () => {
        if (!hasRoom()) return;
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(this.#failure ?? this.#lostError("closed by the server"));
      };
      const timer = setTimeout(() => {
        cleanup();
        const err = new SmimeError(
          "E_TEMPFAIL",
          `Cannot go on with ${this.where}: timeout sending ${label} after ${
            formatSeconds(timeout)
          }`,
        );
        this.fail(err, "timeout");
        reject(err);
      }, timeout);
      socket.on("drain", onDrain);
      socket.on("close", onClose);
      this.#onWritten.add(onDrain);
    });
  }

  /** Writes a command line (or several, pipelined) and logs them, secrets as given. */
  async command(lines: string[], timeout: number, shown?: string[]): Promise<void> {
    for (const line of shown ?? lines) this.#log?.(`C: ${line}`);
    await this.write(lines.map((l) => l + "\r\n").join(""), timeout, lines[0]!.split(" ")[0]!);
  }

  /**
   * Replaces the plain socket by a TLS one over it (STARTTLS, RFC 3207).
   * Bytes after the 220 were already discarded by {@link expect}.
   */
  async upgrade(options: tls.ConnectionOptions, timeout: number): Promise<tls.TLSSocket> {
    const plain = this.#socket;
    this.#detach(plain);
    plain.on("error", () => {});
    this.#parser.discard();
    const secure = tls.connect({ ...options, socket: plain });
    this.#plain = plain;
    this.#socket = secure;
    this.#closed = Promise.all([this.#closed, new Promise((r) => secure.once("close", r))])
      .then(() => {});
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out after ${formatSeconds(timeout)}`)),
          timeout,
        );
        secure.once("secureConnect", () => {
          clearTimeout(timer);
          resolve();
        });
        secure.once("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
        plain.once("close", () => {
          clearTimeout(timer);
          reject(new Error("connection closed during the TLS handshake"));
        });
      });
    } catch (err) {
      secure.on("error", () => {});
      this.#attach(secure);
      const e = tlsError(err, this.where);
      this.fail(e, "lost");
      throw e;
    }
    secure.removeAllListeners("error");
    this.#discarding = false;
    this.#attach(secure);
    return secure;
  }

  /** Kills the connection: rejects every waiter with `err`, destroys the socket. */
  fail(err: unknown, kind: FailureKind): void {
    if (this.#failureKind) return;
    this.#failure = err;
    this.#failureKind = kind;
    const waiters = this.#waiters;
    this.#waiters = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of waiters) w.reject(err);
    this.#socket.destroy();
    this.#plain?.destroy();
  }

  /** Resolves once the socket has closed (after {@link fail}). */
  closed(): Promise<void> {
    return this.#closed;
  }
}
