/**
 * The smtp-generic transport: the shared SMTP transport with no extra
 * headers.
 *
 * @module
 */
import { smtpClientOptions } from "../../core/deliver/smtp_options.ts";
import { LazyTransport } from "../../core/deliver/lazy.ts";
import { SmtpTransport } from "../../core/deliver/smtp_transport.ts";
import type { PluginContext, Transport } from "../../core/deliver/types.ts";
import type { Options } from "./schema.ts";

/** Creates the transport; nothing is read or opened until open(). */
export function createTransport(options: Options, context: PluginContext): Transport {
  return new LazyTransport(async () =>
    new SmtpTransport({ client: await smtpClientOptions(options, context.debug) }, context)
  );
}
