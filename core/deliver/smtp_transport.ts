/**
 * The transport every SMTP plugin uses: one SmtpClient connection, reused
 * for up to `max_messages_per_connection` messages, reopened when the server
 * closed it, with the plugin's delivery headers put in front of the sealed
 * message (outside the signature and the encryption).
 *
 * @module
 */
import { SmtpClient } from "../smtp/mod.ts";
import type { SmtpClientOptions, SmtpSendResult } from "../smtp/mod.ts";
import type { OutboundMessage } from "../pipeline.ts";
import type { DeliveryResult, PluginContext, RecipientResult, Transport } from "./types.ts";

/** What an SMTP plugin hands the shared transport. */
export interface SmtpTransportSettings {
  client: SmtpClientOptions;
  /** Header fields (complete, folded, without CRLF) to add for this message. */
  headers?: (message: OutboundMessage) => string[];
}

/** One SMTP connection at a time to one server. */
export class SmtpTransport implements Transport {
  #settings: SmtpTransportSettings;
  #context: PluginContext;
  #client: SmtpClient | undefined;

  constructor(settings: SmtpTransportSettings, context: PluginContext) {
    this.#settings = settings;
    this.#context = context;
  }

  /** Connects, negotiates TLS and logs in; prints the old tool's "Opened" line. */
  async open(signal?: AbortSignal): Promise<void> {
    await this.#connect(signal);
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
    } catch (err) {
      await client.close();
      throw err;
    }
    this.#client = client;
    return client;
  }

  /** Sends one message to its envelope recipients; reconnects when needed. */
  async deliver(message: OutboundMessage, signal?: AbortSignal): Promise<DeliveryResult> {
    let client = this.#client;
    const max = this.#settings.client.maxMessagesPerConnection ?? Infinity;
    if (client && (!client.isOpen || client.messagesSent >= max)) {
      await client.close();
      client = undefined;
    }
    client ??= await this.#connect(signal);
    const headers = this.#settings.headers?.(message) ?? [];
    const bytes = headers.length ? prependHeaders(headers, message.bytes) : message.bytes;
    const sent = await client.send(
      { from: message.sender, to: message.recipients },
      bytes,
      signal,
    );
    return resultOf(sent);
  }

  /** QUIT and close; idempotent. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}

/** Puts header fields at the top of the message's header section. */
export function prependHeaders(headers: string[], bytes: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(headers.map((h) => `${h}\r\n`).join(""));
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

/** Maps the SMTP outcome to the plugin contract's result. */
function resultOf(sent: SmtpSendResult): DeliveryResult {
  const recipients: RecipientResult[] = sent.recipients.map((r) => {
    // A recipient the server took at RCPT is only accepted once the data is.
    const reply = r.accepted && sent.data ? sent.data : r.reply;
    const accepted = r.accepted && sent.data !== undefined && sent.data.code < 300;
    return {
      recipient: r.address,
      status: accepted ? "accepted" : reply.code >= 500 ? "rejected" : "deferred",
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
