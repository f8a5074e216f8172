import { assert, assertEquals, assertSmimeError } from "../../tests/support/assert.ts";
import { describeDelivery } from "./describe.ts";
import { resolveDelivery } from "./resolve.ts";
import { registry, resolveWith, scratch } from "./test_plugins.ts";
import type { PluginRegistry } from "./types.ts";

const PMTA = `default_profile = "pmta"
[profiles.pmta]
plugin = "powermta"
host = "10.0.0.5"
port = 2525
virtual_mta = "pool-statements"
[profiles.relay]
plugin = "smtp-generic"
host = "relay.example.net"
port = 587
user = "file-user"
`;

function sources(values: { key: string; display: string; source: string }[]): string[] {
  return values.map((v) => `${v.key}=${v.display} <- ${v.source}`);
}

Deno.test("resolveDelivery() takes flags over environment over file over defaults", async () => {
  const resolved = await resolveWith(PMTA, {
    profile: "relay",
    vars: { SMTP_PORT: "2526", SMTP_USER: "env-user", SMTP_TLS: "require" },
    overrides: { user: "flag-user", tls_insecure: "yes" },
  });
  assert(resolved);
  assertEquals(resolved.profile, "relay");
  assertEquals(resolved.plugin.id, "smtp-generic");
  assertEquals(resolved.file, "smimepost.toml");
  assertEquals(resolved.options, {
    host: "relay.example.net",
    port: 2526,
    tls: "require",
    tls_insecure: true,
    user: "flag-user",
  });
  assertEquals(sources(resolved.values), [
    "host=relay.example.net <- file smimepost.toml [profiles.relay]",
    "port=2526 <- env SMTP_PORT",
    "tls=require <- env SMTP_TLS",
    "tls_insecure=true <- flag --option",
    "user=flag-user <- flag --option",
  ]);
  assertEquals(resolved.warnings, []);
});

Deno.test("resolveDelivery() uses default_profile, --profile overrides it", async () => {
  const byDefault = await resolveWith(PMTA);
  assertEquals(byDefault?.profile, "pmta");
  assertEquals(byDefault?.options, {
    host: "10.0.0.5",
    port: 2525,
    tls: "auto",
    tls_insecure: false,
    virtual_mta: "pool-statements",
    transport: "smtp",
  });
  assertEquals(byDefault?.values.find((v) => v.key === "transport")?.source, "default");
  assertEquals((await resolveWith(PMTA, { profile: "relay" }))?.profile, "relay");
});

Deno.test("resolveDelivery() returns undefined when no delivery is configured", async () => {
  assertEquals(await resolveWith(undefined), undefined);
  assertEquals(await resolveWith(PMTA.replace('default_profile = "pmta"', "")), undefined);
  const err = await assertSmimeError(
    () => resolveWith(undefined, { overrides: { host: "x" } }),
    "E_USAGE",
  );
  assertEquals(
    err.message,
    "--option needs a delivery profile (--profile, default_profile in smimepost.toml), " +
      "--send_smtp or --send_api",
  );
});

Deno.test("resolveDelivery() --send_smtp reads SMTP_* only, port 25 by default", async () => {
  const resolved = await resolveWith("this is not TOML", {
    legacy: "smtp",
    vars: { SMTP_HOST: "mx.example.org", SMTP_USER: "u", SMTP_PASSWORD: "pw-LEGACY-1" },
  });
  assert(resolved);
  assertEquals(resolved.profile, "--send_smtp");
  assertEquals(resolved.file, undefined);
  assertEquals(resolved.options, {
    host: "mx.example.org",
    port: 25,
    tls: "auto",
    tls_insecure: false,
    user: "u",
    password: "pw-LEGACY-1",
  });
  assertEquals(sources(resolved.values), [
    "host=mx.example.org <- env SMTP_HOST",
    "port=25 <- default",
    "tls=auto <- default",
    "tls_insecure=false <- default",
    "user=u <- env SMTP_USER",
    "password=**** <- env SMTP_PASSWORD",
  ]);
  const withPort = await resolveWith(undefined, {
    legacy: "smtp",
    vars: { SMTP_HOST: "h", SMTP_PORT: "587", SMTP_CA_FILE: "/ca.pem" },
  });
  assertEquals(withPort?.options, {
    host: "h",
    port: 587,
    tls: "auto",
    tls_insecure: false,
    tls_ca_file: "/ca.pem",
  });
});

