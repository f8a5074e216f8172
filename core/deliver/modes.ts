/**
 * On-premises MTAs (PowerMTA, Momentum) take mail over SMTP or through an
 * HTTP transmissions API; their plugins share the option rules and the
 * choice of transport here.
 *
 * @module
 */
import { z } from "zod";
import type { OutboundMessage } from "../pipeline.ts";
import { HttpTransport } from "./http_transport.ts";
import { LazyTransport } from "./lazy.ts";
import { smtpClientOptions, smtpShape } from "./smtp_options.ts";
import type { SmtpOptionValues } from "./smtp_options.ts";
import { SmtpTransport } from "./smtp_transport.ts";
import type { PluginContext, Transport } from "./types.ts";

/** The options of an MTA that speaks SMTP or HTTP, to spread into a plugin's schema. */
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

/**
 * A zod refinement: `host` for SMTP; `api_url`, `api_key` and `return_path`
 * for HTTP (both APIs refuse a transmission without return_path, FIELD.md).
 */
export function requireModeOptions(options: ModeOptions, ctx: z.RefinementCtx): void {
  const keys = options.transport === "smtp"
    ? (["host"] as const)
    : (["api_url", "api_key", "return_path"] as const);
  for (const key of keys) {
    if (options[key] === undefined) {
      const message = `required when transport = "${options.transport}"`;
      ctx.addIssue({ code: "custom", path: [key], message });
    }
  }
}

/** How a plugin shapes each message for either transport. */
export interface ModeSettings {
  /** Names the API in errors, e.g. "PowerMTA API". */
  label: string;
  /** The HTTP body for one message. */
  payload: (message: OutboundMessage) => object;
  /** The delivery headers for one message over SMTP. */
  headers: (message: OutboundMessage) => string[];
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
