/**
 * Just enough HTTP/1.1 (RFC 9112) to receive webhooks from a hostile
 * network: one request per connection, a bounded head, a bounded body read
 * while it streams in, and a deadline on every read and write.
 *
 * Why not `Deno.serve` or `node:http`: neither bounds how long a client may
 * take to send its header fields in Deno 2 (a connection that sends half a
 * request line was still open after 120 s, measured here), and a webhook
 * receiver on the internet must not be held open by slow clients. With one
 * request per connection and `Connection: close` on every answer there is no
 * keep-alive, no pipelining, and so no request smuggling between requests.
 *
 * @module
 */

import { bytesToLatin1, concatBytes } from "../bytes.ts";

/** A request the receiver can't or won't read; `status` is the answer. */
export class HttpError extends Error {
  /** The HTTP status to answer with, e.g. 400, 408, 413. */
  readonly status: number;

  /**
   * @param status HTTP status for the answer
   * @param message one line for the answer and the log
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/** A request line and its header fields; the body is still on the wire. */
export interface RequestHead {
  /** As sent, e.g. "POST"; methods are case-sensitive (RFC 9110 9.1). */
  method: string;
  /** The request target as sent, e.g. "/" or "/health?x=1". */
  target: string;
  /** Header fields by lower-cased name; repeated fields joined with ", ". */
  headers: Map<string, string>;
  /** How the body is framed: none, a length, or chunked. */
  body: { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };
}

/** A point in time after which every read or write fails with 408. */
export class Deadline {
  readonly #at: number;

  /** @param ms how long from now */
  constructor(ms: number) {
    this.#at = Date.now() + ms;
  }

  /** Settles like `work`, or rejects with HttpError 408 once the deadline passes. */
  async race<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HttpError(408, `Request timeout: ${what} took too long`)),
        Math.max(0, this.#at - Date.now()),
      );
    });
    // The losing read is still pending on a connection that is about to be
    // closed: its rejection is expected and not an error of anyone's.
    work.catch(() => {});
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const CRLF_CRLF = [13, 10, 13, 10];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// deno-lint-ignore no-control-regex -- refusing controls in field values is the point
const FIELD_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;
const utf8 = new TextEncoder();

/** Reads requests from, and writes answers to, one connection. */
export class WireConnection {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array = new Uint8Array(0);
  readonly #scratch = new Uint8Array(64 * 1024);

