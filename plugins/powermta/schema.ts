/**
 * Options of the powermta plugin: SMTP injection with X-Virtual-MTA and
 * X-Job (honoured where the source enables process-x-virtual-mta /
 * process-x-job), or PowerMTA 5's HTTP transmissions API.
 *
 * @module
 */
import { z } from "zod";
import { smtpShape } from "../../core/deliver/smtp_options.ts";
import { TOKEN } from "../../core/deliver/headers.ts";

const token = z.string().regex(TOKEN, "no whitespace or control characters");

/** powermta options, flat under the profile. */
export const options = z.object({
  ...smtpShape,
  transport: z.enum(["smtp", "http"]).default("smtp"),
  host: smtpShape.host.optional(),
  port: smtpShape.port.default(25),
  tls: smtpShape.tls.default("auto"),
  virtual_mta: token.optional(),
  job: token.optional(),
  api_url: z.url().optional(),
  api_key: z.string().min(1).optional(),
  return_path: z.string().min(3).optional(),
}).strict().superRefine((o, ctx) => {
  const need = (key: "host" | "api_url" | "api_key" | "return_path", when: string) => {
    if (o[key] === undefined) {
      ctx.addIssue({ code: "custom", path: [key], message: `required ${when}` });
    }
  };
  if (o.transport === "smtp") need("host", 'when transport = "smtp"');
  else {
    need("api_url", 'when transport = "http"');
    need("api_key", 'when transport = "http"');
    // PowerMTA's API refuses a transmission without return_path (FIELD.md).
    need("return_path", 'when transport = "http"');
  }
});

/** Validated powermta options. */
export type Options = z.infer<typeof options>;
