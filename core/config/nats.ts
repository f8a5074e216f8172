/**
 * The [nats] table of `smimepost.toml`: where the job queue of `enqueue`,
 * `worker` and `status` lives, and how to log in to it. Resolved like a
 * delivery profile: flags (`--nats URL`, `--stream NAME`) beat the
 * environment (SMIMEPOST_NATS_*), which beats the file, which beats the
 * defaults; `password` and `token` may be given as `_file` / `_command`, and
 * every secret (those two, a password inside the URL, the `.creds` file's
 * JWT and seed) is masked in every message.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { SmimeError } from "../errors.ts";
import { loadConfig } from "./file.ts";
import { mergeLayers, readLayer, readSecrets, secretsIn } from "./layers.ts";
import type { Entry, PluginKeys } from "./layers.ts";
import { locateConfig } from "./locate.ts";
import { explainIssue, shapeOf } from "./schema.ts";
import { MASK, redact, SECRET_SUFFIXES } from "./secrets.ts";
import type { ConfigInputs, ResolvedValue } from "./types.ts";

/** The stream a run uses when none is named. */
export const DEFAULT_STREAM = "SMIMEPOST";

/** Stream names: they also make subjects and an object-store bucket name. */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** The options of the [nats] table. */
export const natsSchema = z.strictObject({
  url: z.string().min(1),
  stream: z.string().regex(STREAM_NAME, "1-32 letters, digits, _ or -").default(DEFAULT_STREAM),
  user: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  /** Path of a `.creds` file (a user JWT and its NKey seed). */
  creds: z.string().min(1).optional(),
  tls_ca_file: z.string().min(1).optional(),
  tls_cert_file: z.string().min(1).optional(),
  tls_key_file: z.string().min(1).optional(),
  /** Refuse a server that does not offer TLS. */
  tls_required: z.boolean().default(false),
  /** How long a worker may hold a job without a sign of life before it goes to another. */
  ack_wait_seconds: z.number().int().min(5).max(3600).default(30),
  /** How long a message id is remembered, so that enqueueing it again queues nothing. */
  duplicate_window_seconds: z.number().int().min(1).max(7 * 86400).default(120),
});

type NatsOptions = z.infer<typeof natsSchema>;

const SECRETS = ["password", "token"] as const;

/** Environment variables that set [nats] options. */
export const NATS_ENV: Readonly<Record<string, string>> = {
  url: "SMIMEPOST_NATS_URL",
  stream: "SMIMEPOST_NATS_STREAM",
  user: "SMIMEPOST_NATS_USER",
  password: "SMIMEPOST_NATS_PASSWORD",
  token: "SMIMEPOST_NATS_TOKEN",
  creds: "SMIMEPOST_NATS_CREDS",
};

/** Option keys that name files; relative paths start at the config file's folder. */
const PATH_KEYS = ["creds", "tls_ca_file", "tls_cert_file", "tls_key_file"] as const;

/** The queue settings, resolved. */
export interface NatsSettings {
  /** Server URLs without credentials. */
  servers: string[];
  /** The URL(s) as messages show them: never with credentials. */
  display: string;
  stream: string;
  user?: string;
  password?: string;
  token?: string;
  /** Absolute path of the `.creds` file. */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string; required: boolean };
  ackWaitMs: number;
  duplicateWindowMs: number;
  /** Where each option came from, for messages: "nats.password", "SMIMEPOST_NATS_TOKEN". */
  where: Record<string, string>;
  /** Every option with its source, secrets masked. */
  values: ResolvedValue[];
  /** Every secret value, for {@link redact}. */
  secrets: string[];
  /** Things to fix that do not stop the run (no secrets in them). */
  warnings: string[];
}

/** What the queue commands give on the command line. */
export interface NatsFlags {
  /** `--nats URL` */
  url?: string;
  /** `--stream NAME` */
  stream?: string;
}

/**
 * Resolves the [nats] settings from the flags, the environment and the
 * config file (`--config`, else the usual places; none is fine when
 * `--nats` is given).
 *
 * @throws {SmimeError} E_USAGE when no URL is given anywhere; E_CONFIG (one
 *   line naming the key, variable or flag) for everything else
 */
export async function resolveNats(inputs: ConfigInputs, flags: NatsFlags): Promise<NatsSettings> {
  const location = await locateConfig(inputs);
  const config = location ? await loadConfig(location) : undefined;
  const keys = natsKeys();
  const seen: string[] = [];
  try {
    const layers: Map<string, Entry>[] = [];
    if (config?.nats) {
      layers.push(readLayer({
        values: config.nats,
        where: (k) => `nats.${k}`,
        whole: "nats",
        source: () => `file ${config.display} [nats]`,
        baseDir: dirname(config.path),
        coerce: false,
      }, keys));
    }
    const envValues: Record<string, string> = {};
    for (const [key, name] of Object.entries(NATS_ENV)) {
      const value = inputs.env(name);
      if (value !== undefined && value !== "") envValues[key] = value;
    }
    layers.push(readLayer({
      values: envValues,
      where: (k) => NATS_ENV[k] ?? k,
      whole: "environment",
      source: (k) => `env ${NATS_ENV[k]}`,
      baseDir: inputs.cwd,
      coerce: true,
    }, keys));
    const flagValues: Record<string, string> = {};
    if (flags.url !== undefined) flagValues.url = flags.url;
    if (flags.stream !== undefined) flagValues.stream = flags.stream;
    layers.push(readLayer({
      values: flagValues,
      where: (k) => (k === "url" ? "--nats" : "--stream"),
      whole: "the command line",
      source: (k) => `flag ${k === "url" ? "--nats" : "--stream"}`,
      baseDir: inputs.cwd,
      coerce: false,
    }, keys));
    seen.push(...layers.flatMap((layer) => secretsIn(layer.values(), keys)));
    const merged = mergeLayers(layers);
    if (!merged.has("url")) {
      throw new SmimeError(
        "E_USAGE",
        `no NATS server: give --nats URL, ${NATS_ENV.url}, or url in the [nats] table`,
      );
    }
    // The URL may carry user:password; they are taken out before anything shows it.
    const url = merged.get("url")!;
    const parsed = typeof url.raw === "string" ? splitCredentials(url.raw, url.where) : undefined;
    if (parsed?.password) seen.push(parsed.password);
    await readSecrets(merged);
    seen.push(...secretsIn(merged.values(), keys, true));
    const input = Object.fromEntries([...merged].map(([key, entry]) => [key, entry.raw]));
    if (parsed) input.url = parsed.servers.join(",");
    const result = natsSchema.safeParse(input);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const key = String(issue.path[0] ?? "");
      const entry = merged.get(key);
      const where = entry?.where ?? `nats.${key}`;
      const text = explainIssue(issue, entry?.raw, keys.shape?.[key], keys.secrets.has(key));
      throw new SmimeError("E_CONFIG", `${where}: ${text}`);
    }
    return settingsOf(result.data, merged, parsed!, config, keys, seen);
  } catch (err) {
    if (err instanceof SmimeError) {
      throw new SmimeError(err.code, redact(err.message, seen), { cause: err.cause });
    }
    throw err;
  }
}

