/**
 * The types of the harvest receiver: its options, the injected import step,
 * and the running server.
 *
 * @module
 */

/** What the receiver knows about one message when it hands it on. */
export interface HarvestMeta {
  /** Names the message in logs and errors: `<client ip> #<request>.<message>`. */
  source: string;
  /**
   * The single From address, lower-cased. With DKIM required it is the address
   * a passing, aligned signature vouches for; with DKIM off it is only what the
   * header says.
   */
  from: string;
  /** The `d=` of the DKIM signature that vouched for `from`; absent with DKIM off. */
  dkimDomain?: string;
  /** SMTP MAIL FROM as the platform saw it (SparkPost `msg_from`), when given. */
  msgFrom?: string;
  /** SMTP RCPT TO as the platform saw it (SparkPost `rcpt_to`), when given. */
  rcptTo?: string;
}

/** What the import step made of a message. */
export interface HarvestOutcome {
  status: "imported" | "updated" | "unchanged" | "refused";
  /** One line, no secrets, e.g. "alice@example.com (keys/alice@example.com.crt)". */
  detail: string;
}

/**
 * The import step, injected: verify the message's S/MIME signature, path and
 * From, then write `ADDRESS.crt` (atomically). Calls for one From address
 * never overlap (see KeyedLock); calls for different addresses may.
 *
 * It returns "refused" for a message that will never import (bad signature,
 * untrusted path): the platform is not asked to retry it. It throws for a
 * failure that may pass later: a SmimeError E_OUTPUT, E_TEMPFAIL,
 * E_UNAVAILABLE or E_INPUT, or any other error (a bug), which makes the
 * request answer 503 so the platform sends it again. Any other SmimeError is
 * taken as a refusal with its message as the reason.
 */
export type HarvestHandler = (bytes: Uint8Array, meta: HarvestMeta) => Promise<HarvestOutcome>;

/** How to run the receiver. */
export interface HarvestOptions {
  /** Address to listen on, e.g. "127.0.0.1" or "0.0.0.0". */
  hostname: string;
  /** TCP port; 0 picks a free one (see {@link HarvestServer.port}). */
  port: number;
  /** The path webhooks are posted to (default "/"); others get 404. */
  path?: string;
  /**
   * The shared secret expected in `X-MessageSystems-Webhook-Token`; when
   * absent, no token is asked for. Compared in constant time, never logged.
   */
  token?: string;
  /** The largest request body accepted, in bytes; more is answered 413. */
  maxBytes: number;
  /** The most relay events one request may carry (default 100). */
  maxMessages?: number;
  /** Serve HTTPS with this PEM certificate (chain) and key. */
  tls?: { certFile: string; keyFile: string };
  /** DKIM policy and the DNS server keys are looked up at. */
  dkim: {
    /** When false, no DKIM check (the From header is then trusted as written). */
    required: boolean;
    /** DNS server for DKIM keys; the system resolver when absent. */
    dnsServer?: { ipAddr: string; port: number };
  };
  /** The import step; see {@link HarvestHandler}. */
  handle: HarvestHandler;
  /** Receives one line per message and per refused request; no secrets. */
  log: (line: string) => void;
  /** Time a client has to send the request line and header fields (default 10 s). */
  headerTimeoutMs?: number;
  /** Time a client has to send the whole body (default 120 s). */
  bodyTimeoutMs?: number;
  /** Connections served at once (default 32); more are answered 503 at once. */
  maxConnections?: number;
}

/** A running receiver. */
export interface HarvestServer {
  /** The port it listens on (the one the OS picked for port 0). */
  port: number;
  /** Its base URL, e.g. "http://127.0.0.1:8025/". */
  url: string;
  /**
   * Stops accepting, closes connections that have not sent a request yet,
   * and resolves once every request in flight has been answered (a clean
   * stop on SIGTERM). Idempotent.
   */
  close(): Promise<void>;
}

/** One message's line in the answer. */
export interface MessageResult {
  /** 1-based position in the request. */
  message: number;
  /** "failed" means: may pass later, the request was answered 503. */
  status: HarvestOutcome["status"] | "failed";
  detail: string;
}
