/**
 * Where the config file is: --config, ./smimepost.toml, then the per-user
 * folder. Light on purpose (no TOML, no zod): the CLI asks it whether a
 * delivery may be configured before loading the rest.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import { SmimeError } from "../errors.ts";
import type { ConfigInputs } from "./types.ts";

/** The file name looked for in the current folder and the per-user folder. */
export const CONFIG_FILE_NAME = "smimepost.toml";

/** A config file located on disk. */
export interface ConfigLocation {
  /** Absolute path. */
  path: string;
  /** As shown in messages: as given to --config, "smimepost.toml" in cwd, else absolute. */
  display: string;
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
