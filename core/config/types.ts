/**
 * The types the configuration layer hands to the CLI: what it is given
 * (flags, environment, folders) and what it resolves (a plugin, its validated
 * options, and where each option came from).
 *
 * @module
 */
import type { DeliveryPlugin } from "../deliver/types.ts";

/** Loads a plugin's module, when a profile names it (plugins/mod.ts). */
export type PluginLoader = () => Promise<DeliveryPlugin>;

/**
 * The plugins a profile may name, by config id: each loaded already (tests)
 * or loaded when named, so a run loads only the plugin it delivers through.
 */
export type PluginRegistry = ReadonlyMap<string, DeliveryPlugin | PluginLoader>;

/** Everything configuration depends on, passed in so tests need no real environment. */
export interface ConfigInputs {
  /** `--config FILE`; a missing file named here is an error. */
  configFile?: string;
  /** `--profile NAME`; overrides the file's `default_profile`. */
  profile?: string;
  /** The folder `smimepost.toml` is looked for first, and relative paths resolve against. */
  cwd: string;
  /** Reads one environment variable (the CLI decides permissions). */
  env: (name: string) => string | undefined;
  /**
   * The folder holding the per-user `smimepost.toml` (tests set it); by default
   * `$XDG_CONFIG_HOME/smimepost` or `$HOME/.config/smimepost`, read through `env`.
   */
  homeConfigDir?: string;
  /** `--send_smtp` / `--send_api`: the old tool's flags, configured by environment only. */
  legacy?: "smtp" | "api";
  /** From repeatable `--option key=value` flags; coerced by the plugin's schema. */
  overrides?: Record<string, string>;
}

/** One resolved option, for `smimepost config check`. */
export interface ResolvedValue {
  /** The option key, e.g. "port" (secret forms are reported under the secret's key). */
  key: string;
  /** The value as shown to people; secrets are always "****". */
  display: string;
  /**
   * Where the value came from: "flag --option", "env SMTP_HOST",
   * "file smimepost.toml [profiles.pmta]", "default", "api_key_file /etc/…",
   * "api_key_command".
   */
  source: string;
}

/** A delivery target ready to create a transport from. */
export interface ResolvedDelivery<O = unknown> {
  /** The profile name, or "--send_smtp" / "--send_api". */
  profile: string;
  /** The plugin the profile names. */
  plugin: DeliveryPlugin<O>;
  /** Options validated by `plugin.options`. */
  options: O;
  /** Every option with its source, secrets masked, in schema order. */
  values: ResolvedValue[];
  /** The config file used, as shown in messages (absent for --send_smtp / --send_api). */
  file?: string;
  /** Things the user should fix that do not stop delivery (no secrets in them). */
  warnings: string[];
}
