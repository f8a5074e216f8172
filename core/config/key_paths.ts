/**
 * Where the key folder and the trust bundle are: `--keys` / `--trust`, else
 * SMIMEPOST_KEYS / SMIMEPOST_TRUST, else top-level `keys = "..."` /
 * `trust = "..."` in `smimepost.toml` (relative to the file's folder), else
 * the current folder and no bundle. The same precedence as delivery options:
 * flags beat the environment, which beats the file.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { locateConfig } from "./locate.ts";
import type { ConfigInputs } from "./types.ts";

/** The variables that name the key folder and the trust bundle. */
export const KEY_PATH_ENV = { keys: "SMIMEPOST_KEYS", trust: "SMIMEPOST_TRUST" } as const;

/** One resolved path and where it came from. */
export interface KeyPath {
  path: string;
  /** "flag --keys", "env SMIMEPOST_KEYS", "file smimepost.toml", "default". */
  source: string;
}

/** The key folder and, when one is given anywhere, the trust bundle. */
export interface KeyPaths {
  keys: KeyPath;
  trust?: KeyPath;
}

/**
 * Resolves the key folder and the trust bundle. The config file is read
 * only when a flag or variable leaves one of them open.
 *
 * @throws {SmimeError} E_CONFIG when the config file cannot be read or its `keys` / `trust` are not paths
 */
export async function resolveKeyPaths(
  inputs: ConfigInputs,
  flags: { keys?: string; trust?: string },
): Promise<KeyPaths> {
  const given = (name: "keys" | "trust"): KeyPath | undefined => {
    const flag = flags[name];
    if (flag !== undefined) return { path: flag, source: `flag --${name}` };
    const env = inputs.env(KEY_PATH_ENV[name]);
    return env ? { path: env, source: `env ${KEY_PATH_ENV[name]}` } : undefined;
  };
  let keys = given("keys");
  let trust = given("trust");
  if (!keys || !trust) {
    const location = await locateConfig(inputs);
    // The file's reader (a TOML parser, the file's schema) loads only when there is a file.
    const config = location ? await (await import("./file.ts")).loadConfig(location) : undefined;
    if (config) {
      const base = dirname(config.path);
      const source = `file ${config.display}`;
      if (!keys && config.keys) keys = { path: resolve(base, config.keys), source };
      if (!trust && config.trust) trust = { path: resolve(base, config.trust), source };
    }
  }
  return { keys: keys ?? { path: ".", source: "default" }, ...(trust ? { trust } : {}) };
}

/** The lines `config check` prints for the key folder and the trust bundle. */
export function keyPathLines(paths: KeyPaths): string[] {
  const rows = [
    [`keys = ${paths.keys.path}`, paths.keys.source],
    paths.trust
      ? [`trust = ${paths.trust.path}`, paths.trust.source]
      : ["trust = (none: certificate chains are not checked)", "default"],
  ] as const;
  const width = Math.max(...rows.map(([text]) => text.length));
  return rows.map(([text, source]) => `${text.padEnd(width)}   (${source})`);
}

/** The key folder and trust bundle as `config check --json` prints them. */
export function keyPathsJson(paths: KeyPaths): Record<string, unknown> {
  return {
    keys: { path: paths.keys.path, source: paths.keys.source },
    trust: paths.trust ? { path: paths.trust.path, source: paths.trust.source } : null,
  };
}
