/**
 * Resolving the delivery target: which plugin, with which options, from
 * `--option` flags, the environment, a profile in `smimepost.toml` and the
 * plugin's defaults (in that order of precedence), or from the old tool's
 * `--send_smtp` / `--send_api` flags and their environment variables.
 *
 * @module
 */
import { dirname } from "node:path";
import type { z } from "zod";
import type { DeliveryPlugin } from "../deliver/types.ts";
import { SmimeError } from "../errors.ts";
import { defaultLocations, locateConfig } from "./locate.ts";
import type { ConfigFile } from "./file.ts";
import { mergeLayers, pluginKeys, readLayer, readSecrets, secretsIn } from "./layers.ts";
import type { Entry, PluginKeys } from "./layers.ts";
import { explainIssue } from "./schema.ts";
import { MASK, redact } from "./secrets.ts";
import { didYouMean } from "./suggest.ts";
import type { ConfigInputs, PluginRegistry, ResolvedDelivery, ResolvedValue } from "./types.ts";

/** The old tool's flags: which plugin they mean, its defaults, what must be set. */
const LEGACY = {
  smtp: { flag: "--send_smtp", plugin: "smtp-generic", defaults: { port: 25 }, required: ["host"] },
  api: { flag: "--send_api", plugin: "sparkpost-api", defaults: {}, required: ["api_key"] },
} as const;

const FLAG_SOURCE = "flag --option";

/** Where a profile's options are being assembled from. */
interface Target {
  profile: string;
  plugin: DeliveryPlugin;
  keys: PluginKeys;
  /** `profiles.pmta` or `--send_smtp`: the prefix for messages about the whole. */
  location: string;
  legacy?: (typeof LEGACY)[keyof typeof LEGACY];
  config?: ConfigFile;
}

/**
 * Resolves the delivery target, or undefined when none is configured (no
 * legacy flag, no file, or a file without default_profile and no --profile):
 * the CLI then writes to stdout.
 *
 * @example The old tool's --send_smtp, configured by the environment alone
 * ```ts
 * import type { DeliveryPlugin } from "../deliver/types.ts";
 * import { resolveDelivery } from "./resolve.ts";
 *
 * // `plugins` is the registry (plugins/mod.ts; core does not import it).
 * async function fromEnvironment(plugins: ReadonlyMap<string, DeliveryPlugin>) {
 *   return await resolveDelivery(plugins, {
 *     cwd: Deno.cwd(),
 *     env: (name) => Deno.env.get(name),
 *     legacy: "smtp",
 *   });
 * }
 * ```
 * @throws SmimeError E_USAGE for conflicting flags; E_CONFIG (one line naming
 *   the profile and key, or the variable or flag) for everything else
 */
export async function resolveDelivery(
  registry: PluginRegistry,
  inputs: ConfigInputs,
): Promise<ResolvedDelivery | undefined> {
  const target = inputs.legacy
    ? await legacyTarget(registry, inputs, inputs.legacy)
    : await profileTarget(registry, inputs);
  return target && await assemble(target, inputs, registry);
}

async function legacyTarget(
  registry: PluginRegistry,
  inputs: ConfigInputs,
  which: "smtp" | "api",
): Promise<Target> {
  const legacy = LEGACY[which];
  if (inputs.profile !== undefined) {
    throw new SmimeError("E_USAGE", `conflicting: ${legacy.flag} and --profile`);
  }
  if (inputs.configFile !== undefined) {
    throw new SmimeError("E_USAGE", `conflicting: ${legacy.flag} and --config`);
  }
  const plugin = await loadPlugin(registry, legacy.plugin);
  if (!plugin) {
    throw new SmimeError("E_CONFIG", `${legacy.flag} needs the plugin "${legacy.plugin}"`);
  }
  const keys = pluginKeys(plugin);
  return { profile: legacy.flag, plugin, keys, location: legacy.flag, legacy };
}

async function profileTarget(
  registry: PluginRegistry,
  inputs: ConfigInputs,
): Promise<Target | undefined> {
  const location = await locateConfig(inputs);
  if (!location) {
    if (inputs.profile !== undefined) {
      const places = defaultLocations(inputs).map((p) => p.display).join(", ");
      throw new SmimeError(
        "E_CONFIG",
        `--profile ${inputs.profile}: no config file found (looked for ${places})`,
      );
    }
    return noDelivery(inputs);
  }
  // The file's reader (a TOML parser, the file's schema) loads only when there is a file.
  const { loadConfig, profilePath } = await import("./file.ts");
  const config = await loadConfig(location);
  const name = inputs.profile ?? config.defaultProfile;
  if (name === undefined) return noDelivery(inputs);
  const profile = Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined;
  if (!profile) {
    const names = Object.keys(config.profiles);
    const list = names.length ? `profiles: ${names.join(", ")}` : "it defines no profiles";
    const prefix = inputs.profile === undefined ? "default_profile: " : "";
    throw new SmimeError(
      "E_CONFIG",
      `${prefix}no profile ${JSON.stringify(name)} in ${config.display} (${list})`,
    );
  }
  const where = profilePath(name);
  const plugin = await pluginOf(registry, profile.plugin, `${where}.plugin`);
  return { profile: name, plugin, keys: pluginKeys(plugin), location: where, config };
}

