/**
 * Finding, reading and parsing `smimepost.toml`: `--config FILE`, else
 * `./smimepost.toml`, else `$XDG_CONFIG_HOME/smimepost/smimepost.toml`
 * (`~/.config/smimepost/smimepost.toml`). Only a file named by `--config`
 * that is missing is an error.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { SmimeError } from "../errors.ts";
import { didYouMean } from "./suggest.ts";
import { showValue } from "./schema.ts";
import type { ConfigInputs } from "./types.ts";

/** The file name looked for in the current folder and the per-user folder. */
export const CONFIG_FILE_NAME = "smimepost.toml";

/** The keys allowed at the top of the file. */
export const TOP_LEVEL_KEYS: readonly string[] = ["default_profile", "profiles"];

/** A config file located on disk. */
export interface ConfigLocation {
  /** Absolute path. */
  path: string;
  /** As shown in messages: as given to --config, "smimepost.toml" in cwd, else absolute. */
  display: string;
}

/** A parsed and shape-checked config file. */
export interface ConfigFile extends ConfigLocation {
  defaultProfile?: string;
  profiles: Record<string, Record<string, unknown>>;
  /** Permission bits, or null where the platform has none. */
  mode: number | null;
}

/** The per-user config folder: `$XDG_CONFIG_HOME/smimepost` or `$HOME/.config/smimepost`. */
export function homeConfigDir(inputs: ConfigInputs): string | undefined {
  if (inputs.homeConfigDir !== undefined) return inputs.homeConfigDir;
  const xdg = inputs.env("XDG_CONFIG_HOME");
  if (xdg && isAbsolute(xdg)) return join(xdg, "smimepost");
  const home = inputs.env("HOME");
  return home ? join(home, ".config", "smimepost") : undefined;
}

/** The places a config file is looked for when --config is not given, in order. */
export function defaultLocations(inputs: ConfigInputs): ConfigLocation[] {
  const places = [{ path: resolve(inputs.cwd, CONFIG_FILE_NAME), display: CONFIG_FILE_NAME }];
  const dir = homeConfigDir(inputs);
  if (dir !== undefined) {
    const path = resolve(inputs.cwd, dir, CONFIG_FILE_NAME);
    places.push({ path, display: path });
  }
  return places;
}

/**
 * The config file to use, or undefined when none exists and none was named.
 * @throws SmimeError E_CONFIG when --config names a file that cannot be found
 */
export async function locateConfig(inputs: ConfigInputs): Promise<ConfigLocation | undefined> {
  if (inputs.configFile !== undefined) {
    const path = resolve(inputs.cwd, inputs.configFile);
    const display = inputs.configFile;
    if (!(await isFile(path, display))) {
      throw new SmimeError("E_CONFIG", `cannot read config file "${display}": not found`);
    }
    return { path, display };
  }
  for (const place of defaultLocations(inputs)) {
    if (await isFile(place.path, place.display)) return place;
  }
  return undefined;
}

async function isFile(path: string, display: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw new SmimeError("E_CONFIG", `cannot read config file "${display}": ${ioReason(err)}`, {
      cause: err,
    });
  }
}

/** A short reason for a failed file operation, without paths or stacks. */
export function ioReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "not found";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotCapable) return "not allowed (Deno permission)";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  if (err instanceof Error) return (err.message.split("\n")[0] ?? "").replace(/:? \S+ '.*'$/, "");
  return String(err);
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
): Pick<ConfigFile, "defaultProfile" | "profiles"> {
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
  return { defaultProfile, profiles: profiles as Record<string, Record<string, unknown>> };
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
