/**
 * The delivery plugin contract. A plugin validates its own options (zod),
 * creates a transport without I/O, and the transport opens, delivers sealed
 * messages and closes. One rejected recipient is a result, not an exception;
 * a dead connection or a refused login is an exception (a SmimeError with
 * E_UNAVAILABLE, E_TEMPFAIL or E_AUTH carrying the server's reply verbatim).
 *
 * @module
 */
import type { z } from "zod";
import type { SealedMessage } from "../smime/sealed.ts";
import type { EnhancedStatus } from "../smtp/mod.ts";

export type { SealedMessage } from "../smime/sealed.ts";
export type { EnhancedStatus } from "../smtp/mod.ts";

/** What happened to one recipient. */
export type RecipientStatus = "accepted" | "rejected" | "deferred";

/**
 * Per-message delivery fields (a manifest line's) that override a profile's.
 * A plugin uses those its platform has and ignores the rest.
 */
export interface DeliveryFields {
  campaign_id?: string;
  metadata?: Record<string, unknown>;
  tags?: string[];
  virtual_mta?: string;
  job?: string;
  binding?: string;
}

/** One recipient's outcome, with the server's words. */
export interface RecipientResult {
  recipient: string;
  status: RecipientStatus;
  /** SMTP reply code (250, 550, 451...) or HTTP status for API plugins. */
  code?: number;
  /** Enhanced status code (RFC 3463), e.g. "5.7.1", when the server gave one. */
  enhanced?: EnhancedStatus;
  /** The server's reply text verbatim (multi-line replies joined with " / "). */
  response: string;
}

/** The outcome of delivering one message. */
export interface DeliveryResult {
  /** Exactly one entry per envelope recipient, in envelope order. */
  recipients: RecipientResult[];
  /** Queue id from the final 250, or the transmission id of an API. */
  id?: string;
  /** The final reply (SMTP end-of-data reply, or the API's summary). */
  response?: string;
  /**
   * true when the connection was lost after the final dot and before the
   * reply: the message may have been delivered (RFC 5321 6.1 ambiguity).
   */
  uncertain?: boolean;
}

/** Where a plugin reports what it does. Lines never contain secrets. */
export interface PluginContext {
  /** The old tool's progress lines: `Opened SMTP connection ...`, `OK - in 0.057 seconds`. */
  info(line: string): void;
  warn(line: string): void;
  /** Protocol transcript for --debug-smtp; undefined when off. Secrets redacted by the caller of this. */
  debug?: (line: string) => void;
}

/** A connection (or HTTP client) to one delivery target. */
export interface Transport {
  /** Connect, TLS, authenticate: fail fast with a SmimeError. */
  open(signal?: AbortSignal): Promise<void>;
  /**
   * Deliver one sealed message to its envelope recipients. Only sealing (or
   * an explicit `unsealed()`) makes a {@link SealedMessage}: nothing else
   * reaches a transport.
   *
   * @param fields the message's own campaign, metadata, virtual MTA...
   */
  deliver(
    message: SealedMessage,
    signal?: AbortSignal,
    fields?: DeliveryFields,
  ): Promise<DeliveryResult>;
  /** Idempotent; safe after a failed open. */
  close(): Promise<void>;
}

/**
 * What a run needs of where it delivers: a name, its defaults, and a
 * transport factory. Config plugins are one kind ({@link DeliveryPlugin});
 * writing to stdout or files (core/deliver/write.ts) is the other.
 */
export interface DeliveryTarget<O = unknown> {
  /** Config id and folder name, e.g. "smtp-generic". */
  readonly id: string;
  /** Option keys whose values are secrets (masked in every output). */
  readonly secrets: readonly string[];
  /** Delivery sessions a run uses by default (--sessions). */
  readonly sessions?: number;
  /** Most sessions the platform allows (SparkPost SMTP: about 10). */
  readonly maxSessions?: number;
  /** Messages in flight per session by default (--window): pipelined over SMTP. */
  readonly window?: number;
  /** Creates a transport; no I/O happens until open(). */
  create(options: O, context: PluginContext): Transport;
}

/** A delivery plugin: a target a config profile names, with its options schema. */
export interface DeliveryPlugin<O = unknown> extends DeliveryTarget<O> {
  /** One line for `--help` and `config check`. */
  readonly description: string;
  /** Validates the profile's options (flat keys); strict: unknown keys are errors. */
  readonly options: z.ZodType<O>;
  /**
   * Environment variables that set options, e.g. `{ host: "SMTP_HOST" }`
   * (precedence: flags > environment > config file).
   */
  readonly env?: Readonly<Record<string, string>>;
}
