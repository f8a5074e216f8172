/**
 * Options of the smtp-generic plugin: any SMTP server.
 *
 * @module
 */
import { z } from "zod";
import { smtpShape } from "../../core/deliver/smtp_options.ts";

/** smtp-generic options, flat under the profile. */
export const options = z.object({
  ...smtpShape,
  port: smtpShape.port.default(25),
  tls: smtpShape.tls.default("auto"),
}).strict();

/** Validated smtp-generic options. */
export type Options = z.infer<typeof options>;

/** The old tool's environment variables (flags > environment > file). */
export const env = {
  host: "SMTP_HOST",
  port: "SMTP_PORT",
  user: "SMTP_USER",
  password: "SMTP_PASSWORD",
  tls: "SMTP_TLS",
  tls_ca_file: "SMTP_CA_FILE",
} as const;
