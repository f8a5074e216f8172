/**
 * The contract cases of a plugin's options: the documented example is
 * accepted, an unknown key is refused with the key named, every listed
 * secret is an option and is masked wherever options are shown.
 *
 * @module
 */
import { join } from "node:path";
import { stringify } from "smol-toml";
import { assert, assertEquals, assertIncludes, assertSmimeError } from "../assert.ts";
import type { DeliveryPlugin } from "../../../core/deliver/types.ts";
import {
  describeDelivery,
  parseConfig,
  redact,
  resolveDelivery,
  secretsOf,
} from "../../../core/config/mod.ts";
import { shapeOf } from "../../../core/config/schema.ts";

/** The example config every plugin's documented example comes from. */
const EXAMPLE_CONFIG = new URL("../../../fixtures/config/smimepost.example.toml", import.meta.url);

/** The plugin's profiles in the example config, secrets given as plain values. */
async function documentedExamples(plugin: DeliveryPlugin): Promise<Record<string, unknown>[]> {
  const config = parseConfig(await Deno.readTextFile(EXAMPLE_CONFIG), "smimepost.example.toml");
  return Object.values(config.profiles)
    .filter((profile) => profile.plugin === plugin.id)
    .map(({ plugin: _id, ...values }) => {
      const plain: Record<string, unknown> = { ...values };
      for (const secret of plugin.secrets) {
        for (const form of [`${secret}_file`, `${secret}_command`]) {
          if (form in plain) {
            delete plain[form];
            plain[secret] = `example-${secret}`;
          }
        }
      }
      return plain;
    });
}

/** Resolves `values` as profile "contract" of a config file of its own. */
async function resolveProfile(plugin: DeliveryPlugin, values: Record<string, unknown>) {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-contract-" });
  try {
    const file = join(dir, "smimepost.toml");
    const profile = { plugin: plugin.id, ...values };
    await Deno.writeTextFile(file, stringify({ profiles: { contract: profile } }), { mode: 0o600 });
    return await resolveDelivery(new Map([[plugin.id, plugin]]), {
      cwd: dir,
      env: () => undefined,
      configFile: file,
      profile: "contract",
      homeConfigDir: dir,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export function defineOptionChecks(plugin: DeliveryPlugin): void {
  const { id } = plugin;

  Deno.test(`${id}: options: the documented example is accepted`, async () => {
    const examples = await documentedExamples(plugin);
    assert(examples.length > 0, `fixtures/config/smimepost.example.toml has no profile for ${id}`);
    for (const example of examples) {
      const parsed = plugin.options.safeParse(example);
      assert(parsed.success, `${JSON.stringify(example)}: ${JSON.stringify(parsed.error)}`);
    }
  });

  Deno.test(`${id}: options: an unknown key is refused, the key named`, async () => {
    const [example] = await documentedExamples(plugin);
    const parsed = plugin.options.safeParse({ ...example, colour: "blue" });
    assert(!parsed.success, "an unknown key was accepted");
    const unknown = parsed.error.issues.find((i) => i.code === "unrecognized_keys");
    assertEquals(unknown && "keys" in unknown ? unknown.keys : undefined, ["colour"]);
    // As a user sees it: one line naming the profile and the key.
    const err = await assertSmimeError(
      () => resolveProfile(plugin, { ...example, colour: "blue" }),
      "E_CONFIG",
    );
    assertIncludes(err.message, "profiles.contract.colour: unknown option");
  });

  Deno.test(`${id}: secrets: every listed secret is an option and is masked`, async () => {
    const shape = shapeOf(plugin.options) ?? {};
    for (const key of plugin.secrets) assert(key in shape, `secret ${key} is not an option`);
    const [example] = await documentedExamples(plugin);
    const values: Record<string, unknown> = { ...example };
    const secrets = new Map(plugin.secrets.map((key) => [key, `${key}-${crypto.randomUUID()}`]));
    for (const [key, value] of secrets) values[key] = value;
    const resolved = await resolveProfile(plugin, values);
    assert(resolved, "the profile resolved to no delivery");
    const shown = [...describeDelivery(resolved), ...resolved.warnings].join("\n");
    const known = secretsOf(resolved);
    for (const [key, value] of secrets) {
      assertIncludes(shown, `  ${key} = ****`);
      assert(!shown.includes(value), `${key} shown in clear`);
      assert(known.includes(value), `${key} is not among the values redacted`);
      assertEquals(redact(`535 5.7.8 bad ${value}`, known), "535 5.7.8 bad ****");
    }
  });
}