function natsKeys(): PluginKeys {
  const shape = shapeOf(natsSchema);
  const secrets = new Set<string>(SECRETS);
  const allowed = Object.keys(shape ?? {});
  for (const secret of secrets) for (const suffix of SECRET_SUFFIXES) allowed.push(secret + suffix);
  return { shape, secrets, allowed };
}

interface SplitUrl {
  servers: string[];
  user?: string;
  password?: string;
}

/**
 * Takes `user:password@` (or a token as the user) out of each URL of a
 * comma-separated list.
 *
 * @throws {SmimeError} E_CONFIG for a URL that does not parse (shown without credentials)
 */
export function splitCredentials(text: string, where: string): SplitUrl {
  const out: SplitUrl = { servers: [] };
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(part) ? part : `nats://${part}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      const shown = withScheme.replace(/\/\/[^@/]*@/, "//");
      throw new SmimeError("E_CONFIG", `${where}: not a URL: ${JSON.stringify(shown)}`);
    }
    if (!["nats:", "tls:"].includes(url.protocol)) {
      throw new SmimeError(
        "E_CONFIG",
        `${where}: expected a nats:// or tls:// URL, got ${url.protocol}//${url.host}`,
      );
    }
    if (url.username) out.user ??= decodeURIComponent(url.username);
    if (url.password) out.password ??= decodeURIComponent(url.password);
    url.username = "";
    url.password = "";
    out.servers.push(`${url.protocol}//${url.host}`);
  }
  if (out.servers.length === 0) throw new SmimeError("E_CONFIG", `${where}: no URL given`);
  return out;
}

function settingsOf(
  options: NatsOptions,
  merged: Map<string, Entry>,
  url: SplitUrl,
  config: { display: string; mode: number | null } | undefined,
  keys: PluginKeys,
  seen: string[],
): NatsSettings {
  const path = (key: (typeof PATH_KEYS)[number]) => {
    const value = options[key];
    const entry = merged.get(key);
    return value === undefined ? undefined : resolve(entry?.baseDir ?? ".", value);
  };
  // The user:password of a URL counts where the URL was given, unless the keys are set too.
  const user = options.user ?? url.user;
  const password = options.password ?? url.password;
  const where: Record<string, string> = {};
  for (const [key, entry] of merged) where[key] = entry.where;
  if (!options.user && url.user) where.user = merged.get("url")!.where;
  if (!options.password && url.password) where.password = merged.get("url")!.where;
  const tlsGiven = options.tls_ca_file || options.tls_cert_file || options.tls_key_file ||
    options.tls_required || url.servers.some((s) => s.startsWith("tls:"));
  const values: ResolvedValue[] = [];
  const shown: Record<string, unknown> = { ...options, url: url.servers.join(",") };
  for (const key of Object.keys(keys.shape ?? {})) {
    const value = shown[key];
    if (value === undefined) continue;
    const display = keys.secrets.has(key) ? MASK : String(value);
    values.push({ key, display, source: merged.get(key)?.source ?? "default" });
  }
  const warnings: string[] = [];
  if (url.password) {
    warnings.push(
      `${merged.get("url")!.where}: a password in the URL is visible to other local users ` +
        `(use nats.password_file or ${NATS_ENV.password})`,
    );
  }
  if (config && config.mode !== null && (config.mode & 0o077) !== 0) {
    for (const key of SECRETS) {
      if (merged.get(key)?.where !== `nats.${key}` || merged.get(key)?.form !== "value") continue;
      warnings.push(
        `${config.display}: nats.${key} is a clear-text secret in a file readable by ` +
          `group/others (chmod 600 it, or use ${key}_file / ${key}_command)`,
      );
    }
  }
  return {
    servers: url.servers,
    display: url.servers.join(","),
    stream: options.stream,
    user,
    password,
    token: options.token,
    credsFile: path("creds"),
    tls: tlsGiven
      ? {
        caFile: path("tls_ca_file"),
        certFile: path("tls_cert_file"),
        keyFile: path("tls_key_file"),
        required: options.tls_required,
      }
      : undefined,
    ackWaitMs: options.ack_wait_seconds * 1000,
    duplicateWindowMs: options.duplicate_window_seconds * 1000,
    where,
    values,
    secrets: [...new Set(seen.filter((s) => s !== ""))],
    warnings: warnings.map((w) => redact(w, seen)),
  };
}
