/**
 * The configuration layer: finds `smimepost.toml`, picks a profile, merges
 * `--option` flags, environment, the profile and plugin defaults (in that
 * order), reads secrets from files or commands, validates the options with
 * the plugin's schema, and keeps secrets out of every message.
 *
 * @example
 * ```ts
 * import { redact } from "./mod.ts";
 * redact("235 ok for hunter2", ["hunter2"]); // "235 ok for ****"
 * ```
 *
 * @module
 */
export type {
  ConfigInputs,
  PluginLoader,
  PluginRegistry,
  ResolvedDelivery,
  ResolvedValue,
} from "./types.ts";
export { resolveDelivery } from "./resolve.ts";
export { deliveryJson, describeDelivery } from "./describe.ts";
export { MASK, redact, secretsOf } from "./secrets.ts";
export { parseConfig } from "./file.ts";
export { CONFIG_FILE_NAME, homeConfigDir, locateConfig } from "./locate.ts";
