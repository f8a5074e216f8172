/**
 * The powermta transports: SMTP with X-Virtual-MTA / X-Job headers, or the
 * HTTP transmissions API with only the fields PowerMTA accepts.
 *
 * @module
 */
import { headerField } from "../../core/deliver/headers.ts";
import { HttpTransport } from "../../core/deliver/http_transport.ts";
import { LazyTransport } from "../../core/deliver/lazy.ts";
import { smtpClientOptions } from "../../core/deliver/smtp_options.ts";
import { SmtpTransport } from "../../core/deliver/smtp_transport.ts";
import type { PluginContext, Transport } from "../../core/deliver/types.ts";
import { powermtaPayload } from "../../core/http/mod.ts";
import type { Options } from "./schema.ts";

/** X-Virtual-MTA and X-Job for a message. */
export function headersFor(options: Options): string[] {
  const headers: string[] = [];
  if (options.virtual_mta) headers.push(headerField("X-Virtual-MTA", options.virtual_mta));
  if (options.job) headers.push(headerField("X-Job", options.job));
  return headers;
}

/** Creates the transport; nothing is read or opened until open(). */
export function createTransport(options: Options, context: PluginContext): Transport {
  if (options.transport === "http") {
    return new HttpTransport({
      baseUrl: () => options.api_url!,
      apiKey: options.api_key!,
      label: "PowerMTA API",
      payload: (message) =>
        powermtaPayload(message, { returnPath: options.return_path!, campaignId: options.job }),
    }, context);
  }
  return new LazyTransport(async () =>
    new SmtpTransport({
      client: await smtpClientOptions({ ...options, host: options.host! }, context.debug),
      headers: () => headersFor(options),
    }, context)
  );
}
