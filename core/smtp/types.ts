/**
 * The public types of the SMTP client: options, timeouts, replies, the
 * session the server offered and the outcome of one transaction.
 *
 * @module
 */

/**
 * How the client uses TLS. `auto`: STARTTLS when the server offers it;
 * `require`: fail when it is not offered; `never`: plain text only;
 * `implicit`: TLS from the first byte (port 465, RFC 8314).
 */
export type TlsMode = "auto" | "require" | "never" | "implicit";

/** How the server's certificate is checked. */
export interface SmtpTlsOptions {
  mode: TlsMode;
  /** PEM text of trust anchors (a private MTA); replaces the system roots when given. */
  ca?: string;
  /**
   * Hex SHA-256 of the server's leaf certificate (DER), colons allowed: that
   * certificate and no other is accepted, even a self-signed one.
   */
  pinnedSha256?: string;
  /** Skip verification entirely (the caller prints a warning). */
  insecure?: boolean;
  /** SNI and the name to verify; defaults to the host unless it is an IP address. */
  servername?: string;
}

/** Per-command timeouts in milliseconds. */
export interface SmtpTimeouts {
  connect: number;
  greeting: number;
  ehlo: number;
  starttls: number;
  auth: number;
  mail: number;
  rcpt: number;
  dataInit: number;
  /** Longest wait for one block of message data to be taken by the socket. */
  dataBlock: number;
  dataEnd: number;
  rset: number;
  quit: number;
  /** Unused by the client itself; for pools that recycle idle connections. */
  idle?: number;
}

/**
 * How long close() waits for the reply to QUIT. RFC 5321 sets no QUIT
 * timeout, and by then every outcome is final: the reply changes nothing,
 * so a server that never answers must not hold the process (60 s per
 * process when each message is a run of one).
 */
export const QUIT_TIMEOUT_MS = 5_000;

/**
 * Defaults from RFC 5321 4.5.3.2 (greeting, MAIL, RCPT 5 min; DATA initiation
 * 2 min; data block 3 min; final dot 10 min); connect 30 s, QUIT
 * {@link QUIT_TIMEOUT_MS}, the rest 60 s.
 */
export const DEFAULT_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connect: 30_000,
  greeting: 300_000,
  ehlo: 60_000,
  starttls: 60_000,
  auth: 60_000,
  mail: 300_000,
  rcpt: 300_000,
  dataInit: 120_000,
  dataBlock: 180_000,
  dataEnd: 600_000,
  rset: 60_000,
  quit: QUIT_TIMEOUT_MS,
});

/** AUTH mechanisms the client speaks. `auto` picks PLAIN, then LOGIN, as offered. */
export type SmtpAuthMethod = "auto" | "plain" | "login" | "cram-md5";

/** Everything {@link SmtpClient} needs to reach and log in to one server. */
export interface SmtpClientOptions {
  host: string;
  port: number;
  tls: SmtpTlsOptions;
  auth?: { user: string; password: string; method?: SmtpAuthMethod };
  /** AUTH over an unencrypted connection is refused (E_CONFIG) unless true. */
  allowPlaintextAuth?: boolean;
  /**
   * The EHLO/HELO name; by default this host's fully qualified name, or the
   * address literal of the connection's end when it has none.
   */
  ehloName?: string;
  timeouts?: Partial<SmtpTimeouts>;
  /** Informational for callers that recycle connections; see `messagesSent`. */
  maxMessagesPerConnection?: number;
  /** Protocol transcript ("C: ...", "S: ...", "*: ..."); secrets are replaced by ****. */
  transcript?: (line: string) => void;
}

/**
 * An RFC 3463 enhanced status code, class.subject.detail, e.g. "5.7.1";
 * {@link isEnhancedStatus} checks a string read from elsewhere.
 */
export type EnhancedStatus = `${2 | 4 | 5}.${number}.${number}`;

/** True when `text` is an RFC 3463 enhanced status code (class 2, 4 or 5). */
export function isEnhancedStatus(text: string): text is EnhancedStatus {
  return /^[245]\.\d{1,3}\.\d{1,3}$/.test(text);
}

/** One SMTP reply, possibly multi-line. */
export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code, e.g. "5.7.1", when the server gave one. */
  enhanced?: EnhancedStatus;
  /** The text of each line, without code, separator and enhanced code. */
  lines: string[];
  /** The whole reply on one line: "550 5.7.1 relaying denied", lines joined with " / ". */
  text: string;
}

/** What the server offered on this connection. */
export interface SmtpSession {
  greeting: SmtpReply;
  /** EHLO keywords (upper case) and their parameters, e.g. "SIZE" → "52428800". */
  extensions: Map<string, string>;
  tls: boolean;
  tlsProtocol?: string;
  tlsCipher?: string;
  authenticated: boolean;
  authMethod?: string;
}

/** The SMTP envelope: reverse path ("" for the null sender) and forward paths. */
export interface SmtpEnvelope {
  from: string;
  to: readonly string[];
}

/** What became of one recipient. */
export interface SmtpRecipientOutcome {
  address: string;
  /**
   * The reply that decided: the RCPT reply when RCPT was refused (or MAIL's
   * when MAIL was), else the DATA or end-of-data reply (a synthetic 451
   * when the outcome is uncertain).
   */
  reply: SmtpReply;
  /** true only when RCPT was accepted and so was the message (end-of-data 2xx). */
  accepted: boolean;
}

/** The outcome of one mail transaction. */
export interface SmtpSendResult {
  /** One per envelope recipient, in envelope order. */
  recipients: SmtpRecipientOutcome[];
  /**
   * End-of-data reply (or the DATA command's refusal); undefined when MAIL was
   * refused, no RCPT was accepted (RSET was sent), or the outcome is uncertain.
   */
  data?: SmtpReply;
  /** The MAIL FROM reply (synthetic when the message was refused locally). */
  mail: SmtpReply;
  /** Queue id parsed from the final 250, when recognisable. */
  queueId?: string;
  /**
   * No usable reply came after the final dot (connection lost, timed out, a
   * garbled or over-long reply): the message may or may not have been
   * delivered (RFC 5321 6.1).
   */
  uncertain?: boolean;
}
