/**
 * The sparkpost-api delivery plugin: sealed messages go to the SparkPost
 * transmissions API as email_rfc822, one POST per message, tracking off.
 *
 * @module
 */
import type { DeliveryPlugin } from "../../core/deliver/types.ts";
import { optionsSchema } from "./schema.ts";
import type { SparkpostApiOptions } from "./schema.ts";
import { createTransport } from "./transport.ts";

export type { SparkpostApiOptions } from "./schema.ts";

/** The plugin object that plugins/mod.ts registers. */
export const plugin: DeliveryPlugin<SparkpostApiOptions> = {
  id: "sparkpost-api",
  description: "SparkPost transmissions API (REST, rfc822 content; US, EU or enterprise host)",
  options: optionsSchema,
  secrets: ["api_key"],
  env: { api_key: "SPARKPOST_API_KEY", host: "SPARKPOST_HOST" },
  sessions: 4,
  window: 1,
  create: createTransport,
};