function noDelivery(inputs: ConfigInputs): undefined {
  if (inputs.overrides && Object.keys(inputs.overrides).length > 0) {
    throw new SmimeError(
      "E_USAGE",
      "--option needs a delivery profile (--profile, default_profile in smimepost.toml), " +
        "--send_smtp or --send_api",
    );
  }
  return undefined;
}

/** The plugin registered as `id` (loading its module), or undefined. */
async function loadPlugin(
  registry: PluginRegistry,
  id: unknown,
): Promise<DeliveryPlugin | undefined> {
  const entry = typeof id === "string" ? registry.get(id) : undefined;
  return typeof entry === "function" ? await entry() : entry;
}

async function pluginOf(
  registry: PluginRegistry,
  id: unknown,
  where: string,
): Promise<DeliveryPlugin> {
  const ids = [...registry.keys()].join(", ");
  if (id === undefined) throw new SmimeError("E_CONFIG", `${where}: required (one of: ${ids})`);
  const plugin = await loadPlugin(registry, id);
  if (!plugin) {
    throw new SmimeError(
      "E_CONFIG",
      `${where}: unknown plugin ${JSON.stringify(id)} (one of: ${ids})`,
    );
  }
  return plugin;
}

/** Reads every layer, merges, reads secrets, validates; errors are redacted of any secret seen. */
async function assemble(
  target: Target,
  inputs: ConfigInputs,
  registry: PluginRegistry,
): Promise<ResolvedDelivery> {
  const { plugin, keys } = target;
  const seen: string[] = [];
  try {
    const layers = readLayers(target, inputs);
    seen.push(...layers.flatMap((layer) => secretsIn(layer.values(), keys)));
    const merged = mergeLayers(layers);
    if (target.legacy) checkLegacyRequired(target, merged);
    await readSecrets(merged);
    seen.push(...secretsIn(merged.values(), keys, true));
    const input = Object.fromEntries([...merged].map(([key, entry]) => [key, entry.raw]));
    const parsed = plugin.options.safeParse(input);
    if (!parsed.success) throw new SmimeError("E_CONFIG", issueLine(target, merged, parsed.error));
    const warnings = [
      ...(target.config ? await fileWarnings(target.config, registry) : []),
      ...flagWarnings(target, merged),
    ].map((w) => redact(w, seen));
    return {
      profile: target.profile,
      plugin,
      options: parsed.data,
      values: valuesOf(parsed.data, merged, keys).map((v) => ({
        ...v,
        display: redact(v.display, seen),
      })),
      file: target.config?.display,
      warnings,
    };
  } catch (err) {
    if (err instanceof SmimeError) {
      throw new SmimeError(err.code, redact(err.message, seen), { cause: err.cause });
    }
    throw err;
  }
}

function readLayers(target: Target, inputs: ConfigInputs): Map<string, Entry>[] {
  const { plugin, keys, location, config } = target;
  const layers: Map<string, Entry>[] = [];
  const common = { baseDir: inputs.cwd, coerce: false };
  if (target.legacy) {
    const defaults = Object.fromEntries(
      Object.entries(target.legacy.defaults).filter(([k]) => keys.shape && k in keys.shape),
    );
    layers.push(readLayer({
      ...common,
      values: defaults,
      where: (k) => `${location} ${k}`,
      whole: location,
      source: () => "default",
    }, keys));
  }
  if (config) {
    const { plugin: _id, ...values } = config.profiles[target.profile]!;
    layers.push(readLayer({
      values,
      where: (k) => `${location}.${tomlKey(k)}`,
      whole: location,
      source: () => `file ${config.display} [${location}]`,
      baseDir: dirname(config.path),
      coerce: false,
    }, keys));
  }
  const envValues: Record<string, string> = {};
  const envNames = plugin.env ?? {};
  for (const [key, name] of Object.entries(envNames)) {
    const value = inputs.env(name);
    if (value !== undefined && value !== "") envValues[key] = value;
  }
  layers.push(readLayer({
    ...common,
    values: envValues,
    where: (k) => envNames[k] ?? k,
    whole: "environment",
    source: (k) => `env ${envNames[k]}`,
    coerce: true,
  }, keys));
  layers.push(readLayer({
    ...common,
    values: inputs.overrides ?? {},
    where: (k) => `--option ${k}`,
    whole: "--option",
    source: () => FLAG_SOURCE,
    coerce: true,
  }, keys));
  return layers;
}

