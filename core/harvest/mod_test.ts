import { assert, assertEquals, assertIncludes, assertMatch } from "../../tests/support/assert.ts";
import { SmimeError } from "../errors.ts";
import { startHarvest } from "./mod.ts";
import type { HarvestHandler, HarvestMeta, HarvestOptions, HarvestServer } from "./mod.ts";
import type { DkimKey, TestDns } from "./test_dns.ts";
import {
  makeDkimKey,
  plainMessage,
  signWithDkimpy,
  signWithMailauth,
  startDnsmasq,
} from "./test_dns.ts";
import { connect, post, relayBatch, request } from "./test_http.ts";

const TOKEN = "tok-3f9a1c7e5b";
const dec = new TextDecoder();

/** What the injected import step saw, and the log. */
interface Recorded {
  calls: { bytes: Uint8Array; meta: HarvestMeta }[];
  logs: string[];
}

/** Runs `fn` against a fresh receiver on a free port; `handle` defaults to "imported". */
async function withHarvest(
  dns: TestDns | undefined,
  overrides: Partial<HarvestOptions>,
  fn: (server: HarvestServer, recorded: Recorded) => Promise<void>,
): Promise<void> {
  const recorded: Recorded = { calls: [], logs: [] };
  const handle: HarvestHandler = overrides.handle ?? ((bytes, meta) => {
    recorded.calls.push({ bytes, meta });
    return Promise.resolve({ status: "imported", detail: meta.from });
  });
  const server = await startHarvest({
    hostname: "127.0.0.1",
    port: 0,
    maxBytes: 64 * 1024,
    dkim: dns
      ? { required: true, dnsServer: { ipAddr: dns.ipAddr, port: dns.port } }
      : { required: false },
    log: (line) => recorded.logs.push(line),
    ...overrides,
    handle,
  });
  try {
    await fn(server, recorded);
  } finally {
    await server.close();
  }
  assert(!recorded.logs.some((line) => line.includes(TOKEN)), "the token reached the log");
}

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

