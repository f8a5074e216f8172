/**
 * The transport every SMTP plugin uses: one SmtpClient connection, reused
 * for up to `max_messages_per_connection` messages, reopened when the server
 * closed it, with the plugin's delivery headers put in front of the sealed
 * message (outside the signature and the encryption).
 *
 * @module
 */
import { type ByteSource, concatBytes, prefixSource } from "../bytes.ts";
import { SmtpClient } from "../smtp/mod.ts";
import type { SmtpClientOptions, SmtpSendResult } from "../smtp/mod.ts";
import { SmimeError } from "../errors.ts";
import { mailRefusalError, smtpStatus } from "../policy.ts";
import type {
  DeliveryFields,
  DeliveryResult,
  PluginContext,
  RecipientResult,
  SealedMessage,
  Transport,
} from "./types.ts";

/** What an SMTP plugin hands the shared transport. */
export interface SmtpTransportSettings {
  client: SmtpClientOptions;
  /** Header fields (complete, folded, without CRLF) to add for this message. */
  headers?: (message: SealedMessage, fields: DeliveryFields) => string[];
}

/**
 * One SMTP connection at a time to one server. Several deliver() calls may
 * be in flight at once: the client pipelines them. After
 * `max_messages_per_connection` messages, or when the server closed the
 * connection, new messages go to a fresh connection and the old one is
 * closed (QUIT) once its last message is answered.
 */
export class SmtpTransport implements Transport {
  #settings: SmtpTransportSettings;
  #context: PluginContext;
  #client: SmtpClient | undefined;
  /** Messages given to the current client. */
  #assigned = 0;
  #connecting: Promise<SmtpClient> | undefined;
  /** Messages in flight per client, so a retired client is closed only when idle. */
  readonly #inFlight = new Map<SmtpClient, number>();

  constructor(settings: SmtpTransportSettings, context: PluginContext) {
    this.#settings = settings;
    this.#context = context;
  }

  /** Connects, negotiates TLS and logs in; prints the old tool's "Opened" line. */
  async open(signal?: AbortSignal): Promise<void> {
    if (!this.#client?.isOpen) await this.#reconnect(signal);
  }

  /** Sends one message to its envelope recipients; reconnects when needed. */
  async deliver(
    message: SealedMessage,
    signal?: AbortSignal,
    fields: DeliveryFields = {},
  ): Promise<DeliveryResult> {
    // Headers first: a refused field (tracking on sealed mail) costs no connection.
    const headers = this.#settings.headers?.(message, fields) ?? [];
    const client = await this.#clientFor(signal);
    try {
      // A large message goes as its source, made while it is sent.
      const whole = message.source ?? message.bytes;
      const bytes = headers.length ? prependHeaders(headers, whole) : whole;
      const sent = await client.send(
        { from: message.sender, to: message.recipients },
        bytes,
        signal,
      );
      this.#checkSession(sent);
      return resultOf(sent);
    } finally {
      const left = this.#inFlight.get(client)! - 1;
      this.#inFlight.set(client, left);
      if (left === 0 && client !== this.#client) await this.#retire(client);
    }
  }

  /**
   * A MAIL FROM refused for the session, not the message (530, "authentication
   * required": see the policy) is thrown as its error, so the run stops as for
   * a refused AUTH and the message is not settled as rejected.
   */
  #checkSession(sent: SmtpSendResult): void {
    const code = mailRefusalError(sent.mail);
    if (!code) return;
    const { host, port, auth } = this.#settings.client;
    const as = auth ? ` as ${JSON.stringify(auth.user)}` : " without logging in";
    throw new SmimeError(code, `Cannot send via ${host}:${port}${as}: ${sent.mail.text}`);
  }

  /** QUIT and close every connection; idempotent. */
  async close(): Promise<void> {
    const clients = new Set([...this.#inFlight.keys(), ...(this.#client ? [this.#client] : [])]);
    this.#client = undefined;
    await Promise.all([...clients].map((c) => this.#retire(c)));
  }

  /**
   * The client for one more message, counted in flight here, in the same
   * turn it is chosen: counted only once the caller resumed, a client could
   * look idle to a reconnect in between and be closed under that message.
   */
  async #clientFor(signal?: AbortSignal): Promise<SmtpClient> {
    const max = this.#settings.client.maxMessagesPerConnection ?? Infinity;
    for (;;) {
      const client = this.#client;
      if (client?.isOpen && this.#assigned < max) {
        this.#assigned++;
        this.#inFlight.set(client, (this.#inFlight.get(client) ?? 0) + 1);
        return client;
      }
      await this.#reconnect(signal);
    }
  }

  /** Replaces the current client; concurrent callers share one connect. */
  #reconnect(signal?: AbortSignal): Promise<SmtpClient> {
    this.#connecting ??= (async () => {
      const old = this.#client;
      this.#client = undefined;
      if (old && !this.#inFlight.get(old)) await this.#retire(old);
      const client = await this.#connect(signal);
      this.#client = client;
      this.#assigned = 0;
      return client;
    })().finally(() => this.#connecting = undefined);
    return this.#connecting;
  }

  async #connect(signal?: AbortSignal): Promise<SmtpClient> {
    const client = new SmtpClient(this.#settings.client);
    try {
      const session = await client.connect(signal);
      const { host, port, auth } = this.#settings.client;
      const security = session.tls
        ? (this.#settings.client.tls.mode === "implicit" ? "TLS" : "STARTTLS")
        : "plain";
      const login = auth ? `, user="${auth.user}", password="****"` : "";
      this.#context.info(`Opened SMTP connection (${security}) to ${host}, port ${port}${login}`);
      return client;
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  async #retire(client: SmtpClient): Promise<void> {
    this.#inFlight.delete(client);
    await client.close();
  }
}

/** Puts header fields at the top of the message's header section (a source's too, uncopied). */
export function prependHeaders(
  headers: string[],
  bytes: Uint8Array | ByteSource,
): Uint8Array | ByteSource {
  const head = new TextEncoder().encode(headers.map((h) => `${h}\r\n`).join(""));
  return bytes instanceof Uint8Array ? concatBytes([head, bytes]) : prefixSource(head, bytes);
}

/** Maps the SMTP outcome to the plugin contract's result. */
function resultOf(sent: SmtpSendResult): DeliveryResult {
  const recipients: RecipientResult[] = sent.recipients.map((r) => {
    // A recipient the server took at RCPT is only accepted once the data is.
    const reply = r.accepted && sent.data ? sent.data : r.reply;
    const status = smtpStatus(reply.code);
    return {
      recipient: r.address,
      status: status === "accepted" && !(r.accepted && sent.data) ? "deferred" : status,
      code: reply.code,
      enhanced: reply.enhanced,
      response: reply.text,
    };
  });
  return {
    recipients,
    id: sent.queueId,
    response: sent.data?.text ?? sent.mail.text,
    uncertain: sent.uncertain,
  };
}