function checkLegacyRequired(target: Target, merged: Map<string, Entry>): void {
  const legacy = target.legacy!;
  for (const key of legacy.required) {
    if (merged.has(key)) continue;
    const name = target.plugin.env?.[key];
    const what = name ?? `--option ${key}`;
    throw new SmimeError("E_CONFIG", `${what} is not set (needed by ${legacy.flag})`);
  }
}

function issueLine(
  target: Target,
  merged: Map<string, Entry>,
  error: { issues: readonly z.core.$ZodIssue[] },
): string {
  const issue = error.issues[0]!;
  const [first, ...rest] = issue.path.map(String);
  if (first === undefined) {
    if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) {
      const key = issue.keys[0];
      const hint = didYouMean(key, target.keys.allowed);
      return `${locate(target, merged.get(key), [key])}: unknown option${hint}`;
    }
    return `${target.location}: ${explainIssue(issue, {}, undefined, false)}`;
  }
  const entry = merged.get(first);
  let value: unknown = entry?.raw;
  for (const part of rest) value = (value as Record<string, unknown> | undefined)?.[part];
  const field = rest.length === 0 ? target.keys.shape?.[first] : undefined;
  const text = explainIssue(issue, value, field, target.keys.secrets.has(first));
  if (!entry && target.legacy && text === "required") {
    const name = target.plugin.env?.[first];
    if (name) return `${name} is not set (needed by ${target.legacy.flag})`;
  }
  return `${locate(target, entry, [first, ...rest])}: ${text}`;
}

/** `profiles.pmta.metadata.x`, `SMTP_PORT`, `--option port`: where a path points. */
function locate(target: Target, entry: Entry | undefined, path: string[]): string {
  const [first, ...rest] = path;
  const inFile = rest.map((p) => "." + tomlKey(p)).join("");
  if (!entry) return `${target.location}${target.legacy ? " " : "."}${tomlKey(first!)}${inFile}`;
  if (entry.where.startsWith(target.location + ".")) return entry.where + inFile;
  return rest.length ? `${entry.where} (at ${rest.join(".")})` : entry.where;
}

function valuesOf(data: unknown, merged: Map<string, Entry>, keys: PluginKeys): ResolvedValue[] {
  if (data === null || typeof data !== "object") return [];
  const record = data as Record<string, unknown>;
  const order = [...Object.keys(keys.shape ?? {}), ...Object.keys(record)];
  const values: ResolvedValue[] = [];
  for (const key of new Set(order)) {
    const value = record[key];
    if (value === undefined) continue;
    const display = keys.secrets.has(key) ? MASK : displayValue(value);
    values.push({ key, display, source: merged.get(key)?.source ?? "default" });
  }
  return values;
}

/** Plain text as is; text that would read ambiguously (empty, padded, quotes, controls) quoted. */
function displayValue(value: unknown): string {
  if (typeof value === "string") {
    const isPlain = value !== "" && value.trim() === value &&
      ![...value].some((c) => c < " " || c === "\x7f" || c === '"');
    return isPlain ? value : JSON.stringify(value);
  }
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? String(value);
}

/** A key as TOML writes it: bare when it can be, quoted otherwise. */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** Clear-text secrets in a loose file: only then are the other profiles' plugins loaded. */
async function fileWarnings(config: ConfigFile, registry: PluginRegistry): Promise<string[]> {
  if (config.mode === null || (config.mode & 0o077) === 0) return [];
  const { profilePath } = await import("./file.ts");
  const warnings: string[] = [];
  for (const [name, profile] of Object.entries(config.profiles)) {
    const plugin = await loadPlugin(registry, profile.plugin);
    for (const key of plugin?.secrets ?? []) {
      if (profile[key] === undefined) continue;
      warnings.push(
        `${config.display}: ${profilePath(name)}.${key} is a clear-text secret in a file ` +
          `readable by group/others (chmod 600 it, or use ${key}_file / ${key}_command)`,
      );
    }
  }
  return warnings;
}

function flagWarnings(target: Target, merged: Map<string, Entry>): string[] {
  const warnings: string[] = [];
  for (const entry of merged.values()) {
    if (entry.source !== FLAG_SOURCE || entry.form !== "value") continue;
    if (!target.keys.secrets.has(entry.key)) continue;
    const name = target.plugin.env?.[entry.key];
    warnings.push(
      `${entry.where}: a secret on the command line is visible to other local users ` +
        `(use ${entry.key}_file / ${entry.key}_command${name ? ` or ${name}` : ""})`,
    );
  }
  return warnings;
}
