/**
 * The static list of delivery plugins, so a compiled binary carries all of
 * them. Registering a plugin is one line here.
 *
 * @module
 */
import type { DeliveryPlugin } from "../core/deliver/types.ts";
import { plugin as momentum } from "./momentum/mod.ts";
import { plugin as powermta } from "./powermta/mod.ts";
import { plugin as smtpGeneric } from "./smtp-generic/mod.ts";
import { plugin as sparkpostApi } from "./sparkpost-api/mod.ts";
import { plugin as sparkpostSmtp } from "./sparkpost-smtp/mod.ts";

/** Every plugin by config id. */
export const plugins: ReadonlyMap<string, DeliveryPlugin> = new Map(
  ([smtpGeneric, sparkpostSmtp, sparkpostApi, powermta, momentum] as DeliveryPlugin[])
    .map((p) => [p.id, p]),
);
