/**
 * Platforms that take mail over SMTP or through an HTTP transmissions API
 * (on-premises MTAs) share the option shape, the rule for what each way
 * needs, and the choice of transport here. What a platform's HTTP mode needs
 * beyond api_url and api_key, its headers and its payload, its plugin says.
 *
 * @module
 */
import { z } from "zod";
import { HttpTransport } from "./http_transport.ts";
import { LazyTransport } from "./lazy.ts";
import { smtpClientOptions, smtpShape } from "./smtp_options.ts";
import type { SmtpOptionValues } from "./smtp_options.ts";
import { SmtpTransport } from "./smtp_transport.ts";
import type { DeliveryFields, PluginContext, SealedMessage, Transport } from "./types.ts";

/** The options of a platform that speaks SMTP or HTTP, to spread into a plugin's schema. */
export const modeShape = {
  ...smtpShape,
  transport: z.enum(["smtp", "http"]).default("smtp"),
  host: smtpShape.host.optional(),
  port: smtpShape.port.default(25),
  tls: smtpShape.tls.default("auto"),
  api_url: z.url().optional(),
  api_key: z.string().min(1).optional(),
  return_path: z.string().min(3).optional(),
};

/** The values of {@link modeShape}. */
export type ModeOptions = Omit<SmtpOptionValues, "host"> & {
  transport: "smtp" | "http";
  host?: string;
  api_url?: string;
  api_key?: string;
  return_path?: string;
};

/** Option keys a platform needs for one way in, beyond the generic ones. */
export interface ModeRequirements {
  smtp?: readonly (keyof ModeOptions)[];
  http?: readonly (keyof ModeOptions)[];
}

/**
 * A zod refinement: `host` for SMTP; `api_url` and `api_key` for HTTP; and
 * what the platform adds to either (its API may refuse a transmission
 * without `return_path`, say). Each missing key is an issue at its path.
 */
export function modeRequirements(
  more: ModeRequirements = {},
): (options: ModeOptions, ctx: z.RefinementCtx) => void {
  return (options, ctx) => {
    const keys = options.transport === "smtp"
      ? ["host" as const, ...(more.smtp ?? [])]
      : ["api_url" as const, "api_key" as const, ...(more.http ?? [])];
    for (const key of keys) {
      if (options[key] === undefined) {
        const message = `required when transport = "${options.transport}"`;
        ctx.addIssue({ code: "custom", path: [key], message });
      }
    }
  };
}

/** How a plugin shapes each message for either transport. */
export interface ModeSettings {
  /** Names the API in errors, e.g. "PowerMTA API". */
  label: string;
  /** The HTTP body for one message, with its own fields. */
  payload: (message: SealedMessage, fields: DeliveryFields) => object;
  /** The delivery headers for one message over SMTP. */
  headers: (message: SealedMessage, fields: DeliveryFields) => string[];
}

/** The SMTP or HTTP transport the options ask for; no I/O until open(). */
export function createModeTransport(
  options: ModeOptions,
  context: PluginContext,
  settings: ModeSettings,
): Transport {
  if (options.transport === "http") {
    return new HttpTransport({
      baseUrl: () => options.api_url!,
      apiKey: options.api_key!,
      label: settings.label,
      payload: settings.payload,
    }, context);
  }
  return new LazyTransport(async () =>
    new SmtpTransport({
      client: await smtpClientOptions({ ...options, host: options.host! }, context.debug),
      headers: settings.headers,
    }, context)
  );
}
