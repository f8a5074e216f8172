/**
 * Options of the momentum plugin: SMTP injection (relay hosts inject
 * without AUTH) with X-MSYS-API and a site-defined binding header, or
 * Momentum's REST transmissions API.
 *
 * @module
 */
import { z } from "zod";
import { smtpShape } from "../../core/deliver/smtp_options.ts";

/** momentum options, flat under the profile. */
export const options = z.object({
  ...smtpShape,
  transport: z.enum(["smtp", "http"]).default("smtp"),
  host: smtpShape.host.optional(),
  port: smtpShape.port.default(25),
  tls: smtpShape.tls.default("auto"),
  // Binding / IP-pool choice is site policy (Lua), driven by a header the site names.
  binding_header: z.string().regex(/^[!-9;-~]+$/, "a header field name").optional(),
  binding: z.string().min(1).optional(),
  campaign_id: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
  api_url: z.url().optional(),
  api_key: z.string().min(1).optional(),
  return_path: z.string().min(3).optional(),
}).strict().superRefine((o, ctx) => {
  const need = (
    key: "host" | "api_url" | "api_key" | "return_path" | "binding_header",
    when: string,
  ) => {
    if (o[key] === undefined) {
      ctx.addIssue({ code: "custom", path: [key], message: `required ${when}` });
    }
  };
  if (o.binding !== undefined) need("binding_header", "when binding is set");
  if (o.transport === "smtp") need("host", 'when transport = "smtp"');
  else {
    need("api_url", 'when transport = "http"');
    need("api_key", 'when transport = "http"');
    // Momentum's transmissions API requires return_path (FIELD.md).
    need("return_path", 'when transport = "http"');
  }
});

/** Validated momentum options. */
export type Options = z.infer<typeof options>;
