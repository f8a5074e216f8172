import net from "node:net";
import { isSmimeError } from "../errors.ts";
import { SmtpClient } from "./client.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { startStrictServer, type StrictOptions } from "./test_server.ts";
import type { SmtpClientOptions } from "./types.ts";

const enc = new TextEncoder();
const env = { from: "a@x.example", to: ["b@x.example", "c@x.example"] };

async function withStrict(
  options: StrictOptions,
  clientOptions: Partial<SmtpClientOptions>,
  fn: (c: SmtpClient) => Promise<void>,
) {
  const server = await startStrictServer(options);
  const c = new SmtpClient({
    host: "127.0.0.1",
    port: server.port,
    tls: { mode: "never" },
    ...clientOptions,
  });
  try {
    await fn(c);
  } finally {
    await c.close();
    await server.close();
  }
}

Deno.test("a connection dropped after the final dot resolves uncertain, never silently", async () => {
  await withStrict({ onDataEnd: () => "drop" }, {}, async (c) => {
    await c.connect();
    const r = await c.send(env, enc.encode("Subject: x\r\n\r\nbody\r\n"));
    assertEquals(r.uncertain, true);
    assertEquals(r.data, undefined);
    assertEquals(r.recipients.map((x) => [x.accepted, x.reply.code]), [[false, 451], [false, 451]]);
    assert(r.recipients[0]!.reply.text.includes("may have been delivered"));
    assertEquals(c.isOpen, false);
    assertEquals(c.messagesSent, 1);
  });
});

Deno.test("a connection dropped during DATA rejects with E_TEMPFAIL", async () => {
  await withStrict({ onDataStart: () => "drop" }, {}, async (c) => {
    await c.connect();
    const big = enc.encode(("x".repeat(998) + "\r\n").repeat(8000));
    const err = await assertRejects(c.send(env, big));
    assert(
      isSmimeError(err, "E_TEMPFAIL") && err.message.includes("lost during DATA"),
      String(err),
    );
    assertEquals(c.isOpen, false);
  });
});

Deno.test("a source that fails part way through DATA never gets its final dot: the connection is dropped", async () => {
  let ended = 0;
  await withStrict({ onDataEnd: () => (ended++, "250 2.0.0 Ok") }, {}, async (c) => {
    await c.connect();
    const line = enc.encode("x".repeat(998) + "\r\n");
    const broken = {
      size: line.length * 4000,
      // Said, so the MAIL command does not read it: it fails in DATA.
      isAscii: true,
      *pieces() {
        for (let i = 0; i < 2000; i++) yield line;
        throw new Error("made up: the sealed message could not be made");
      },
    };
    const failing = c.send(env, broken);
    const queued = c.send(env, enc.encode("Subject: next\r\n\r\nbody\r\n"));
    const err = await assertRejects(failing);
    assert(err instanceof Error && err.message.includes("could not be made"), String(err));
    const next = await assertRejects(queued);
    assert(isSmimeError(next, "E_TEMPFAIL"), String(next));
    assertEquals(c.isOpen, false);
    assertEquals(c.messagesSent, 0);
  });
  assertEquals(ended, 0, "the server saw an end of data");
});

Deno.test("a source that fails while send() reads it for 8-bit bytes fails that send alone", async () => {
  await withStrict({}, {}, async (c) => {
    await c.connect();
    const broken = {
      size: 10,
      pieces(): Iterable<Uint8Array> {
        throw new Error("made up: the message could not be made");
      },
    };
    const err = await assertRejects(c.send(env, broken));
    assert(err instanceof Error && err.message.includes("could not be made"), String(err));
    const r = await c.send(env, enc.encode("Subject: next\r\n\r\nbody\r\n"));
    assertEquals(r.data?.code, 250);
    assertEquals(c.messagesSent, 1);
  });
});

Deno.test("a reply slower than the configured timeout fails with E_TEMPFAIL and kills the connection", async () => {
  let stalled: Promise<void> | undefined;
  const reply = (line: string) => {
    if (!line.startsWith("RCPT")) return undefined;
    stalled = new Promise((r) => setTimeout(r, 300));
    return stalled.then(() => "250 late");
  };
  await withStrict({ reply }, { timeouts: { rcpt: 50 } }, async (c) => {
    await c.connect();
    const err = await assertRejects(c.send(env, enc.encode("x")));
    assert(isSmimeError(err, "E_TEMPFAIL"), String(err));
    assert(err.message.includes("timeout waiting for reply to RCPT TO after 0.05 s"), err.message);
    assertEquals(c.isOpen, false);
    await stalled;
  });
});

Deno.test("a short timeout that has passed does not cut a later, longer wait (one timer per connection)", async () => {
  // Pipelined MAIL's 50 ms arms the connection's timer; it fires while the RCPT reply
  // (default timeout, minutes) is still due, and must wait again, not fail.
  const reply = (line: string) =>
    line.startsWith("RCPT")
      ? new Promise<string>((r) => setTimeout(() => r("250 2.1.5 late"), 200))
      : undefined;
  await withStrict({ reply }, { timeouts: { mail: 50 } }, async (c) => {
    await c.connect();
    const r = await c.send(env, enc.encode("Subject: x\r\n\r\nbody\r\n"));
    assertEquals(r.recipients.map((x) => x.accepted), [true, true]);
    assertEquals(c.isOpen, true);
  });
});

