import { assert, assertEquals, assertSmimeError } from "../../tests/support/assert.ts";
import { SmimeError } from "../errors.ts";
import { describeDelivery } from "./describe.ts";
import { redact, secretsOf } from "./secrets.ts";
import { registry, resolveWith, scratch } from "./test_plugins.ts";
import { resolveDelivery } from "./resolve.ts";

const SP = (body: string) =>
  `default_profile = "sp"\n[profiles.sp]\nplugin = "sparkpost-api"\n${body}\n`;

/** Fails if the secret shows up anywhere a person could read. */
function assertHidden(secret: string, texts: readonly string[]): void {
  for (const text of texts) assert(!text.includes(secret), `secret leaked into: ${text}`);
}

Deno.test("resolveDelivery() reads <key>_file relative to the config file, trimming the newline", async () => {
  const secret = "file-SECRET-a1b2c3";
  const resolved = await resolveWith(SP('api_key_file = "keys/sp.key"'), {
    files: { "keys/sp.key": secret + "\n" },
  });
  assert(resolved);
  assertEquals((resolved.options as { api_key: string }).api_key, secret);
  const value = resolved.values.find((v) => v.key === "api_key")!;
  assertEquals(value.display, "****");
  assert(value.source.startsWith("api_key_file /") && value.source.endsWith("/keys/sp.key"));
  assertEquals(secretsOf(resolved), [secret]);
  assertHidden(secret, [...describeDelivery(resolved), ...resolved.warnings]);
});

Deno.test("resolveDelivery() runs <key>_command with /bin/sh and trims its output", async () => {
  const secret = "cmd-SECRET-d4e5f6";
  const resolved = await resolveWith(SP(`api_key_command = "printf '  ${secret}\\\\n'"`));
  assert(resolved);
  assertEquals((resolved.options as { api_key: string }).api_key, secret);
  assertEquals(resolved.values.find((v) => v.key === "api_key")?.source, "api_key_command");
  assertHidden(secret, describeDelivery(resolved));
});

Deno.test("resolveDelivery() runs no command when a higher layer gives the secret", async () => {
  const resolved = await resolveWith(SP('api_key_command = "exit 3"'), {
    vars: { SPARKPOST_API_KEY: "env-SECRET-g7h8" },
  });
  assertEquals(resolved?.values.find((v) => v.key === "api_key")?.source, "env SPARKPOST_API_KEY");
});

Deno.test("resolveDelivery() secret errors name the key, never the value; a failed command its stderr, its stdout masked", async () => {
  const leaked = "leak-SECRET-i9j0k1";
  const cases: [string, string | RegExp][] = [
    [
      SP(`api_key = "${leaked}"\napi_key_file = "k"`),
      "profiles.sp: give only one of api_key, api_key_file, api_key_command",
    ],
    [
      SP(`api_key_file = "k"\napi_key_command = "printf ${leaked}"`),
      "profiles.sp: give only one of api_key, api_key_file, api_key_command",
    ],
    [
      SP(`api_key_command = "printf ${leaked}; echo ${leaked} >&2; exit 4"`),
      "profiles.sp.api_key_command: the command failed (exit status 4): ****",
    ],
    [
      SP('api_key_command = "echo vault: permission denied >&2; exit 2"'),
      "profiles.sp.api_key_command: the command failed (exit status 2): vault: permission denied",
    ],
    [SP('api_key_command = "true"'), "profiles.sp.api_key_command: the command printed nothing"],
    [
      SP('api_key_file = "missing.key"'),
      /^profiles\.sp\.api_key_file: cannot read "\/.*\/missing\.key": not found$/,
    ],
    [SP("api_key_file = 5"), "profiles.sp.api_key_file: expected a string, got 5"],
    [SP("api_key = 12345678"), "profiles.sp.api_key: expected a string, got a number"],
    [SP('api_key = "short-1"'), "profiles.sp.api_key: must be at least 8 characters long"],
    [
      SP(`api_key = "${leaked}"\nregion = "${leaked}"`),
      'profiles.sp.region: must be one of "us", "eu", got "****"',
    ],
  ];
  for (const [config, expected] of cases) {
    const err = await assertSmimeError(() => resolveWith(config), "E_CONFIG");
    if (typeof expected === "string") assertEquals(err.message, expected);
    else assert(expected.test(err.message), err.message);
    assertHidden(leaked, [err.message]);
    assertHidden("short-1", [err.message]);
  }
});

