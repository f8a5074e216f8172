/**
 * The static list of delivery plugins, so a compiled binary carries all of
 * them: each is a dynamic import with a literal specifier, which
 * `deno compile` follows, and which loads only when a profile names that
 * plugin (a run through smtp-generic loads no HTTP plugin, and no other
 * plugin's schema). Registering a plugin is one line here.
 *
 * @module
 */
import type { PluginLoader } from "../core/config/types.ts";
import type { DeliveryPlugin } from "../core/deliver/types.ts";

/** Every plugin by config id, each loaded on first use. */
export const plugins: ReadonlyMap<string, PluginLoader> = new Map([
  ["smtp-generic", () => pluginOf(import("./smtp-generic/mod.ts"))],
  ["sparkpost-smtp", () => pluginOf(import("./sparkpost-smtp/mod.ts"))],
  ["sparkpost-api", () => pluginOf(import("./sparkpost-api/mod.ts"))],
  ["powermta", () => pluginOf(import("./powermta/mod.ts"))],
  ["momentum", () => pluginOf(import("./momentum/mod.ts"))],
]);

/** The plugin object a plugin's mod.ts exports. */
async function pluginOf(module: Promise<{ plugin: object }>): Promise<DeliveryPlugin> {
  return (await module).plugin as DeliveryPlugin;
}

/** Every plugin by config id, loaded: for listings and tests. */
export async function loadPlugins(): Promise<ReadonlyMap<string, DeliveryPlugin>> {
  const loaded = await Promise.all(
    [...plugins].map(async ([id, load]): Promise<[string, DeliveryPlugin]> => [id, await load()]),
  );
  return new Map(loaded);
}