for (
  const [name, garbage] of [["garbage", "hello there"], ["over-long", "250 " + "x".repeat(9000)]]
) {
  Deno.test(`a ${name} reply is a bounded E_UNAVAILABLE error`, async () => {
    const reply = (line: string) => (line.startsWith("MAIL") ? garbage : undefined);
    await withStrict({ reply }, {}, async (c) => {
      await c.connect();
      const err = await assertRejects(c.send(env, enc.encode("x")));
      assert(
        isSmimeError(err, "E_UNAVAILABLE") && err.message.includes("garbage reply"),
        String(err),
      );
    });
  });
}

Deno.test("greeting 554 is E_UNAVAILABLE, 421 and 450 are E_TEMPFAIL, with the reply verbatim", async () => {
  for (
    const [greeting, code] of [["554 5.7.1 go away", "E_UNAVAILABLE"], [
      "421 4.7.0 busy",
      "E_TEMPFAIL",
    ], ["450 later", "E_TEMPFAIL"]] as const
  ) {
    await withStrict({ greeting }, {}, async (c) => {
      const err = await assertRejects(c.connect());
      assert(isSmimeError(err, code) && err.message.includes(greeting), `${greeting}: ${err}`);
      assertEquals(c.isOpen, false);
    });
  }
});

Deno.test("STARTTLS offered and then refused fails with E_TEMPFAIL under auto", async () => {
  const reply = (line: string) => (line === "STARTTLS" ? "454 4.7.0 TLS not available" : undefined);
  await withStrict({ reply, extensions: ["STARTTLS"] }, { tls: { mode: "auto" } }, async (c) => {
    const err = await assertRejects(c.connect());
    assert(isSmimeError(err, "E_TEMPFAIL") && err.message.includes("454 4.7.0"), String(err));
  });
});

Deno.test("connect() to a closed port fails with E_UNAVAILABLE naming host:port", async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const c = new SmtpClient({ host: "127.0.0.1", port, tls: { mode: "never" } });
  const err = await assertRejects(c.connect());
  assert(isSmimeError(err, "E_UNAVAILABLE"), String(err));
  assertEquals(err.message, `Cannot connect to 127.0.0.1:${port}: connection refused`);
  await c.close();
});

Deno.test("aborting an in-flight send destroys the connection and rejects with the reason", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await withStrict({ onDataEnd: () => held.then(() => "250 ok") }, {}, async (c) => {
    await c.connect();
    const ac = new AbortController();
    const pending = c.send(env, enc.encode("x"), ac.signal);
    const queued = c.send(env, enc.encode("y"));
    setTimeout(() => ac.abort(new Error("stop now")), 30);
    assertEquals(((await assertRejects(pending)) as Error).message, "stop now");
    assert(isSmimeError(await assertRejects(queued), "E_TEMPFAIL"));
    assertEquals(c.isOpen, false);
    release();
  });
});

for (const pipelining of [true, false]) {
  Deno.test(`a 250 to DATA is replies out of step: the message is not counted sent, the connection is dropped (pipelining ${pipelining})`, async () => {
    const extensions = pipelining ? ["PIPELINING"] : [];
    await withStrict(
      { extensions, reply: (line) => line === "DATA" ? "250 2.0.0 whatever" : undefined },
      {},
      async (c) => {
        await c.connect();
        const err = await assertRejects(c.send(env, enc.encode("Subject: x\r\n\r\nbody\r\n")));
        assert(
          isSmimeError(err, "E_TEMPFAIL") && err.message.includes("not 354"),
          String(err),
        );
        assertEquals(c.isOpen, false);
        assertEquals(c.messagesSent, 0);
      },
    );
  });
}

Deno.test("an end-of-data reply sent twice never makes a later message count as accepted", async () => {
  let ends = 0;
  const server = await startStrictServer({
    extensions: ["PIPELINING"],
    // The first message's 250 comes twice: every later reply is one command behind.
    onDataEnd: () => ++ends === 1 ? "250 2.0.0 queued as A\r\n250 2.0.0 queued as A" : "250 Ok",
  });
  const c = new SmtpClient({ host: "127.0.0.1", port: server.port, tls: { mode: "never" } });
  try {
    await c.connect();
    const sends = [1, 2, 3].map((i) =>
      c.send(env, enc.encode(`Subject: ${i}\r\n\r\nbody ${i}\r\n`)).then(
        (r) => r.recipients.every((x) => x.accepted),
        () => false,
      )
    );
    const accepted = await Promise.all(sends);
    // Whatever was counted accepted is what the server has, and no more.
    assertEquals(accepted.filter(Boolean).length, server.messages.length);
    assertEquals(accepted[0], true);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("close() gives up on a QUIT the server never answers after the short QUIT timeout, not 60 s", async () => {
  let release!: () => void;
  const never = new Promise<undefined>((r) => release = () => r(undefined));
  const transcript: string[] = [];
  const reply = (line: string) => line === "QUIT" ? never : undefined;
  await withStrict({ reply }, { transcript: (l) => transcript.push(l) }, async (c) => {
    await c.connect();
    const r = await c.send(env, enc.encode("Subject: x\r\n\r\nbody\r\n"));
    assertEquals(r.recipients.map((x) => x.accepted), [true, true]);
    const started = performance.now();
    await c.close();
    const waited = performance.now() - started;
    release();
    // The default (QUIT_TIMEOUT_MS, 5 s) and not the 60 s it was; generous for a slow machine.
    assert(waited >= 4_000 && waited < 20_000, `close() took ${Math.round(waited)} ms`);
    assert(transcript.includes("C: QUIT"), transcript.join("\n"));
  });
});