Deno.test("resolveDelivery() never shows a secret from env or flags in errors", async () => {
  const secret = "flag-SECRET-l2m3";
  const err = await assertSmimeError(
    () => resolveWith(undefined, { legacy: "smtp", vars: { SMTP_PASSWORD: secret } }),
    "E_CONFIG",
  );
  assertHidden(secret, [err.message]);
  const viaFlag = await assertSmimeError(
    () => resolveWith(SP(""), { overrides: { api_key: "bad", host: secret } }),
    "E_CONFIG",
  );
  assertEquals(viaFlag.message, "--option api_key: must be at least 8 characters long");
});

Deno.test("resolveDelivery() warns about clear-text secrets in a group/other-readable file", async () => {
  const secret = "clear-SECRET-n4o5p6";
  const tmp = await scratch();
  try {
    const config = SP(`api_key = "${secret}"`) +
      `[profiles.pm]\nplugin = "powermta"\nhost = "h"\npassword = "${secret}"\n`;
    await tmp.write("smimepost.toml", config, 0o644);
    const inputs = { cwd: tmp.dir, env: () => undefined, homeConfigDir: tmp.path("home") };
    const loose = await resolveDelivery(registry, inputs);
    assertEquals(loose?.warnings, [
      "smimepost.toml: profiles.sp.api_key is a clear-text secret in a file readable by " +
      "group/others (chmod 600 it, or use api_key_file / api_key_command)",
      "smimepost.toml: profiles.pm.password is a clear-text secret in a file readable by " +
      "group/others (chmod 600 it, or use password_file / password_command)",
    ]);
    assertHidden(secret, [...loose!.warnings, ...describeDelivery(loose!)]);
    await Deno.chmod(tmp.path("smimepost.toml"), 0o600);
    assertEquals((await resolveDelivery(registry, inputs))?.warnings, []);
  } finally {
    await tmp.dispose();
  }
});

Deno.test("resolveDelivery() warns about a secret given on the command line", async () => {
  const secret = "argv-SECRET-q7r8";
  const resolved = await resolveWith(SP(""), { overrides: { api_key: secret } });
  assertEquals(resolved?.warnings, [
    "--option api_key: a secret on the command line is visible to other local users " +
    "(use api_key_file / api_key_command or SPARKPOST_API_KEY)",
  ]);
});

Deno.test("redact() masks every secret, longest first, and its base64 form", () => {
  assertEquals(redact("a hunter2 b hunter2", ["hunter2", ""]), "a **** b ****");
  assertEquals(redact("pw=abc123 / abc", ["abc", "abc123"]), "pw=**** / ****");
  assertEquals(redact("334 UGFzc3dvcmQ6\r\naHVudGVyMg==", ["hunter2"]), "334 UGFzc3dvcmQ6\r\n****");
  assertEquals(redact("nothing here", []), "nothing here");
});

Deno.test("redact() masks a secret percent-encoded, in hex, and as a Latin-1 server echoes it", () => {
  const secret = "p@ss:w\u00f6rd \"'\\ $x%41+/=";
  const bytes = new TextEncoder().encode(secret);
  const latin1 = String.fromCharCode(...[...secret].map((c) => c.charCodeAt(0)));
  const echoes = [
    encodeURIComponent(secret),
    encodeURIComponent(secret).toLowerCase(),
    encodeURIComponent(secret).replaceAll("%20", "+"),
    [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""),
    [...bytes].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(""),
    // Latin-1 bytes decoded as UTF-8, and UTF-8 bytes decoded as Latin-1.
    new TextDecoder().decode(Uint8Array.from(latin1, (c) => c.charCodeAt(0))),
    new TextDecoder("latin1").decode(bytes),
  ];
  for (const echo of echoes) {
    assertEquals(
      redact(`535 5.7.8 bad: ${echo} (end)`, [secret]),
      "535 5.7.8 bad: **** (end)",
      echo,
    );
  }
});

Deno.test("SmimeError from resolveDelivery() keeps its exit code 78", async () => {
  const err = await assertSmimeError(() => resolveWith(SP("")), "E_CONFIG");
  assert(err instanceof SmimeError);
  assertEquals(err.message, "profiles.sp.api_key: required");
  assertEquals(err.exitCode, 78);
});