Deno.test("startHarvest() with DKIM checked against a real DNS server", async (t) => {
  const example: DkimKey = makeDkimKey();
  const other: DkimKey = makeDkimKey();
  const dns = await startDnsmasq({
    "sel._domainkey.example.com": example.record,
    "sel._domainkey.other.example": other.record,
    "ma._domainkey.example.org": other.record,
  });
  const good = await signWithDkimpy(
    plainMessage("Alice <alice@example.com>"),
    "sel",
    "example.com",
    example,
  );
  try {
    await t.step("a good message is imported: 200, the handler called once", async () => {
      await withHarvest(dns, {}, async (server, recorded) => {
        const res = await request(server, post("/", "message/rfc822", good));
        assertEquals(res.status, 200);
        assertEquals(JSON.parse(res.body), {
          results: [{ message: 1, status: "imported", detail: "alice@example.com" }],
        });
        assertEquals(recorded.calls.length, 1);
        assertEquals(recorded.calls[0]!.bytes, good);
        assertEquals(recorded.calls[0]!.meta.from, "alice@example.com");
        assertEquals(recorded.calls[0]!.meta.dkimDomain, "example.com");
        assertEquals(recorded.logs.length, 1);
        assertMatch(
          recorded.logs[0]!,
          /^harvest: 127\.0\.0\.1 #1\.1: imported alice@example\.com$/,
        );
      });
    });

    await t.step(
      "a SparkPost batch, base64 content included, reaches the handler with msg_from and rcpt_to",
      async () => {
        const second = await signWithMailauth(
          plainMessage("bob@example.org"),
          "ma",
          "example.org",
          other,
        );
        const batch = relayBatch([
          { bytes: good, msgFrom: "bounce@example.com", rcptTo: "keys@harvest.example" },
          { bytes: second, base64: true },
        ]);
        await withHarvest(dns, { token: TOKEN }, async (server, recorded) => {
          const res = await request(
            server,
            post("/", "application/json", batch, { "X-MessageSystems-Webhook-Token": TOKEN }),
          );
          assertEquals(res.status, 200);
          assertEquals(JSON.parse(res.body).results.map((r: { status: string }) => r.status), [
            "imported",
            "imported",
          ]);
          assertEquals(recorded.calls.map((c) => c.meta.from), [
            "alice@example.com",
            "bob@example.org",
          ]);
          assertEquals(recorded.calls[0]!.meta.msgFrom, "bounce@example.com");
          assertEquals(recorded.calls[0]!.meta.rcptTo, "keys@harvest.example");
          assertEquals(recorded.calls[1]!.bytes, second);
        });
      },
    );

    await t.step(
      "bad DKIM, a misaligned d=, and a forged From are refused, never handed on",
      async () => {
        const altered = new TextEncoder().encode(dec.decode(good).replace("hello", "pay mallory"));
        const misaligned = await signWithDkimpy(
          plainMessage("alice@example.com"),
          "sel",
          "other.example",
          other,
        );
        const forged = new TextEncoder().encode(plainMessage("alice@example.com"));
        await withHarvest(dns, {}, async (server, recorded) => {
          const batch = relayBatch([{ bytes: altered }, { bytes: misaligned }, { bytes: forged }]);
          const res = await request(server, post("/", "application/json", batch));
          // Processed: 200 even though every message was refused (a retry won't help).
          assertEquals(res.status, 200);
          const results = JSON.parse(res.body).results as { status: string; detail: string }[];
          assertEquals(results.map((r) => r.status), ["refused", "refused", "refused"]);
          assertIncludes(
            results[0]!.detail,
            "DKIM fail (d=example.com neutral: body hash did not verify)",
          );
          assertIncludes(results[1]!.detail, "d=other.example pass, not aligned with example.com");
          assertIncludes(results[2]!.detail, "no DKIM signature");
          assertEquals(recorded.calls.length, 0);
          assertEquals(recorded.logs.length, 3);
          assertMatch(
            recorded.logs[0]!,
            /^harvest: 127\.0\.0\.1 #1\.1: refused alice@example\.com: DKIM fail/,
          );
        });
      },
    );

    await t.step("a parent domain's signature is accepted for a subdomain's From", async () => {
      const sub = await signWithDkimpy(
        plainMessage("carol@mail.example.com"),
        "sel",
        "example.com",
        example,
      );
      await withHarvest(dns, {}, async (server, recorded) => {
        const res = await request(server, post("/", "message/rfc822", sub));
        assertEquals(res.status, 200);
        assertEquals(recorded.calls.map((c) => [c.meta.from, c.meta.dkimDomain]), [
          ["carol@mail.example.com", "example.com"],
        ]);
      });
    });

    await t.step(
      "a refusal or a temporary failure from the handler: 200 refused, or 503 to retry",
      async () => {
        let call = 0;
        const handle: HarvestHandler = () => {
          call++;
          if (call === 1) throw new SmimeError("E_VERIFY", "m: signer is not alice@example.com");
          throw new SmimeError("E_OUTPUT", "Cannot write keys/alice@example.com.crt: disk full");
        };
        await withHarvest(dns, { handle }, async (server, recorded) => {
          const first = await request(server, post("/", "message/rfc822", good));
          assertEquals(first.status, 200);
          assertEquals(JSON.parse(first.body).results[0].status, "refused");
          const second = await request(server, post("/", "message/rfc822", good));
          assertEquals(second.status, 503);
          assertEquals(JSON.parse(second.body).results[0].status, "failed");
          assertMatch(recorded.logs[1]!, /failed alice@example\.com: E_OUTPUT: Cannot write/);
        });
      },
    );
  } finally {
    await dns.close();
  }
});

