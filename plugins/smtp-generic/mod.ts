/**
 * smtp-generic: deliver to any SMTP server (Postfix, Exchange, a relay),
 * with STARTTLS, AUTH and pipelining from the shared SMTP client.
 *
 * @module
 */
import type { DeliveryPlugin } from "../../core/deliver/types.ts";
import { SMTP_SECRETS } from "../../core/deliver/smtp_options.ts";
import { env, options } from "./schema.ts";
import type { Options } from "./schema.ts";
import { createTransport } from "./transport.ts";

/** The smtp-generic plugin. */
export const plugin: DeliveryPlugin<Options> = {
  id: "smtp-generic",
  description: "any SMTP server: STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, pipelining",
  options,
  secrets: SMTP_SECRETS,
  env,
  sessions: 4,
  window: 4,
  create: createTransport,
};
