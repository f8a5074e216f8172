/**
 * The sparkpost-smtp transport: the shared SMTP transport logged in as
 * SMTP_Injection, with an X-MSYS-API header that carries campaign, metadata
 * and tags, and turns tracking off for sealed mail (tracking rewrites the
 * body and breaks the signature).
 *
 * @module
 */
import { SmimeError } from "../../core/errors.ts";
import { msysApiHeader } from "../../core/deliver/headers.ts";
import { LazyTransport } from "../../core/deliver/lazy.ts";
import { smtpClientOptions } from "../../core/deliver/smtp_options.ts";
import { SmtpTransport } from "../../core/deliver/smtp_transport.ts";
import type { PluginContext, Transport } from "../../core/deliver/types.ts";
import type { OutboundMessage } from "../../core/pipeline.ts";
import { HOSTS } from "./schema.ts";
import type { Options } from "./schema.ts";

/** The SMTP user: SMTP_Injection, with the subaccount when there is one. */
export function injectionUser(subaccount: Options["subaccount"]): string {
  return subaccount === undefined
    ? "SMTP_Injection"
    : `SMTP_Injection:X-MSYS-SUBACCOUNT=${subaccount}`;
}

/** The X-MSYS-API header for one message. */
export function headersFor(options: Options, message: OutboundMessage): string[] {
  const sealed = message.sealed.stage !== "plain";
  if (sealed && (options.open_tracking || options.click_tracking)) {
    throw new SmimeError(
      "E_CONFIG",
      "open_tracking/click_tracking: tracking rewrites the body and breaks the S/MIME signature",
    );
  }
  const fields = message.fields ?? {};
  return [msysApiHeader({
    campaign_id: fields.campaign_id ?? options.campaign_id,
    metadata: fields.metadata ? { ...options.metadata, ...fields.metadata } : options.metadata,
    tags: fields.tags ?? options.tags,
    options: {
      open_tracking: sealed ? false : options.open_tracking,
      click_tracking: sealed ? false : options.click_tracking,
      transactional: options.transactional,
      ...(options.ip_pool ? { ip_pool: options.ip_pool } : {}),
    },
  })];
}

/** Creates the transport; nothing is read or opened until open(). */
export function createTransport(options: Options, context: PluginContext): Transport {
  return new LazyTransport(async () => {
    const client = await smtpClientOptions({
      ...options,
      host: options.host ?? HOSTS[options.region],
      user: injectionUser(options.subaccount),
      password: options.api_key,
    }, context.debug);
    return new SmtpTransport({ client, headers: (m) => headersFor(options, m) }, context);
  });
}
