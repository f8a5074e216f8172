/**
 * The momentum transports: SMTP with X-MSYS-API (Momentum's subset:
 * campaign_id, metadata, tags, tracking options) and the binding header, or
 * the REST transmissions API.
 *
 * @module
 */
import { headerField } from "../../core/deliver/headers.ts";
import { createModeTransport } from "../../core/deliver/modes.ts";
import type { DeliveryFields, PluginContext, Transport } from "../../core/deliver/types.ts";
import { msysApiHeader } from "../sparkpost/msys_api.ts";
import { momentumPayload } from "./payload.ts";
import type { Options } from "./schema.ts";

/**
 * X-MSYS-API (tracking always off: the message is sealed) and the binding
 * header; a manifest's per-message values win over the profile's.
 */
export function headersFor(options: Options, fields: DeliveryFields = {}): string[] {
  const headers = [msysApiHeader({
    campaign_id: fields.campaign_id ?? options.campaign_id,
    metadata: fields.metadata ? { ...options.metadata, ...fields.metadata } : options.metadata,
    tags: fields.tags ?? options.tags,
    options: { open_tracking: false, click_tracking: false },
  })];
  const binding = fields.binding ?? options.binding;
  if (options.binding_header && binding) {
    headers.push(headerField(options.binding_header, binding));
  }
  return headers;
}

/** Creates the transport; nothing is read or opened until open(). */
export function createTransport(options: Options, context: PluginContext): Transport {
  return createModeTransport(options, context, {
    label: "Momentum API",
    payload: (message, fields) =>
      momentumPayload(message, {
        returnPath: options.return_path!,
        campaignId: fields.campaign_id ?? options.campaign_id,
        metadata: fields.metadata ? { ...options.metadata, ...fields.metadata } : options.metadata,
      }),
    headers: (_message, fields) => headersFor(options, fields),
  });
}
