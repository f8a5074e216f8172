/**
 * Where a run delivers: the delivery flags (--config, --profile,
 * --send_smtp, --send_api, --option) turned into configuration inputs, and
 * the resolved profile.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import { locateConfig } from "../config/locate.ts";
import type { ConfigInputs, ResolvedDelivery } from "../config/mod.ts";

/** The delivery options of a command (see withDeliveryOptions in options.ts). */
export type DeliveryFlags = {
  config?: string;
  profile?: string;
  sendSmtp?: true;
  send_smtp?: true;
  sendApi?: true;
  send_api?: true;
  option?: string[];
};

/**
 * The configuration inputs the flags describe.
 *
 * @throws {SmimeError} E_USAGE for conflicting flags or a malformed --option
 */
export function deliveryInputs(options: DeliveryFlags): ConfigInputs {
  const smtp = options.sendSmtp || options.send_smtp;
  const api = options.sendApi || options.send_api;
  if (smtp && api) throw new SmimeError("E_USAGE", "conflicting: --send_smtp and --send_api");
  const overrides: Record<string, string> = {};
  for (const pair of options.option ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) {
      // Not echoed whole: "password:hunter2" is a likely typo, and its value a secret.
      const key = /^[A-Za-z0-9_.-]{0,40}/.exec(pair)![0];
      throw new SmimeError("E_USAGE", `--option: expected key=value, got "${key}..."`);
    }
    overrides[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    configFile: options.config,
    profile: options.profile,
    cwd: Deno.cwd(),
    env: readEnv,
    legacy: smtp ? "smtp" : api ? "api" : undefined,
    overrides,
  };
}

/**
 * The delivery the flags and config files ask for, or undefined (stdout).
 * The config and plugin modules load only when one may be configured, so a
 * one-message pipeline starts fast.
 */
export async function loadDelivery(inputs: ConfigInputs): Promise<ResolvedDelivery | undefined> {
  const asked = inputs.legacy || inputs.profile || inputs.configFile ||
    Object.keys(inputs.overrides ?? {}).length > 0 || await locateConfig(inputs);
  if (!asked) return undefined;
  const [{ resolveDelivery }, { plugins }] = await Promise.all([
    import("../config/resolve.ts"),
    import("../../plugins/mod.ts"),
  ]);
  return await resolveDelivery(plugins, inputs);
}

/** Deno.env.get that treats a variable outside the allowed set as unset. */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
