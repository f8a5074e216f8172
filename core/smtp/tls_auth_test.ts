import { isSmimeError } from "../errors.ts";
import { SmtpClient } from "./client.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { bytesToLatin1 } from "../bytes.ts";
import { makeCert, normaliseLines, startSmtpServer, type TestCert } from "./test_helpers.ts";
import type { SmtpClientOptions, SmtpTlsOptions } from "./types.ts";

const PASSWORD = "pw-Zq81-unique-9f3c";
const enc = new TextEncoder();
let certPromise: Promise<TestCert> | undefined;
const cert = () => (certPromise ??= makeCert());

type AuthCb = (err: Error | null, res?: { user: string }) => void;
function onAuth(
  auth: { username: string; password?: string; method: string },
  _s: unknown,
  cb: AuthCb,
) {
  const ok = auth.method === "CRAM-MD5"
    ? (auth as unknown as { validatePassword(p: string): boolean }).validatePassword(PASSWORD)
    : auth.password === PASSWORD;
  if (auth.username === "alice" && ok) return cb(null, { user: "alice" });
  cb(Object.assign(new Error("Authentication credentials invalid"), { responseCode: 535 }));
}

async function withClient(
  serverOptions: Record<string, unknown>,
  clientOptions: Partial<SmtpClientOptions>,
  fn: (c: SmtpClient, lines: string[]) => Promise<void>,
) {
  const server = await startSmtpServer(serverOptions);
  const lines: string[] = [];
  const c = new SmtpClient({
    host: "127.0.0.1",
    port: server.port,
    tls: { mode: "never" },
    transcript: (l) => lines.push(l),
    ...clientOptions,
  });
  try {
    await fn(c, lines);
  } finally {
    await c.close();
    await server.close();
  }
  assert(!lines.some((l) => l.includes(PASSWORD)), "password in the transcript");
  assert(
    !lines.some((l) => l.includes(btoa(PASSWORD).slice(0, 12))),
    "encoded password in the transcript",
  );
}

const plainAuth = { authMethods: ["PLAIN", "LOGIN", "CRAM-MD5"], allowInsecureAuth: true, onAuth };

for (const method of ["plain", "login", "cram-md5"] as const) {
  Deno.test(`connect() logs in with AUTH ${method.toUpperCase()}; the transcript hides the secrets`, async () => {
    await withClient(plainAuth, {
      auth: { user: "alice", password: PASSWORD, method },
      allowPlaintextAuth: true,
    }, async (c, lines) => {
      const s = await c.connect();
      assertEquals([s.authenticated, s.authMethod], [true, method.toUpperCase()]);
      assert(lines.some((l) => l.startsWith("C: AUTH ")));
      if (method !== "cram-md5") {
        assert(lines.includes(method === "plain" ? "C: AUTH PLAIN ****" : "C: ****"));
      }
    });
  });
}

Deno.test("connect() turns a 535 into E_AUTH with the reply, never the password", async () => {
  await withClient(plainAuth, {
    auth: { user: "alice", password: PASSWORD + "x" },
    allowPlaintextAuth: true,
  }, async (c) => {
    const err = await assertRejects(c.connect());
    assert(isSmimeError(err, "E_AUTH"), String(err));
    assert(err.message.includes("535"), err.message);
    assert(!err.message.includes(PASSWORD));
    assertEquals(c.isOpen, false);
  });
});

Deno.test("connect() refuses AUTH over plain text unless allowed (E_CONFIG)", async () => {
  await withClient(plainAuth, { auth: { user: "alice", password: PASSWORD } }, async (c) => {
    assert(isSmimeError(await assertRejects(c.connect()), "E_CONFIG"));
  });
});

Deno.test("tls require fails with E_TLS when the server does not offer STARTTLS", async () => {
  await withClient({}, { tls: { mode: "require" } }, async (c) => {
    const err = await assertRejects(c.connect());
    assert(isSmimeError(err, "E_TLS") && err.message.includes("does not offer STARTTLS"));
  });
});