Deno.test("resolveDelivery() --send_api reads SPARKPOST_API_KEY and SPARKPOST_HOST", async () => {
  const resolved = await resolveWith(undefined, {
    legacy: "api",
    vars: { SPARKPOST_API_KEY: "key-LEGACY-API-7", SPARKPOST_HOST: "api.eu.sparkpost.com" },
  });
  assert(resolved);
  assertEquals(resolved.plugin.id, "sparkpost-api");
  assertEquals(resolved.options, {
    api_key: "key-LEGACY-API-7",
    host: "api.eu.sparkpost.com",
    region: "us",
  });
  assertEquals(sources(resolved.values), [
    "api_key=**** <- env SPARKPOST_API_KEY",
    "host=api.eu.sparkpost.com <- env SPARKPOST_HOST",
    "region=us <- default",
  ]);
});

Deno.test("resolveDelivery() legacy flag errors", async () => {
  const cases: [Parameters<typeof resolveWith>[1], string, string][] = [
    [{ legacy: "smtp" }, "E_CONFIG", "SMTP_HOST is not set (needed by --send_smtp)"],
    [{ legacy: "api" }, "E_CONFIG", "SPARKPOST_API_KEY is not set (needed by --send_api)"],
    [
      { legacy: "smtp", profile: "pmta", vars: { SMTP_HOST: "h" } },
      "E_USAGE",
      "conflicting: --send_smtp and --profile",
    ],
    [
      { legacy: "smtp", vars: { SMTP_HOST: "h", SMTP_PORT: "x" } },
      "E_CONFIG",
      'SMTP_PORT: expected a number, got "x"',
    ],
    [
      { legacy: "smtp", vars: { SMTP_HOST: "h", SMTP_PORT: "70000" } },
      "E_CONFIG",
      "SMTP_PORT: must be between 1 and 65535",
    ],
    [
      { legacy: "smtp", vars: { SMTP_HOST: "h", SMTP_TLS: "maybe" } },
      "E_CONFIG",
      'SMTP_TLS: must be one of "auto", "require", "never", "implicit", got "maybe"',
    ],
    [
      { legacy: "api", vars: { SPARKPOST_API_KEY: "short-7" } },
      "E_CONFIG",
      "SPARKPOST_API_KEY: must be at least 8 characters long",
    ],
  ];
  for (const [inputs, code, message] of cases) {
    const err = await assertSmimeError(() => resolveWith(undefined, inputs), code as "E_CONFIG");
    assertEquals(err.message, message);
  }
});

Deno.test("resolveDelivery() coerces --option strings by schema and names the flag", async () => {
  const ok = await resolveWith(PMTA, {
    overrides: { port: "2500", tls_insecure: "0", timeout_seconds: "2.5" },
  });
  assertEquals(ok?.options, {
    host: "10.0.0.5",
    port: 2500,
    tls: "auto",
    tls_insecure: false,
    virtual_mta: "pool-statements",
    transport: "smtp",
    timeout_seconds: 2.5,
  });
  const cases: [Record<string, string>, string][] = [
    [
      { tls_insecure: "maybe" },
      '--option tls_insecure: expected a boolean (true/false, yes/no, 1/0), got "maybe"',
    ],
    [{ port: "0" }, "--option port: must be between 1 and 65535"],
    [{ prot: "1" }, '--option prot: unknown option (did you mean "port"?)'],
    [{ timeout_seconds: "-1" }, "--option timeout_seconds: must be greater than 0"],
  ];
  for (const [overrides, message] of cases) {
    const err = await assertSmimeError(() => resolveWith(PMTA, { overrides }), "E_CONFIG");
    assertEquals(err.message, message);
  }
});