  /** @param conn an accepted TCP or TLS connection */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * Reads the request line and header fields.
   *
   * @param maxBytes the largest head accepted (431 beyond it)
   * @param deadline when the head must be complete (408 after it)
   * @returns the head, or null when the client closed without a request
   * @throws {HttpError} 400 for a malformed head, 431, 408, 501
   */
  async readHead(maxBytes: number, deadline: Deadline): Promise<RequestHead | null> {
    let end: number;
    while ((end = indexOf(this.#buffer, CRLF_CRLF)) < 0) {
      if (this.#buffer.length > maxBytes) {
        throw new HttpError(431, `Request header fields too large (over ${maxBytes} bytes)`);
      }
      if (!await this.#fill(deadline, "the request head")) {
        if (this.#buffer.length === 0) return null;
        throw new HttpError(400, "Bad request: connection closed inside the request head");
      }
    }
    if (end > maxBytes) {
      throw new HttpError(431, `Request header fields too large (over ${maxBytes} bytes)`);
    }
    const text = bytesToLatin1(this.#buffer.subarray(0, end));
    this.#buffer = this.#buffer.slice(end + 4);
    return parseHead(text);
  }

  /**
   * Reads the whole body, never holding more than `maxBytes` of it.
   *
   * @throws {HttpError} 413 past `maxBytes` (for a declared length before
   *   reading any of it), 400 for bad chunk framing or an early close, 408
   */
  async readBody(head: RequestHead, maxBytes: number, deadline: Deadline): Promise<Uint8Array> {
    const framing = head.body;
    if (framing.kind === "none") return new Uint8Array(0);
    if (framing.kind === "length") {
      if (framing.length > maxBytes) throw tooLarge(maxBytes);
      return await this.#readExact(framing.length, deadline);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const line = await this.#readLine(deadline);
      const size = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/.exec(line);
      if (!size) throw new HttpError(400, "Bad request: malformed chunk size line");
      const length = parseInt(size[1]!, 16);
      if (length === 0) break;
      total += length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      parts.push(await this.#readExact(length, deadline));
      if ((await this.#readLine(deadline)) !== "") {
        throw new HttpError(400, "Bad request: chunk data not followed by CRLF");
      }
    }
    // Trailer fields (RFC 9112 7.1.2) are read and dropped, within the same bound.
    let trailers = 0;
    for (
      let line = await this.#readLine(deadline);
      line !== "";
      line = await this.#readLine(deadline)
    ) {
      trailers += line.length;
      if (trailers > 8192) throw new HttpError(431, "Request trailer fields too large");
    }
    const body = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      body.set(part, offset);
      offset += part.length;
    }
    return body;
  }

  /**
   * Writes one answer and asks the client to close (one request per
   * connection).
   */
  async respond(
    status: number,
    reason: string,
    headers: Record<string, string>,
    body: Uint8Array,
    deadline: Deadline,
  ): Promise<void> {
    let head = `HTTP/1.1 ${status} ${reason}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    await this.write(concatBytes([utf8.encode(head), body]), deadline);
  }

  /** Writes all of `bytes` before the deadline. */
  async write(bytes: Uint8Array, deadline: Deadline): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      written += await deadline.race(
        this.#conn.write(bytes.subarray(written)),
        "writing the answer",
      );
    }
  }

  /**
   * Closes after an answer sent before the request was read to its end:
   * our side first, then whatever the client still sends is read and dropped
   * for a moment. Closing with unread data makes the kernel send a reset,
   * which can destroy the answer before the client reads it (the "lingering
   * close" of Apache and nginx).
   */
  async lingerClose(ms = 2000): Promise<void> {
    try {
      await this.#conn.closeWrite();
      const deadline = new Deadline(ms);
      for (let total = 0; total < 1024 * 1024;) {
        const n = await deadline.race(this.#conn.read(this.#scratch), "the rest of the request");
        if (n === null) break;
        total += n;
      }
    } catch {
      // Timed out or reset: close anyway.
    }
    this.close();
  }

  /** Closes the connection; safe to call twice. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Appends what the next read brings; false at end of stream. */
  async #fill(deadline: Deadline, what: string): Promise<boolean> {
    const n = await deadline.race(this.#conn.read(this.#scratch), what);
    if (n === null) return false;
    this.#buffer = concatBytes([this.#buffer, this.#scratch.subarray(0, n)]);
    return true;
  }

  async #readExact(length: number, deadline: Deadline): Promise<Uint8Array> {
    if (this.#buffer.length >= length) {
      const out = this.#buffer.slice(0, length);
      this.#buffer = this.#buffer.slice(length);
      return out;
    }
    const out = new Uint8Array(length);
    out.set(this.#buffer);
    let filled = this.#buffer.length;
    this.#buffer = new Uint8Array(0);
    while (filled < length) {
      const n = await deadline.race(this.#conn.read(out.subarray(filled)), "the request body");
      if (n === null) throw new HttpError(400, "Bad request: connection closed inside the body");
      filled += n;
    }
    return out;
  }

  /** One CRLF-terminated line of chunk framing, at most 1 KiB. */
  async #readLine(deadline: Deadline): Promise<string> {
    let end: number;
    while ((end = indexOf(this.#buffer, [13, 10])) < 0) {
      if (this.#buffer.length > 1024) throw new HttpError(400, "Bad request: chunk line too long");
      if (!await this.#fill(deadline, "the request body")) {
        throw new HttpError(400, "Bad request: connection closed inside the body");
      }
    }
    if (end > 1024) throw new HttpError(400, "Bad request: chunk line too long");
    const line = bytesToLatin1(this.#buffer.subarray(0, end));
    this.#buffer = this.#buffer.slice(end + 2);
    return line;
  }
}

/**
 * Parses a request head (without the final CRLF CRLF).
 *
 * @throws {HttpError} 400 for anything RFC 9112 does not allow or that could
 *   be framed two ways (both Content-Length and Transfer-Encoding, two
 *   different lengths, bare CR or LF); 501 for a transfer coding other than
 *   chunked; 505 for a version other than HTTP/1.0 or 1.1
 */
export function parseHead(text: string): RequestHead {
  const lines = text.split("\r\n");
  const requestLine = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d\.\d)$/.exec(lines[0] ?? "");
  if (!requestLine) throw new HttpError(400, "Bad request: malformed request line");
  const [, method, target, version] = requestLine;
  if (version !== "1.1" && version !== "1.0") {
    throw new HttpError(505, `HTTP version ${version} not supported`);
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    // No obs-fold (RFC 9112 5.2), no space before the colon (5.1), no bare CR/LF.
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new HttpError(400, "Bad request: malformed header field");
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) {
      throw new HttpError(400, "Bad request: control character in a header field");
    }
    const key = name.toLowerCase();
    const previous = headers.get(key);
    headers.set(key, previous === undefined ? value : `${previous}, ${value}`);
  }
  return { method: method!, target: target!, headers, body: framingOf(headers) };
}

function framingOf(headers: Map<string, string>): RequestHead["body"] {
  const coding = headers.get("transfer-encoding");
  const length = headers.get("content-length");
  if (coding !== undefined && length !== undefined) {
    // RFC 9112 6.1: such a message "ought to be handled as an error".
    throw new HttpError(400, "Bad request: both Transfer-Encoding and Content-Length");
  }
  if (coding !== undefined) {
    if (coding.toLowerCase() !== "chunked") {
      throw new HttpError(501, `Transfer-Encoding "${coding.slice(0, 40)}" not implemented`);
    }
    return { kind: "chunked" };
  }
  if (length === undefined) return { kind: "none" };
  const values = new Set(length.split(",").map((v) => v.trim()));
  const only = [...values][0] ?? "";
  if (values.size !== 1 || !/^\d{1,15}$/.test(only)) {
    throw new HttpError(400, "Bad request: invalid Content-Length");
  }
  const n = Number(only);
  return n === 0 ? { kind: "none" } : { kind: "length", length: n };
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `Request body larger than ${maxBytes} bytes`);
}

function indexOf(haystack: Uint8Array, needle: number[]): number {
  const first = needle[0]!;
  for (let i = haystack.indexOf(first); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
