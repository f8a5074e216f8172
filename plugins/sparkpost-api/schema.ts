/**
 * Options of the sparkpost-api plugin, with the snake_case keys of config
 * files. Strict: an unknown key is an error, not a silent no-op.
 *
 * @module
 */
import { z } from "zod";
import { campaignIdOption } from "../sparkpost/fields.ts";

/** The options schema; defaults are applied here, before anything opens. */
export const optionsSchema = z.object({
  /** Sent as Authorization; needs the Transmissions: Read/Write permission. */
  api_key: z.string().trim().regex(/^[\x21-\x7e]+$/, {
    message: "must be one word of printable ASCII (no spaces or line breaks)",
  }),
  /** Bare host ("demo.api.e.sparkpost.com") or URL; the old SPARKPOST_HOST. */
  host: z.string().trim().min(1).optional(),
  region: z.enum(["us", "eu"]).default("us"),
  /** Sent as X-MSYS-SUBACCOUNT; config files often hold it as a number. */
  subaccount: z.union([z.string().trim().regex(/^[\x21-\x7e]+$/), z.number().int().nonnegative()])
    .transform(String).optional(),
  campaign_id: campaignIdOption.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  return_path: z.string().min(1).optional(),
  description: z.string().min(1).optional(),
  transactional: z.boolean().default(true),
  ip_pool: z.string().min(1).optional(),
  /** SparkPost support recommends 300 s. */
  timeout_seconds: z.number().positive().default(300),
  /** Only for plain (unsealed) mail: tracking breaks S/MIME. */
  open_tracking: z.boolean().default(false),
  click_tracking: z.boolean().default(false),
}).strict();

/** The validated options, defaults applied. */
export type SparkpostApiOptions = z.output<typeof optionsSchema>;