Deno.test("resolveDelivery() reports each config error on one line naming profile and key", async () => {
  const profile = (body: string) => `default_profile = "p"\n[profiles.p]\n${body}\n`;
  const cases: [string, string][] = [
    [
      profile('plugin = "powermta"\nhost = "h"\nprot = 25'),
      'profiles.p.prot: unknown option (did you mean "port"?)',
    ],
    [profile('plugin = "powermta"\nhost = "h"\ncolour = 1'), "profiles.p.colour: unknown option"],
    [
      profile('plugin = "powermta"\nhost = "h"\npasword_file = "x"'),
      'profiles.p.pasword_file: unknown option (did you mean "password_file"?)',
    ],
    [
      profile('plugin = "powermta"\nhost = "h"\nhost_file = "x"'),
      "profiles.p.host_file: unknown option " +
      "(only secret options can be given as _file / _command: password, api_key)",
    ],
    [
      profile('plugin = "powermta"\nhost = "h"\nport = "abc"'),
      'profiles.p.port: expected a number, got "abc"',
    ],
    [
      profile('plugin = "powermta"\nhost = "h"\nport = 2.5'),
      "profiles.p.port: expected an integer, got 2.5",
    ],
    [
      profile('plugin = "powermta"\nhost = "h"\nport = 0'),
      "profiles.p.port: must be between 1 and 65535",
    ],
    [profile('plugin = "powermta"\nport = 25'), "profiles.p.host: required"],
    [
      profile('plugin = "powermta"\nhost = "h"\ntransport = "ftp"'),
      'profiles.p.transport: must be one of "smtp", "http", got "ftp"',
    ],
    [
      profile('plugin = "powermta"\nhost = "h"\njob = "a b"'),
      'profiles.p.job: has the wrong format, got "a b"',
    ],
    [
      profile('plugin = "sparkpost-api"\napi_key = "k-12345678"\ntags = "a"'),
      'profiles.p.tags: expected an array, got "a"',
    ],
    [
      profile(
        'plugin = "sparkpost-api"\napi_key = "k-12345678"\nmetadata = { a = { b = 1 } }\ntags = [1]',
      ),
      "profiles.p.tags.0: expected a string, got 1",
    ],
    [
      profile('plugin = "smtp"'),
      'profiles.p.plugin: unknown plugin "smtp" (one of: smtp-generic, sparkpost-api, powermta)',
    ],
    [
      profile('host = "h"'),
      "profiles.p.plugin: required (one of: smtp-generic, sparkpost-api, powermta)",
    ],
    [
      'default_profile = "gone"\n[profiles.a]\nplugin = "powermta"\n[profiles.b]\nplugin = "powermta"\n',
      'default_profile: no profile "gone" in smimepost.toml (profiles: a, b)',
    ],
    [
      'default_profile = "gone"\n',
      'default_profile: no profile "gone" in smimepost.toml (it defines no profiles)',
    ],
    [
      'default_profil = "p"\n',
      'smimepost.toml: unknown key "default_profil" (did you mean "default_profile"?)',
    ],
    ["default_profile = 3\n", "default_profile: expected a string, got 3"],
    ['[profiles]\np = "x"\n', 'profiles.p: expected a table, got "x"'],
    ['default_profile = "p"\n[profiles.p]\nplugin = \n', "smimepost.toml: line 3: invalid value"],
  ];
  for (const [config, message] of cases) {
    const err = await assertSmimeError(() => resolveWith(config), "E_CONFIG");
    assertEquals(err.message, message);
  }
});

Deno.test("resolveDelivery() names a missing --profile with the profiles there are", async () => {
  const err = await assertSmimeError(() => resolveWith(PMTA, { profile: "foo" }), "E_CONFIG");
  assertEquals(err.message, 'no profile "foo" in smimepost.toml (profiles: pmta, relay)');
});

Deno.test("describeDelivery() lists every option with its source", async () => {
  const resolved = await resolveWith(PMTA, { overrides: { job: "nov-2026" } });
  assert(resolved);
  assertEquals(describeDelivery(resolved), [
    "profile pmta (plugin powermta) from smimepost.toml",
    "  host = 10.0.0.5                 (file smimepost.toml [profiles.pmta])",
    "  port = 2525                     (file smimepost.toml [profiles.pmta])",
    "  tls = auto                      (default)",
    "  tls_insecure = false            (default)",
    "  virtual_mta = pool-statements   (file smimepost.toml [profiles.pmta])",
    "  job = nov-2026                  (flag --option)",
    "  transport = smtp                (default)",
  ]);
});

Deno.test("resolveDelivery() loads only the plugin it delivers through; a loose file's warnings load the others", async () => {
  const loaded: string[] = [];
  const lazy: PluginRegistry = new Map(
    [...registry].map(([id, plugin]) => [id, () => {
      loaded.push(id);
      return Promise.resolve(plugin);
    }]),
  );
  const tmp = await scratch();
  try {
    const inputs = { cwd: tmp.dir, env: () => undefined, homeConfigDir: tmp.path("home") };
    await tmp.write("smimepost.toml", PMTA.replace('user = "file-user"', 'password = "pw"'), 0o600);
    assertEquals((await resolveDelivery(lazy, inputs))?.plugin.id, "powermta");
    assertEquals(loaded, ["powermta"]);
    loaded.length = 0;
    const legacy = await resolveDelivery(lazy, {
      ...inputs,
      env: (name) => name === "SMTP_HOST" ? "mx.example.net" : undefined,
      legacy: "smtp",
    });
    assertEquals(legacy?.plugin.id, "smtp-generic");
    assertEquals(loaded, ["smtp-generic"]);
    loaded.length = 0;
    await Deno.chmod(tmp.path("smimepost.toml"), 0o644);
    const loose = await resolveDelivery(lazy, inputs);
    assertEquals(loaded.sort(), ["powermta", "powermta", "smtp-generic"]);
    assertEquals(loose?.warnings, (await resolveDelivery(registry, inputs))?.warnings);
    assertEquals(loose?.warnings.length, 1);
  } finally {
    await tmp.dispose();
  }
});
