/**
 * The powermta transports: SMTP with X-Virtual-MTA / X-Job headers, or the
 * HTTP transmissions API with only the fields PowerMTA accepts.
 *
 * @module
 */
import { headerField } from "../../core/deliver/headers.ts";
import { createModeTransport } from "../../core/deliver/modes.ts";
import type { DeliveryFields, PluginContext, Transport } from "../../core/deliver/types.ts";
import { powermtaPayload } from "./payload.ts";
import type { Options } from "./schema.ts";

/** X-Virtual-MTA and X-Job for a message: a manifest's values, else the profile's. */
export function headersFor(options: Options, fields: DeliveryFields = {}): string[] {
  const virtualMta = fields.virtual_mta ?? options.virtual_mta;
  const job = fields.job ?? options.job;
  const headers: string[] = [];
  if (virtualMta) headers.push(headerField("X-Virtual-MTA", virtualMta));
  if (job) headers.push(headerField("X-Job", job));
  return headers;
}

/** Creates the transport; nothing is read or opened until open(). */
export function createTransport(options: Options, context: PluginContext): Transport {
  return createModeTransport(options, context, {
    label: "PowerMTA API",
    payload: (message, fields) =>
      powermtaPayload(message, {
        returnPath: options.return_path!,
        campaignId: fields.job ?? options.job,
      }),
    headers: (_message, fields) => headersFor(options, fields),
  });
}
