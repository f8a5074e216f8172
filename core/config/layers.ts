/**
 * Option layers: the values one source (plugin defaults, a profile in the
 * file, the environment, `--option` flags) gives, checked against the
 * plugin's keys, coerced, and merged by precedence. Secrets given as
 * `<key>_file` / `<key>_command` are read only when their layer wins.
 *
 * @module
 */
import type { z } from "zod";
import { resolve } from "node:path";
import type { DeliveryPlugin } from "../deliver/types.ts";
import { SmimeError } from "../errors.ts";
import { coerceText, shapeOf, showValue } from "./schema.ts";
import { readSecretFile, runSecretCommand, SECRET_SUFFIXES } from "./secrets.ts";
import { didYouMean } from "./suggest.ts";

/** How one option was given. */
export type EntryForm = "value" | "file" | "command";

/** One option from one layer. */
export interface Entry {
  /** The option key ("api_key", also for api_key_file). */
  key: string;
  /** The key as written ("api_key_file"). */
  given: string;
  form: EntryForm;
  /** The value as given, coerced for environment and flags; a path or command for secret forms. */
  raw: unknown;
  /** Where to point in messages: `profiles.sp.api_key_file`, `SMTP_PORT`, `--option port`. */
  where: string;
  /** For `values[].source`. */
  source: string;
  /** Relative `_file` paths resolve against this folder. */
  baseDir: string;
}

/** What the layers need to know about a plugin's options. */
export interface PluginKeys {
  shape?: Record<string, z.ZodType>;
  secrets: ReadonlySet<string>;
  /** Every key a user may write: options plus secret forms. */
  allowed: string[];
}

/** The keys of a plugin's options schema and their secret forms. */
export function pluginKeys(plugin: DeliveryPlugin): PluginKeys {
  const shape = shapeOf(plugin.options);
  const secrets = new Set(plugin.secrets);
  const allowed = Object.keys(shape ?? {});
  for (const secret of secrets) for (const suffix of SECRET_SUFFIXES) allowed.push(secret + suffix);
  return { shape, secrets, allowed };
}

/** One layer as it is written, before checking. */
export interface LayerInput {
  values: Record<string, unknown>;
  /** Location of a key for messages. */
  where: (given: string) => string;
  /** Location of the layer as a whole, for "give only one of" messages. */
  whole: string;
  /** For `values[].source`, e.g. "flag --option" or "env SMTP_HOST". */
  source: (given: string) => string;
  baseDir: string;
  /** Strings from the environment and flags are coerced to the schema's types. */
  coerce: boolean;
}

/**
 * Checks one layer's keys and values and returns its entries by option key.
 * @throws SmimeError E_CONFIG for unknown keys (with a suggestion), a secret
 *   given in two forms, or a string that cannot be coerced
 */
export function readLayer(layer: LayerInput, keys: PluginKeys): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const [given, raw] of Object.entries(layer.values)) {
    const where = layer.where(given);
    const { key, form } = classify(given, keys, where);
    if (entries.has(key)) {
      const forms = [key, ...SECRET_SUFFIXES.map((s) => key + s)].join(", ");
      throw new SmimeError("E_CONFIG", `${layer.whole}: give only one of ${forms}`);
    }
    const isSecret = keys.secrets.has(key);
    let value = raw;
    if (form !== "value" && typeof raw !== "string") {
      throw new SmimeError("E_CONFIG", `${where}: expected a string, got ${showValue(raw, false)}`);
    }
    if (form === "value" && layer.coerce && typeof raw === "string") {
      const coerced = coerceText(keys.shape?.[key], raw);
      if ("expected" in coerced) {
        const got = showValue(raw, isSecret);
        throw new SmimeError("E_CONFIG", `${where}: expected ${coerced.expected}, got ${got}`);
      }
      value = coerced.value;
    }
    entries.set(key, {
      key,
      given,
      form,
      raw: value,
      where,
      source: layer.source(given),
      baseDir: layer.baseDir,
    });
  }
  return entries;
}

function classify(
  given: string,
  keys: PluginKeys,
  where: string,
): { key: string; form: EntryForm } {
  if (!keys.shape || Object.hasOwn(keys.shape, given)) return { key: given, form: "value" };
  for (const suffix of SECRET_SUFFIXES) {
    const base = given.slice(0, -suffix.length);
    if (given.endsWith(suffix) && keys.secrets.has(base)) {
      return { key: base, form: suffix === "_file" ? "file" : "command" };
    }
  }
  let hint = didYouMean(given, keys.allowed);
  const base = given.replace(/_(file|command)$/, "");
  if (hint === "" && base !== given && Object.hasOwn(keys.shape, base)) {
    const secrets = keys.secrets.size ? [...keys.secrets].join(", ") : "none here";
    hint = ` (only secret options can be given as _file / _command: ${secrets})`;
  }
  throw new SmimeError("E_CONFIG", `${where}: unknown option${hint}`);
}

/**
 * The secret values among `entries`, for masking: those given as values,
 * and with `read` (after {@link readSecrets}) those read from a file or a
 * command too. Every layer's count, not only the winner's: an overridden
 * password must not show either.
 */
export function secretsIn(entries: Iterable<Entry>, keys: PluginKeys, read = false): string[] {
  return [...entries]
    .filter((e) => keys.secrets.has(e.key) && (read || e.form === "value"))
    .flatMap((e) => typeof e.raw === "string" ? [e.raw] : []);
}

/** Merges layers, later ones winning key by key. */
export function mergeLayers(layers: readonly Map<string, Entry>[]): Map<string, Entry> {
  const merged = new Map<string, Entry>();
  for (const layer of layers) for (const [key, entry] of layer) merged.set(key, entry);
  return merged;
}

/**
 * Reads `_file` secrets and runs `_command` secrets of the winning entries,
 * turning them into values; their sources become "api_key_file /path" and
 * "api_key_command".
 * @throws SmimeError E_CONFIG naming the key (and file) when a secret cannot be had
 */
export async function readSecrets(entries: Map<string, Entry>): Promise<void> {
  for (const entry of entries.values()) {
    if (entry.form === "file") {
      const path = resolve(entry.baseDir, entry.raw as string);
      entry.raw = await readSecretFile(path, entry.where);
      entry.source = `${entry.given} ${path}`;
    } else if (entry.form === "command") {
      entry.raw = await runSecretCommand(entry.raw as string, entry.where);
      entry.source = entry.given;
    }
  }
}
