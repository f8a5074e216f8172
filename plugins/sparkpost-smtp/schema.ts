/**
 * Options of the sparkpost-smtp plugin: SparkPost SMTP injection
 * (FIELD.md: smtp.sparkpostmail.com or the EU host, port 587 or 2525,
 * STARTTLS, user SMTP_Injection, password = an API key with the
 * send-via-SMTP permission).
 *
 * @module
 */
import { z } from "zod";
import { smtpShape } from "../../core/deliver/smtp_options.ts";
import { campaignIdOption } from "../sparkpost/fields.ts";

const { user: _user, password: _password, host, ...smtp } = smtpShape;

/** sparkpost-smtp options, flat under the profile. */
export const options = z.object({
  ...smtp,
  region: z.enum(["us", "eu"]).default("us"),
  host: host.optional(),
  port: smtpShape.port.default(587),
  tls: smtpShape.tls.default("require"),
  api_key: z.string().min(1),
  subaccount: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).optional(),
  campaign_id: campaignIdOption.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  transactional: z.boolean().default(true),
  ip_pool: z.string().min(1).optional(),
  open_tracking: z.boolean().default(false),
  click_tracking: z.boolean().default(false),
}).strict();

/** Validated sparkpost-smtp options. */
export type Options = z.infer<typeof options>;

/** Environment variables in the old tool's style. */
export const env = { api_key: "SPARKPOST_API_KEY" } as const;

/** SMTP injection hosts by region. */
export const HOSTS = { us: "smtp.sparkpostmail.com", eu: "smtp.eu.sparkpostmail.com" } as const;
