/**
 * sparkpost-smtp: SparkPost SMTP injection (US or EU), STARTTLS required,
 * X-MSYS-API for campaign, metadata, tags and tracking.
 *
 * @module
 */
import type { DeliveryPlugin } from "../../core/deliver/types.ts";
import { env, options } from "./schema.ts";
import type { Options } from "./schema.ts";
import { createTransport } from "./transport.ts";

/** The sparkpost-smtp plugin. */
export const plugin: DeliveryPlugin<Options> = {
  id: "sparkpost-smtp",
  description: "SparkPost SMTP injection (smtp.sparkpostmail.com, EU host), X-MSYS-API header",
  options,
  secrets: ["api_key"],
  env,
  sessions: 4,
  maxSessions: 10,
  window: 4,
  create: createTransport,
};