async function starttls(tls: Partial<SmtpTlsOptions>) {
  const { key, cert: pem } = await cert();
  const server = { key, cert: pem, disabledCommands: [], ...plainAuth, allowInsecureAuth: false };
  return { server, client: { tls: { mode: "require" as const, ...tls } } };
}

Deno.test("STARTTLS with a self-signed certificate fails by default, naming the cause", async () => {
  const { server, client } = await starttls({});
  await withClient(server, client, async (c) => {
    const err = await assertRejects(c.connect());
    assert(isSmimeError(err, "E_TLS"), String(err));
    assert(
      /127\.0\.0\.1:\d+: certificate verify failed: self-signed/.test(err.message),
      err.message,
    );
  });
});

Deno.test("a wrong pin is refused with E_TLS", async () => {
  const { server, client } = await starttls({ pinnedSha256: "ab".repeat(32) });
  await withClient(server, client, async (c) => {
    assert(isSmimeError(await assertRejects(c.connect()), "E_TLS"));
  });
});

for (
  const [name, tls] of [
    ["ca", async () => ({ ca: (await cert()).cert })],
    ["pinnedSha256", async () => ({ pinnedSha256: (await cert()).sha256 })],
    ["insecure", () => Promise.resolve({ insecure: true })],
  ] as const
) {
  Deno.test(`STARTTLS with a self-signed certificate works with ${name}, then AUTH LOGIN and a send`, async () => {
    const { server, client } = await starttls(await tls());
    await withClient(server, {
      ...client,
      auth: { user: "alice", password: PASSWORD, method: "login" },
    }, async (c, lines) => {
      const s = await c.connect();
      assertEquals([s.tls, s.authenticated], [true, true]);
      assert(
        lines.some((l) => /^\*: TLS established \(TLSv1\.[23], \S+\)$/.test(l)),
        lines.join("\n"),
      );
      const r = await c.send(
        { from: "a@x.example", to: ["b@x.example"] },
        enc.encode("Subject: t\r\n\r\nhi\r\n"),
      );
      assertEquals(r.recipients[0]!.accepted, true);
    });
  });
}

Deno.test("implicit TLS (port 465 style) connects, verifies with ca and sends", async () => {
  const { key, cert: pem } = await cert();
  await withClient(
    { secure: true, key, cert: pem },
    { tls: { mode: "implicit", ca: pem } },
    async (c) => {
      const s = await c.connect();
      assertEquals(s.tls, true);
      const r = await c.send({ from: "a@x.example", to: ["b@x.example"] }, enc.encode("x\n"));
      assertEquals(r.data?.code, 250);
    },
  );
});

Deno.test("over TLS, concurrent LF messages arrive intact while the client reuses its data buffers", async () => {
  const { key, cert: pem } = await cert();
  const server = await startSmtpServer({ secure: true, key, cert: pem });
  const c = new SmtpClient({
    host: "127.0.0.1",
    port: server.port,
    tls: { mode: "implicit", ca: pem },
  });
  try {
    await c.connect();
    // Distinct lines per message, each needing a CRLF copy: a buffer used again before
    // TLS had read it would show up as another message's bytes.
    const bodies = Array.from(
      { length: 12 },
      (_, i) => enc.encode(`Subject: m${i}\n\n` + `line ${i} ${"x".repeat(70)}\n`.repeat(500)),
    );
    const results = await Promise.all(
      bodies.map((b, i) => c.send({ from: "a@x.example", to: [`r${i}@x.example`] }, b)),
    );
    assertEquals(results.map((r) => r.data?.code), bodies.map(() => 250));
    assertEquals(server.received.map((m) => m.to[0]), bodies.map((_, i) => `r${i}@x.example`));
    bodies.forEach((b, i) => {
      assertEquals(bytesToLatin1(server.received[i]!.data), normaliseLines(b));
    });
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("implicit TLS with an untrusted certificate fails with E_TLS", async () => {
  const { key, cert: pem } = await cert();
  await withClient({ secure: true, key, cert: pem }, { tls: { mode: "implicit" } }, async (c) => {
    const err = await assertRejects(c.connect());
    assert(isSmimeError(err, "E_TLS") && err.message.includes("certificate"), String(err));
  });
});
