/**
 * A raw SMTP client for tests: writes exactly the bytes it is given (bare
 * LFs, pipelined commands, broken dot-stuffing) and reads replies one by one.
 * No SMTP logic of its own, so it can play any client, right or wrong.
 *
 * @module
 */
import { bytesToLatin1 } from "../../core/bytes.ts";
import { connect } from "node:net";
import type { Socket } from "node:net";

/** A connection that sends raw bytes and reads whole SMTP replies. */
export class RawSmtpClient {
  /** Resolves when the server has closed the connection (or it broke). */
  readonly ended: Promise<void>;
  readonly #socket: Socket;
  #text = "";
  #waiters: { resolve: (reply: string) => void; reject: (err: Error) => void }[] = [];
  #isEnded = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Uint8Array) => {
      this.#text += bytesToLatin1(chunk);
      this.#deliver();
    });
    socket.on("error", () => {});
    this.ended = new Promise((resolve) => {
      socket.once("close", () => {
        this.#isEnded = true;
        this.#deliver();
        resolve();
      });
    });
  }

  /** Connects to `host:port`; the greeting is the first {@link reply}. */
  static connect(port: number, host = "127.0.0.1"): Promise<RawSmtpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawSmtpClient(socket));
      });
    });
  }

  /** Sends bytes as they are; strings go out as UTF-8. */
  write(data: string | Uint8Array): void {
    if (!this.#socket.destroyed) this.#socket.write(data);
  }

  /**
   * The next complete reply: its lines joined with "\n", without the final
   * CRLF (e.g. "250-host\n250 PIPELINING").
   *
   * @throws Error when the connection closes first
   */
  reply(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#deliver();
    });
  }

  /** The next `n` replies, in order. */
  async replies(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.reply());
    return out;
  }

  /** Whatever arrived and is not yet part of a returned reply. */
  get unread(): string {
    return this.#text;
  }

  /** Closes the connection and waits until it is closed. */
  async close(): Promise<void> {
    this.#socket.destroy();
    await this.ended;
  }

  #deliver(): void {
    while (this.#waiters.length > 0) {
      const end = this.#replyEnd();
      if (end < 0) break;
      const reply = this.#text.slice(0, end - 2).replaceAll("\r\n", "\n");
      this.#text = this.#text.slice(end);
      this.#waiters.shift()?.resolve(reply);
    }
    if (this.#isEnded) {
      for (const waiter of this.#waiters.splice(0)) {
        waiter.reject(new Error(`connection closed; unread: ${JSON.stringify(this.#text)}`));
      }
    }
  }

  /** Index just after the last line of the first complete reply, or -1. */
  #replyEnd(): number {
    let at = 0;
    while (true) {
      const crlf = this.#text.indexOf("\r\n", at);
      if (crlf < 0) return -1;
      // RFC 5321 4.2.1: "ddd-" continues a reply, "ddd " or "ddd" ends it.
      if (this.#text[at + 3] !== "-") return crlf + 2;
      at = crlf + 2;
    }
  }
}
