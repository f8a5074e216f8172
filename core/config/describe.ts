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
 * import { describeDelivery } from "./describe.ts";
 * import type { ResolvedDelivery } from "./types.ts";
 *
 * function show(resolved: ResolvedDelivery): void {
 *   // ["profile pmta (plugin powermta) from smimepost.toml",
 *   //  "  host = 10.0.0.5   (file smimepost.toml [profiles.pmta])", ...]
 *   for (const line of describeDelivery(resolved)) console.log(line);
 * }
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
