import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals, assertSmimeError } from "../../tests/support/assert.ts";
import { parseConfig } from "./file.ts";
import { defaultLocations, homeConfigDir } from "./locate.ts";
import { resolveDelivery } from "./resolve.ts";
import { editDistance, suggest } from "./suggest.ts";
import { registry, scratch } from "./test_plugins.ts";

const RELAY = (host: string) =>
  `default_profile = "r"\n[profiles.r]\nplugin = "smtp-generic"\nhost = "${host}"\n`;

Deno.test("homeConfigDir() prefers $XDG_CONFIG_HOME, then $HOME/.config", () => {
  const vars: Record<string, string> = { XDG_CONFIG_HOME: "/x/cfg", HOME: "/home/u" };
  assertEquals(homeConfigDir({ cwd: "/", env: (n) => vars[n] }), "/x/cfg/smimepost");
  assertEquals(
    homeConfigDir({ cwd: "/", env: (n) => ({ HOME: "/home/u" })[n] }),
    "/home/u/.config/smimepost",
  );
  assertEquals(
    homeConfigDir({ cwd: "/", env: (n) => ({ XDG_CONFIG_HOME: "rel", HOME: "/h" })[n] }),
    "/h/.config/smimepost",
  );
  assertEquals(homeConfigDir({ cwd: "/", env: () => undefined }), undefined);
  assertEquals(defaultLocations({ cwd: "/w", env: () => undefined }).map((l) => l.path), [
    "/w/smimepost.toml",
  ]);
});

Deno.test("resolveDelivery() finds ./smimepost.toml first, then the XDG one", async () => {
  const tmp = await scratch();
  try {
    const xdgFile = await tmp.write("xdg/smimepost/smimepost.toml", RELAY("from-xdg"));
    await Deno.mkdir(tmp.path("work"));
    const vars: Record<string, string> = {
      XDG_CONFIG_HOME: tmp.path("xdg"),
      HOME: tmp.path("nohome"),
    };
    const inputs = { cwd: tmp.path("work"), env: (n: string) => vars[n] };
    const fromXdg = await resolveDelivery(registry, inputs);
    assertEquals(fromXdg?.file, xdgFile);
    assertEquals(fromXdg?.values[0]?.source, `file ${xdgFile} [profiles.r]`);
    assertEquals((fromXdg?.options as { host: string }).host, "from-xdg");

    await tmp.write("work/smimepost.toml", RELAY("from-cwd"));
    const fromCwd = await resolveDelivery(registry, inputs);
    assertEquals(fromCwd?.file, "smimepost.toml");
    assertEquals((fromCwd?.options as { host: string }).host, "from-cwd");

    await tmp.write("work/other.toml", RELAY("from-flag"));
    const named = await resolveDelivery(registry, { ...inputs, configFile: "other.toml" });
    assertEquals(named?.file, "other.toml");
    assertEquals((named?.options as { host: string }).host, "from-flag");
  } finally {
    await tmp.dispose();
  }
});

Deno.test("resolveDelivery() fails only for a missing file named by --config", async () => {
  const tmp = await scratch();
  try {
    const inputs = { cwd: tmp.dir, env: () => undefined, homeConfigDir: tmp.path("home") };
    assertEquals(await resolveDelivery(registry, inputs), undefined);
    const named = await assertSmimeError(
      () => resolveDelivery(registry, { ...inputs, configFile: "nope.toml" }),
      "E_CONFIG",
    );
    assertEquals(named.message, 'cannot read config file "nope.toml": not found');
    const profile = await assertSmimeError(
      () => resolveDelivery(registry, { ...inputs, profile: "pmta" }),
      "E_CONFIG",
    );
    assertEquals(
      profile.message,
      `--profile pmta: no config file found (looked for smimepost.toml, ${
        tmp.path("home/smimepost.toml")
      })`,
    );
    const conflict = await assertSmimeError(
      () => resolveDelivery(registry, { ...inputs, legacy: "api", configFile: "x.toml" }),
      "E_USAGE",
    );
    assertEquals(conflict.message, "conflicting: --send_api and --config");
  } finally {
    await tmp.dispose();
  }
});

Deno.test("suggest() offers only close keys", () => {
  assertEquals(editDistance("prot", "port"), 1);
  assertEquals(editDistance("hots", "host"), 1);
  assertEquals(editDistance("", "abc"), 3);
  assertEquals(suggest("prot", ["host", "port", "tls"]), "port");
  assertEquals(suggest("Host", ["host", "port"]), "host");
  assertEquals(suggest("api_key_flie", ["api_key", "api_key_file"]), "api_key_file");
  assertEquals(suggest("colour", ["host", "port", "tls"]), undefined);
  assertEquals(suggest("xyz", ["tls"]), undefined);
});

Deno.test("fixtures/config/smimepost.example.toml parses and covers every plugin", async () => {
  const path = join(
    fileURLToPath(new URL("../../fixtures/config/", import.meta.url)),
    "smimepost.example.toml",
  );
  const config = parseConfig(await Deno.readTextFile(path), "smimepost.example.toml");
  assert(config.defaultProfile !== undefined && config.defaultProfile in config.profiles);
  const plugins = new Set(Object.values(config.profiles).map((p) => p.plugin));
  for (const id of ["smtp-generic", "sparkpost-smtp", "sparkpost-api", "powermta", "momentum"]) {
    assert(plugins.has(id), `no profile for ${id}`);
  }
});

Deno.test("parseConfig() reads top-level keys and trust, and refuses what is not a path", async () => {
  const parsed = parseConfig('keys = "keys/"\ntrust = "ca.pem"\n', "smimepost.toml");
  assertEquals([parsed.keys, parsed.trust], ["keys/", "ca.pem"]);
  assertEquals(parseConfig("", "smimepost.toml").keys, undefined);
  await assertSmimeError(() => parseConfig("keys = 1\n", "smimepost.toml"), "E_CONFIG");
  await assertSmimeError(() => parseConfig('trust = ""\n', "smimepost.toml"), "E_CONFIG");
});
