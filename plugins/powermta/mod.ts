/**
 * powermta: inject into PowerMTA over SMTP (X-Virtual-MTA, X-Job) or its
 * HTTP transmissions API.
 *
 * @module
 */
import type { DeliveryPlugin } from "../../core/deliver/types.ts";
import { SMTP_SECRETS } from "../../core/deliver/smtp_options.ts";
import { options } from "./schema.ts";
import type { Options } from "./schema.ts";
import { createTransport } from "./transport.ts";

/** The powermta plugin. */
export const plugin: DeliveryPlugin<Options> = {
  id: "powermta",
  description: "PowerMTA: SMTP with X-Virtual-MTA / X-Job, or the PowerMTA 5 HTTP API",
  options,
  secrets: [...SMTP_SECRETS, "api_key"],
  sessions: 8,
  window: 4,
  create: createTransport,
};
