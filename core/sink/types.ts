/**
 * The types of the sink: its options, its programmable faults and what it
 * stores.
 *
 * @module
 */

/** How a {@link SinkServer} listens, stores and (for tests) misbehaves. */
export interface SinkOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 picks any free port (read it from {@link SinkServer.port}). */
  port: number;
  /**
   * Folder to store each accepted message in, as `<id>.eml` (the exact bytes)
   * and `<id>.json` (the envelope). Created when missing. Without it the sink
   * only keeps {@link SinkServer.received} in memory.
   */
  dir?: string;
  /**
   * Refuse bare CR and bare LF anywhere in commands or DATA with
   * `500 5.5.2`, as a receiver that defends against SMTP smuggling does
   * (CVE-2023-51764). Default true. When false, a bare LF ends a line, as in
   * Postfix before 3.9, so `\n.\n` ends the message.
   */
  strict?: boolean;
  /** Largest message accepted (SIZE, RFC 1870) in bytes; default 50 MB. */
  maxSize?: number;
  /**
   * How many messages {@link SinkServer.received} keeps in memory; default 10,000, and never
   * more than 256 MB of them. 0 = count only (use {@link SinkServer.count}).
   */
  keep?: number;
  /** The name in the greeting and the EHLO reply; default "sink.smimepost.invalid". */
  hostname?: string;
  /** Receives one line per connection, message and refusal. */
  log?: (line: string) => void;
  /** Programmable misbehaviour, for fault tests. */
  faults?: SinkFaults;
}

/** Programmable misbehaviour: each hook answers for one step of the dialogue. */
export interface SinkFaults {
  /** Greeting line instead of 220 (e.g. "421 4.3.2 busy"); a non-2xx greeting closes the connection. */
  greeting?: string;
  /**
   * Reply line to a RCPT instead of 250 (e.g. "550 5.1.1 no such user",
   * "452 4.2.2 mailbox full"); `n` counts the RCPT commands of the
   * transaction from 1. A 2xx line accepts the recipient; undefined = 250.
   */
  onRcpt?: (address: string, n: number) => string | undefined;
  /**
   * Reply line after the final dot instead of 250, or "drop" to close the
   * connection without replying. Only messages answered 2xx are stored.
   */
  onDataEnd?: (message: StoredMessage) => string | "drop" | undefined;
  /** Called as DATA arrives with the bytes received so far; true closes the connection at once. */
  dropDuringData?: (bytesSoFar: number) => boolean;
  /** Wait this long before each reply. */
  replyDelayMs?: number;
  /** Advertise STARTTLS, but answer it "454 4.7.0 TLS not available". */
  offerStarttls?: boolean;
}

/** One message as the sink received it. */
export interface StoredMessage {
  /** Queue id, also the file name in the store folder. */
  id: string;
  /** Reverse path, without angle brackets ("" for the null sender). */
  mailFrom: string;
  /** Accepted recipients, in order. */
  rcptTo: string[];
  /** The message after dot-unstuffing, line ends as received. */
  data: Uint8Array;
  /** ISO 8601 time of the final dot. */
  receivedAt: string;
  /** The client's address and port, e.g. "127.0.0.1:40312". */
  client: string;
}

/** A running sink. */
export interface SinkServer {
  /** The port it listens on (the real one when started with port 0). */
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  /** The last accepted messages, oldest first (at most {@link SinkOptions.keep}). */
  readonly received: StoredMessage[];
  /** How many messages it has accepted since it started. */
  readonly count: number;
  /** Stops listening, finishes pending writes, closes every connection. Idempotent. */
  close(): Promise<void>;
}
