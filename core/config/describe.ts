/**
 * The lines `smimepost config check` prints for a resolved delivery target.
 *
 * @module
 */
import type { ResolvedDelivery } from "./types.ts";

/**
 * Lines describing where delivery goes and where each option came from;
 * secrets are "****".
 *
 * @example
 * ```ts
 * import { plugins } from "../../plugins/mod.ts";
 * import { describeDelivery } from "./describe.ts";
 * import { resolveDelivery } from "./resolve.ts";
 *
 * const env: Record<string, string | undefined> = { SMTP_HOST: "mx.example", SMTP_PASSWORD: "s3" };
 * const resolved = await resolveDelivery(plugins, {
 *   cwd: Deno.cwd(),
 *   env: (name) => env[name],
 *   legacy: "smtp",
 * });
 * const lines = describeDelivery(resolved!);
 * // ["profile --send_smtp (plugin smtp-generic) from the environment and --option flags",
 * //  "  host = mx.example   (env SMTP_HOST)", ..., "  password = ****   (env SMTP_PASSWORD)", ...]
 * if (!lines.some((line) => line.startsWith("  password = ****"))) throw new Error(lines.join("\n"));
 * ```
 */
export function describeDelivery(resolved: ResolvedDelivery): string[] {
  const origin = resolved.file ?? "the environment and --option flags";
  const lines = [`profile ${resolved.profile} (plugin ${resolved.plugin.id}) from ${origin}`];
  const settings = resolved.values.map((v) => `  ${v.key} = ${v.display}`);
  const width = Math.max(0, ...settings.map((s) => s.length));
  resolved.values.forEach((v, i) => {
    lines.push(`${settings[i]!.padEnd(width)}   (${v.source})`);
  });
  return lines;
}

/** The resolved delivery as `config check --json` prints it; secrets are "****". */
export function deliveryJson(resolved: ResolvedDelivery): Record<string, unknown> {
  return {
    profile: resolved.profile,
    plugin: resolved.plugin.id,
    file: resolved.file ?? null,
    values: resolved.values.map((v) => ({ key: v.key, value: v.display, source: v.source })),
    warnings: resolved.warnings,
  };
}
