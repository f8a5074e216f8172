/**
 * Small fake plugins and a temporary-folder helper for the config tests; the
 * real plugins are tested in their own folders.
 *
 * @module
 */
import { z } from "zod";
import { join } from "node:path";
import type { DeliveryPlugin } from "../deliver/types.ts";
import { resolveDelivery } from "./resolve.ts";
import type { ConfigInputs, ResolvedDelivery } from "./types.ts";

function fake<O>(plugin: Omit<DeliveryPlugin<O>, "create" | "description">): DeliveryPlugin<O> {
  return {
    ...plugin,
    description: `fake ${plugin.id}`,
    create: () => {
      throw new Error("fake plugin");
    },
  };
}

const smtp = z.object({
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(587),
  tls: z.enum(["auto", "require", "never", "implicit"]).default("auto"),
  tls_ca_file: z.string().optional(),
  tls_insecure: z.boolean().default(false),
  user: z.string().optional(),
  password: z.string().min(1).optional(),
  timeout_seconds: z.number().positive().optional(),
}).strict();

const smtpGeneric = fake({
  id: "smtp-generic",
  options: smtp,
  secrets: ["password"],
  env: {
    host: "SMTP_HOST",
    port: "SMTP_PORT",
    user: "SMTP_USER",
    password: "SMTP_PASSWORD",
    tls: "SMTP_TLS",
    tls_ca_file: "SMTP_CA_FILE",
  },
});

const sparkpostApi = fake({
  id: "sparkpost-api",
  options: z.object({
    api_key: z.string().min(8),
    host: z.string().default("api.sparkpost.com"),
    region: z.enum(["us", "eu"]).default("us"),
    metadata: z.record(z.string(), z.unknown()).optional(),
    tags: z.array(z.string()).optional(),
    transactional: z.boolean().optional(),
  }).strict(),
  secrets: ["api_key"],
  env: { api_key: "SPARKPOST_API_KEY", host: "SPARKPOST_HOST" },
});

const powermta = fake({
  id: "powermta",
  options: smtp.extend({
    port: z.int().min(1).max(65535).default(25),
    virtual_mta: z.string().optional(),
    job: z.string().regex(/^\S+$/).optional(),
    transport: z.enum(["smtp", "http"]).default("smtp"),
    api_key: z.string().optional(),
  }).strict(),
  secrets: ["password", "api_key"],
});

/** The fake registry, in the order messages list plugin ids. */
export const registry: ReadonlyMap<string, DeliveryPlugin> = new Map<string, DeliveryPlugin>(
  [smtpGeneric, sparkpostApi, powermta].map((p) => [p.id, p as DeliveryPlugin]),
);

/** A temporary folder with files in it; removed by `dispose`. */
export interface Scratch {
  dir: string;
  path(name: string): string;
  write(name: string, text: string, mode?: number): Promise<string>;
  dispose(): Promise<void>;
}

/** Makes a scratch folder. */
export async function scratch(): Promise<Scratch> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-config-" });
  return {
    dir,
    path: (name) => join(dir, name),
    async write(name, text, mode = 0o600) {
      const path = join(dir, name);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeTextFile(path, text, { mode });
      await Deno.chmod(path, mode);
      return path;
    },
    dispose: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Resolves with `config` as ./smimepost.toml (when given) and `files` in a
 * fresh folder, an empty per-user folder, and `vars` as the whole environment.
 */
export async function resolveWith(
  config: string | undefined,
  inputs: Partial<ConfigInputs> & {
    vars?: Record<string, string>;
    files?: Record<string, string>;
  } = {},
): Promise<ResolvedDelivery | undefined> {
  const tmp = await scratch();
  try {
    if (config !== undefined) await tmp.write("smimepost.toml", config);
    const { vars = {}, files = {}, ...rest } = inputs;
    for (const [name, text] of Object.entries(files)) await tmp.write(name, text);
    return await resolveDelivery(registry, {
      cwd: tmp.dir,
      env: (name) => vars[name],
      homeConfigDir: tmp.path("home"),
      ...rest,
    });
  } finally {
    await tmp.dispose();
  }
}
