/**
 * The sparkpost-smtp transport: the shared SMTP transport logged in as
 * SMTP_Injection, with an X-MSYS-API header that carries campaign, metadata
 * and tags, and turns tracking off for sealed mail (tracking rewrites the
 * body and breaks the signature).
 *
 * @module
 */
import { LazyTransport } from "../../core/deliver/lazy.ts";
import { smtpClientOptions } from "../../core/deliver/smtp_options.ts";
import { SmtpTransport } from "../../core/deliver/smtp_transport.ts";
import type {
  DeliveryFields,
  PluginContext,
  SealedMessage,
  Transport,
} from "../../core/deliver/types.ts";
import { trackingFor } from "../sparkpost/fields.ts";
import { msysApiHeader } from "../sparkpost/msys_api.ts";
import { HOSTS } from "./schema.ts";
import type { Options } from "./schema.ts";

/** The SMTP user: SMTP_Injection, with the subaccount when there is one. */
export function injectionUser(subaccount: Options["subaccount"]): string {
  return subaccount === undefined
    ? "SMTP_Injection"
    : `SMTP_Injection:X-MSYS-SUBACCOUNT=${subaccount}`;
}

/**
 * The X-MSYS-API header for one message: tracking as asked for plain mail,
 * refused for sealed mail (it would break the signature).
 *
 * @throws {SmimeError} E_CONFIG for tracking on a sealed message
 */
export function headersFor(
  options: Options,
  message: SealedMessage,
  fields: DeliveryFields = {},
): string[] {
  const tracking = trackingFor(message, {
    open: options.open_tracking,
    click: options.click_tracking,
  });
  return [msysApiHeader({
    campaign_id: fields.campaign_id ?? options.campaign_id,
    metadata: fields.metadata ? { ...options.metadata, ...fields.metadata } : options.metadata,
    tags: fields.tags ?? options.tags,
    options: {
      open_tracking: tracking.open,
      click_tracking: tracking.click,
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
    return new SmtpTransport(
      { client, headers: (m, fields) => headersFor(options, m, fields) },
      context,
    );
  });
}
