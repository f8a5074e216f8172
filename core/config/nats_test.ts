import { assert, assertEquals, assertSmimeError } from "../../tests/support/assert.ts";
import { resolveNats } from "./nats.ts";
import type { NatsFlags } from "./nats.ts";

/** Resolves with `toml` as ./smimepost.toml (when given), `vars` as the environment. */
async function resolveWith(
  toml: string | undefined,
  flags: NatsFlags = {},
  vars: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-nats-config-" });
  try {
    if (toml !== undefined) {
      await Deno.writeTextFile(`${dir}/smimepost.toml`, toml, { mode: 0o600 });
    }
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    return await resolveNats(
      { cwd: dir, env: (name) => vars[name], homeConfigDir: `${dir}/home` },
      flags,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("resolveNats() takes --nats over the environment over [nats] over the defaults", async () => {
  const toml = '[nats]\nurl = "nats://file:4222"\nstream = "FILE"\nack_wait_seconds = 60\n';
  const fromFile = await resolveWith(toml);
  assertEquals([fromFile.display, fromFile.stream, fromFile.ackWaitMs], [
    "nats://file:4222",
    "FILE",
    60_000,
  ]);
  assertEquals(fromFile.duplicateWindowMs, 120_000);
  const fromEnv = await resolveWith(toml, {}, { SMIMEPOST_NATS_URL: "nats://env:4222" });
  assertEquals(fromEnv.servers, ["nats://env:4222"]);
  const fromFlag = await resolveWith(
    toml,
    { url: "flag:4223", stream: "RUN2" },
    { SMIMEPOST_NATS_URL: "nats://env:4222" },
  );
  assertEquals([fromFlag.display, fromFlag.stream], ["nats://flag:4223", "RUN2"]);
  assertEquals(
    fromFlag.values.map((v) => `${v.key}=${v.display} <- ${v.source}`).slice(0, 2),
    ["url=nats://flag:4223 <- flag --nats", "stream=RUN2 <- flag --stream"],
  );
  const defaults = await resolveWith(undefined, { url: "nats://a:1,nats://b:2" });
  assertEquals([defaults.servers, defaults.stream], [["nats://a:1", "nats://b:2"], "SMIMEPOST"]);
});

Deno.test("resolveNats() takes user:password out of the URL and keeps the password secret", async () => {
  const settings = await resolveWith(undefined, { url: "nats://queue:s3cret-pw@host:4222" });
  assertEquals(settings.servers, ["nats://host:4222"]);
  assertEquals([settings.user, settings.password], ["queue", "s3cret-pw"]);
  assert(settings.secrets.includes("s3cret-pw"));
  assertEquals(settings.where.password, "--nats");
  assertEquals(settings.warnings.length, 1);
  assert(!settings.warnings[0]!.includes("s3cret-pw"), settings.warnings[0]);
  assert(!JSON.stringify(settings.values).includes("s3cret-pw"));
});

Deno.test("resolveNats() reads password_file next to the config file, and names it", async () => {
  const settings = await resolveWith(
    '[nats]\nurl = "nats://h:4222"\nuser = "queue"\npassword_file = "pw"\n',
    {},
    {},
    { pw: "from-a-file\n" },
  );
  assertEquals(settings.password, "from-a-file");
  assertEquals(settings.where.password, "nats.password_file");
  assertEquals(settings.secrets, ["from-a-file"]);
  const masked = settings.values.find((v) => v.key === "password");
  assertEquals(masked?.display, "****");
  const token = await resolveWith(undefined, { url: "h" }, { SMIMEPOST_NATS_TOKEN: "tok-123" });
  assertEquals([token.token, token.where.token], ["tok-123", "SMIMEPOST_NATS_TOKEN"]);
  assert(token.secrets.includes("tok-123"));
});

Deno.test("resolveNats() paths in [nats] start at the config file's folder", async () => {
  const settings = await resolveWith(
    '[nats]\nurl = "tls://h:4222"\ncreds = "q.creds"\ntls_ca_file = "ca.pem"\n',
  );
  assert(settings.credsFile!.endsWith("/q.creds") && settings.credsFile!.startsWith("/"));
  assert(settings.tls?.caFile?.endsWith("/ca.pem"));
});

Deno.test("resolveNats() refuses with one line naming the key, never a secret's value", async () => {
  const none = await assertSmimeError(() => resolveWith(undefined), "E_USAGE");
  assertEquals(
    none.message,
    "no NATS server: give --nats URL, SMIMEPOST_NATS_URL, or url in the [nats] table",
  );
  const typo = await assertSmimeError(
    () => resolveWith('[nats]\nurl = "h"\npasword = "hunter2-pw"\n'),
    "E_CONFIG",
  );
  assertEquals(typo.message, 'nats.pasword: unknown option (did you mean "password"?)');
  const badStream = await assertSmimeError(
    () => resolveWith(undefined, { url: "h", stream: "a.b" }),
    "E_CONFIG",
  );
  assert(badStream.message.startsWith("--stream: "), badStream.message);
  const wrongType = await assertSmimeError(
    () => resolveWith('[nats]\nurl = "h"\npassword = 12345678\n'),
    "E_CONFIG",
  );
  assertEquals(wrongType.message, "nats.password: expected a string, got a number");
  const twice = await assertSmimeError(
    () => resolveWith('[nats]\nurl = "h"\npassword = "x-pw-1"\npassword_file = "pw"\n'),
    "E_CONFIG",
  );
  assert(!twice.message.includes("x-pw-1"), twice.message);
  const scheme = await assertSmimeError(
    () => resolveWith(undefined, { url: "http://u:topsecret@h:80" }),
    "E_CONFIG",
  );
  assert(!scheme.message.includes("topsecret"), scheme.message);
  await assertSmimeError(() => resolveWith("nats = 3\n", { url: "h" }), "E_CONFIG");
});
