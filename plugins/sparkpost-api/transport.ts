/**
 * The sparkpost-api transport: one POST to /transmissions per sealed
 * message, through the shared HTTP transport.
 *
 * @module
 */
import { HttpTransport } from "../../core/deliver/http_transport.ts";
import type { PluginContext, Transport } from "../../core/deliver/types.ts";
import { resolveApiBase } from "./base.ts";
import { sparkpostPayload } from "./payload.ts";
import type { SparkpostApiOptions } from "./schema.ts";

/** Creates the transport; nothing is checked or opened until open(). */
export function createTransport(options: SparkpostApiOptions, context: PluginContext): Transport {
  const payloadOptions = {
    campaignId: options.campaign_id,
    metadata: options.metadata,
    returnPath: options.return_path,
    description: options.description,
    transactional: options.transactional,
    ipPool: options.ip_pool,
    openTracking: options.open_tracking,
    clickTracking: options.click_tracking,
  };
  return new HttpTransport({
    baseUrl: () => resolveApiBase(options.host, options.region, context.warn),
    apiKey: options.api_key,
    label: "SparkPost API",
    // SparkPost's subaccount header (FIELD.md).
    headers: options.subaccount === undefined ? {} : { "X-MSYS-SUBACCOUNT": options.subaccount },
    timeoutMs: options.timeout_seconds * 1000,
    payload: (message, fields) =>
      sparkpostPayload(message, {
        ...payloadOptions,
        campaignId: fields.campaign_id ?? payloadOptions.campaignId,
        metadata: fields.metadata
          ? { ...payloadOptions.metadata, ...fields.metadata }
          : payloadOptions.metadata,
      }),
  }, context);
}