Deno.test("startHarvest() answers bad requests as the old app did, the token never logged", async () => {
  await withHarvest(undefined, { token: TOKEN }, async (server, recorded) => {
    const message = plainMessage("alice@example.com");
    const wrong = await request(
      server,
      post("/", "message/rfc822", message, { "X-MessageSystems-Webhook-Token": `${TOKEN}x` }),
    );
    assertEquals(wrong.status, 401);
    assertEquals(JSON.parse(wrong.body), {
      message: "Invalid X-MessageSystems-Webhook-Token in request headers",
    });
    const missing = await request(server, post("/", "message/rfc822", message));
    assertEquals(missing.status, 401);
    const auth = { "X-MessageSystems-Webhook-Token": TOKEN };
    const get = await request(server, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assertEquals([get.status, get.headers.get("allow")], [405, "POST"]);
    const put = await request(
      server,
      `PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: ${message.length}\r\n\r\n${message}`,
    );
    assertEquals([put.status, put.headers.get("allow")], [405, "POST"]);
    const text = await request(server, post("/", "text/plain", message, auth));
    assertEquals([text.status, JSON.parse(text.body).message], [
      400,
      "Unknown Content-Type in request headers",
    ]);
    const json = await request(server, post("/", "application/json", "[{", auth));
    assertEquals(json.status, 400);
    assertMatch(JSON.parse(json.body).message, /^Bad request: body is not JSON/);
    const shape = await request(server, post("/", "application/json", '[{"msys":{}}]', auth));
    assertEquals(
      JSON.parse(shape.body).message,
      "Bad request: event 1 msys: no relay_message object",
    );
    const elsewhere = await request(server, post("/other", "message/rfc822", message, auth));
    assertEquals(elsewhere.status, 404);
    const health = await request(server, "GET /health HTTP/1.1\r\nHost: h\r\n\r\n");
    assertEquals([health.status, health.body], [200, "ok"]);
    assertEquals(recorded.calls.length, 0);
    assert(
      recorded.logs.some((l) =>
        l.endsWith("401 Invalid X-MessageSystems-Webhook-Token in request headers")
      ),
    );
  });
});

Deno.test("startHarvest() answers 413 past maxBytes, for a declared length before reading any body", async () => {
  await withHarvest(undefined, { maxBytes: 1000 }, async (server, recorded) => {
    // A gigabyte announced, nothing sent: the answer comes without waiting for it.
    const declared = await request(
      server,
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: message/rfc822\r\nContent-Length: 1000000000\r\n\r\n",
    );
    assertEquals(declared.status, 413);
    const chunk = `${(800).toString(16)}\r\n${"x".repeat(800)}\r\n`;
    const chunked = await request(
      server,
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: message/rfc822\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunk + chunk + chunk + "0\r\n\r\n",
    );
    assertEquals(chunked.status, 413);
    assertEquals(JSON.parse(chunked.body).message, "Request body larger than 1000 bytes");
    // Under the limit, chunked, with curl's Expect: 100-continue.
    const small = plainMessage("alice@example.com");
    const ok = await request(
      server,
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: message/rfc822\r\nTransfer-Encoding: chunked\r\n" +
        `Expect: 100-continue\r\n\r\n${small.length.toString(16)}\r\n${small}\r\n0\r\n\r\n`,
    );
    assertEquals(ok.status, 200);
    assert(ok.raw.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assertEquals(dec.decode(recorded.calls[0]!.bytes), small);
  });
});

Deno.test("startHarvest() times out a client that stops in the head or the body", async () => {
  await withHarvest(
    undefined,
    { headerTimeoutMs: 200, bodyTimeoutMs: 200 },
    async (server, recorded) => {
      const head = await request(server, "POST / HTTP/1.1\r\nHost: h\r\n");
      assertEquals(head.status, 408);
      const body = await request(
        server,
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: message/rfc822\r\nContent-Length: 500\r\n\r\nFrom: a",
      );
      assertEquals(body.status, 408);
      assertEquals(recorded.calls.length, 0);
    },
  );
});

Deno.test("startHarvest() serialises handler calls for one From address across requests", async () => {
  const events: string[] = [];
  const firstStarted = gate();
  const release = gate();
  let aliceCalls = 0;
  const handle: HarvestHandler = async (_bytes, meta) => {
    if (meta.from === "bob@example.net") {
      events.push("bob");
      // A macrotask: every microtask runs first, so the request's next message
      // (alice) has reached the lock by the time the first alice call ends.
      setTimeout(release.open, 0);
      return { status: "imported", detail: meta.from };
    }
    const n = ++aliceCalls;
    events.push(`alice ${n} start`);
    if (n === 1) {
      firstStarted.open();
      await release.opened;
    }
    events.push(`alice ${n} end`);
    return { status: n === 1 ? "imported" : "unchanged", detail: meta.from };
  };
  await withHarvest(undefined, { handle }, async (server) => {
    const alice = new TextEncoder().encode(plainMessage("alice@example.com"));
    const bob = new TextEncoder().encode(plainMessage("bob@example.net"));
    const first = request(server, post("/", "message/rfc822", alice));
    await firstStarted.opened;
    const second = request(
      server,
      post("/", "application/json", relayBatch([{ bytes: bob }, { bytes: alice }])),
    );
    const [one, two] = await Promise.all([first, second]);
    assertEquals([one.status, two.status], [200, 200]);
    assertEquals(events, ["alice 1 start", "bob", "alice 1 end", "alice 2 start", "alice 2 end"]);
  });
});

Deno.test("startHarvest() close() answers the request in flight, drops idle connections, then stops", async () => {
  const started = gate();
  const release = gate();
  const events: string[] = [];
  const handle: HarvestHandler = async (_bytes, meta) => {
    started.open();
    await release.opened;
    events.push("handler done");
    return { status: "imported", detail: meta.from };
  };
  const server = await startHarvest({
    hostname: "127.0.0.1",
    port: 0,
    maxBytes: 64 * 1024,
    dkim: { required: false },
    handle,
    log: () => {},
  });
  const idle = await connect(server);
  const inFlight = request(server, post("/", "message/rfc822", plainMessage("alice@example.com")));
  await started.opened;
  const closed = server.close().then(() => events.push("closed"));
  // The idle connection is closed by the server without an answer.
  const buffer = new Uint8Array(16);
  assertEquals(await idle.read(buffer), null);
  idle.close();
  // New connections are refused once close() has begun.
  const refused = await Deno.connect({ hostname: "127.0.0.1", port: server.port }).then(
    (conn) => (conn.close(), false),
    (err) => err instanceof Deno.errors.ConnectionRefused,
  );
  assert(refused, "a connection was accepted after close()");
  release.open();
  const answer = await inFlight;
  await closed;
  assertEquals(answer.status, 200);
  assertEquals(events, ["handler done", "closed"]);
});

Deno.test("startHarvest() serves HTTPS with the given certificate and key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "harvest-tls-" });
  try {
    await makeTlsFiles(dir);
    const tls = { certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` };
    await withHarvest(undefined, { tls }, async (server, recorded) => {
      assertMatch(server.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      // Plain HTTP on the TLS port: the handshake fails, the receiver goes on.
      const plain = await connect({ port: server.port });
      await plain.write(post("/", "message/rfc822", "x")).catch(() => 0);
      while (await plain.read(new Uint8Array(1024)).catch(() => null) !== null);
      plain.close();
      const caCerts = [await Deno.readTextFile(`${dir}/ca.pem`)];
      const res = await request(
        { port: server.port, caCerts },
        post("/", "message/rfc822", plainMessage("alice@example.com")),
      );
      assertEquals(res.status, 200);
      assertEquals(recorded.calls.length, 1);
      assertMatch(recorded.logs[0]!, /^harvest: 127\.0\.0\.1: connection lost \(InvalidData\)$/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startHarvest() refuses a port in use and unreadable TLS files with codes", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const base = {
      hostname: "127.0.0.1",
      maxBytes: 1000,
      dkim: { required: false },
      handle: () => Promise.resolve({ status: "unchanged" as const, detail: "" }),
      log: () => {},
    };
    const inUse = await startHarvest({ ...base, port: taken.addr.port }).catch((e) => e);
    assertEquals((inUse as SmimeError).code, "E_UNAVAILABLE");
    const noFile = await startHarvest({
      ...base,
      port: 0,
      tls: { certFile: "/nonexistent.pem", keyFile: "/x" },
    })
      .catch((e) => e);
    assertEquals((noFile as SmimeError).code, "E_INPUT");
    assertIncludes((noFile as SmimeError).message, "/nonexistent.pem");
  } finally {
    taken.close();
  }
});

/** A throw-away CA (ca.pem) and a server certificate for 127.0.0.1 (cert.pem, key.pem), by openssl. */
async function makeTlsFiles(dir: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
  );
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const steps = [
    [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "1",
      "-subj",
      "/CN=harvest test CA",
    ],
    ["req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
    [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      "2",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
      "-out",
      "cert.pem",
    ],
  ];
  for (const args of steps) {
    const run = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(run.success, `openssl ${args[0]}: ${dec.decode(run.stderr)}`);
  }
}
