/**
 * momentum: inject into Momentum over SMTP (X-MSYS-API, binding header) or
 * its REST transmissions API.
 *
 * @module
 */
import type { DeliveryPlugin } from "../../core/deliver/types.ts";
import { SMTP_SECRETS } from "../../core/deliver/smtp_options.ts";
import { options } from "./schema.ts";
import type { Options } from "./schema.ts";
import { createTransport } from "./transport.ts";

/** The momentum plugin. */
export const plugin: DeliveryPlugin<Options> = {
  id: "momentum",
  description: "Momentum: SMTP with X-MSYS-API and a binding header, or its REST API",
  options,
  secrets: [...SMTP_SECRETS, "api_key"],
  sessions: 8,
  window: 4,
  create: createTransport,
};
