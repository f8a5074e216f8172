/**
 * Finding, reading and parsing `smimepost.toml`: `--config FILE`, else
 * `./smimepost.toml`, else `$XDG_CONFIG_HOME/smimepost/smimepost.toml`
 * (`~/.config/smimepost/smimepost.toml`). Only a file named by `--config`
 * that is missing is an error.
 *
 * @module
 */
import { parse, TomlError } from "smol-toml";
import { z } from "zod";
import { SmimeError } from "../errors.ts";
import { didYouMean } from "./suggest.ts";
import { showValue } from "./schema.ts";
import { ioReason } from "./locate.ts";
import type { ConfigLocation } from "./locate.ts";
export {
  CONFIG_FILE_NAME,
  defaultLocations,
  homeConfigDir,
  ioReason,
  locateConfig,
} from "./locate.ts";
export type { ConfigLocation } from "./locate.ts";

/** The keys allowed at the top of the file. */
export const TOP_LEVEL_KEYS: readonly string[] = [
  "default_profile",
  "keys",
  "trust",
  "profiles",
  "nats",
];

/** A top-level path setting: `keys = "keys/"`, `trust = "ca.pem"`. */
const pathSetting = z.string().min(1, "expected a path, got an empty string").optional();

/** A parsed and shape-checked config file. */
export interface ConfigFile extends ConfigLocation {
  defaultProfile?: string;
  /** The key folder, as written (relative to the file's folder). */
  keys?: string;
  /** The trust bundle, as written (relative to the file's folder). */
  trust?: string;
  profiles: Record<string, Record<string, unknown>>;
  /** The [nats] table: the job queue of `enqueue`, `worker` and `status` (checked when used). */
  nats?: Record<string, unknown>;
  /** Permission bits, or null where the platform has none. */
  mode: number | null;
}

/**
 * Reads and parses the file, checking the top-level shape (profiles are
 * checked when one is used).
 * @throws SmimeError E_CONFIG on unreadable files, TOML syntax errors
 *   (`smimepost.toml: line 3: <reason>`) and misshapen top-level keys
 */
export async function loadConfig(location: ConfigLocation): Promise<ConfigFile> {
  const { path, display } = location;
  let text: string;
  let mode: number | null;
  try {
    text = await Deno.readTextFile(path);
    mode = (await Deno.stat(path)).mode;
  } catch (err) {
    throw new SmimeError("E_CONFIG", `cannot read config file "${display}": ${ioReason(err)}`, {
      cause: err,
    });
  }
  return { ...location, mode, ...parseConfig(text, display) };
}

/**
 * Parses config text and checks the top-level shape.
 * @throws SmimeError E_CONFIG
 */
export function parseConfig(
  text: string,
  display: string,
): Pick<ConfigFile, "defaultProfile" | "keys" | "trust" | "profiles" | "nats"> {
  let data: Record<string, unknown>;
  try {
    data = parse(text);
  } catch (err) {
    throw new SmimeError("E_CONFIG", `${display}: ${tomlReason(err)}`, { cause: err });
  }
  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      const hint = didYouMean(key, TOP_LEVEL_KEYS);
      throw new SmimeError("E_CONFIG", `${display}: unknown key ${JSON.stringify(key)}${hint}`);
    }
  }
  const defaultProfile = data.default_profile;
  if (defaultProfile !== undefined && typeof defaultProfile !== "string") {
    throw new SmimeError(
      "E_CONFIG",
      `default_profile: expected a string, got ${showValue(defaultProfile, false)}`,
    );
  }
  const paths: { keys?: string; trust?: string } = {};
  for (const key of ["keys", "trust"] as const) {
    const checked = pathSetting.safeParse(data[key]);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      const reason = issue.code === "invalid_type"
        ? `expected a path (string), got ${showValue(data[key], false)}`
        : issue.message;
      throw new SmimeError("E_CONFIG", `${display}: ${key}: ${reason}`);
    }
    if (checked.data !== undefined) paths[key] = checked.data;
  }
  const profiles = data.profiles ?? {};
  if (!isTable(profiles)) {
    throw new SmimeError(
      "E_CONFIG",
      `profiles: expected a table, got ${showValue(profiles, false)}`,
    );
  }
  for (const [name, profile] of Object.entries(profiles)) {
    if (!isTable(profile)) {
      throw new SmimeError(
        "E_CONFIG",
        `${profilePath(name)}: expected a table, got ${showValue(profile, false)}`,
      );
    }
  }
  const nats = data.nats;
  if (nats !== undefined && !isTable(nats)) {
    throw new SmimeError("E_CONFIG", `nats: expected a table, got ${showValue(nats, false)}`);
  }
  return {
    defaultProfile,
    ...paths,
    profiles: profiles as Record<string, Record<string, unknown>>,
    ...(nats === undefined ? {} : { nats }),
  };
}

function tomlReason(err: unknown): string {
  const first = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  const reason = first.replace(/^Invalid TOML document:\s*/, "");
  return err instanceof TomlError ? `line ${err.line}: ${reason}` : reason;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** `profiles.pmta`, quoting names that are not bare TOML keys. */
export function profilePath(name: string): string {
  return `profiles.${/^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name)}`;
}
