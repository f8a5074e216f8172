import { isSmimeError } from "../errors.ts";
import { SmtpClient } from "./client.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { bytesEqual, bytesToLatin1, joinSource } from "../bytes.ts";
import { largeSealedMessage } from "../../tests/support/helpers.ts";
import { normaliseLines, startSmtpServer } from "./test_helpers.ts";
import type { SmtpClientOptions } from "./types.ts";

const enc = new TextEncoder();
const message = (subject: string, body = "Hello\r\n") =>
  enc.encode(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}`);

function client(port: number, extra: Partial<SmtpClientOptions> = {}): SmtpClient {
  return new SmtpClient({ host: "127.0.0.1", port, tls: { mode: "never" }, ...extra });
}

function rejectBy(list: string[], code: number, text: string) {
  return (address: { address: string }, _s: unknown, cb: (err?: Error | null) => void) => {
    if (!list.includes(address.address)) return cb();
    const err = Object.assign(new Error(text), { responseCode: code });
    cb(err);
  };
}

Deno.test("send() reports a 550 recipient among accepted ones; the message reaches the others", async () => {
  const server = await startSmtpServer({
    onRcptTo: rejectBy(["bad@example.com"], 550, "5.1.1 no such user"),
  });
  const c = client(server.port);
  try {
    const session = await c.connect();
    assert(session.extensions.has("PIPELINING"));
    const r = await c.send(
      { from: "a@example.com", to: ["b@example.com", "bad@example.com", "c@example.com"] },
      message("mixed"),
    );
    assertEquals(r.recipients.map((x) => x.accepted), [true, false, true]);
    assertEquals(r.recipients[1]!.reply.code, 550);
    assertEquals(r.recipients[1]!.reply.enhanced, "5.1.1");
    assertEquals(r.recipients[1]!.reply.text, "550 5.1.1 no such user");
    assertEquals(r.data?.code, 250);
    assertEquals(r.queueId, "Q1");
    assertEquals(server.received[0]!.to, ["b@example.com", "c@example.com"]);
    assertEquals(c.messagesSent, 1);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("send() with every RCPT refused (452) sends RSET and the connection stays usable", async () => {
  const server = await startSmtpServer({
    onRcptTo: rejectBy(["full@example.com"], 452, "4.5.3 too many recipients"),
  });
  const c = client(server.port);
  try {
    await c.connect();
    const r = await c.send({ from: "a@example.com", to: ["full@example.com"] }, message("x"));
    assertEquals(r.recipients[0]!.accepted, false);
    assertEquals(r.recipients[0]!.reply.code, 452);
    assertEquals(r.data, undefined);
    const ok = await c.send({ from: "a@example.com", to: ["b@example.com"] }, message("y"));
    assertEquals(ok.recipients[0]!.accepted, true);
    assertEquals(server.received.length, 1);
    assertEquals(c.messagesSent, 1);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("a 421 mid-session rejects the in-flight and queued sends with E_TEMPFAIL", async () => {
  const server = await startSmtpServer({
    onRcptTo: rejectBy(["shutdown@example.com"], 421, "4.3.2 shutting down"),
  });
  const c = client(server.port);
  try {
    await c.connect();
    const first = c.send({ from: "a@example.com", to: ["shutdown@example.com"] }, message("1"));
    const second = c.send({ from: "a@example.com", to: ["b@example.com"] }, message("2"));
    const e1 = await assertRejects(first);
    const e2 = await assertRejects(second);
    assert(isSmimeError(e1, "E_TEMPFAIL") && e1.message.includes("421 4.3.2 shutting down"));
    assert(isSmimeError(e2, "E_TEMPFAIL"));
    assertEquals(c.isOpen, false);
    assert(isSmimeError(await assertRejects(c.send({ from: "", to: ["b@x"] }, message("3")))));
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("concurrent sends on one pipelining client arrive intact and in order", async () => {
  const server = await startSmtpServer();
  const lines: string[] = [];
  const c = client(server.port, { transcript: (l) => lines.push(l) });
  try {
    await c.connect();
    const bodies = Array.from(
      { length: 20 },
      (_, i) =>
        enc.encode(`Subject: m${i}\n\n.leading dot\nbare LF\rbare CR\r\n.\r\n..two\nend ${i}`),
    );
    const results = await Promise.all(
      bodies.map((b, i) => c.send({ from: "a@example.com", to: [`r${i}@example.com`] }, b)),
    );
    assertEquals(results.map((r) => r.queueId), bodies.map((_, i) => `Q${i + 1}`));
    assertEquals(server.received.map((m) => m.to[0]), bodies.map((_, i) => `r${i}@example.com`));
    for (let i = 0; i < bodies.length; i++) {
      assertEquals(bytesToLatin1(server.received[i]!.data), normaliseLines(bodies[i]!));
    }
    assertEquals(c.messagesSent, 20);
    // The next envelope went right behind the final dot, in the same write.
    const behindDot = lines.filter((l, i) => l === "C: ." && lines[i + 1]?.startsWith("C: MAIL"));
    assert(behindDot.length >= 10, `only ${behindDot.length} envelopes followed a dot`);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("without PIPELINING one command at a time still delivers in order", async () => {
  const server = await startSmtpServer({ hidePIPELINING: true } as never);
  const c = client(server.port);
  try {
    const session = await c.connect();
    assertEquals(session.extensions.has("PIPELINING"), false);
    const rs = await Promise.all(
      [1, 2, 3].map((i) =>
        c.send({ from: "a@example.com", to: [`r${i}@x.example`] }, message(`n${i}`))
      ),
    );
    assertEquals(rs.map((r) => r.recipients[0]!.accepted), [true, true, true]);
    assertEquals(server.received.map((m) => m.to[0]), [
      "r1@x.example",
      "r2@x.example",
      "r3@x.example",
    ]);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("send() declares SIZE and BODY=8BITMIME, and refuses locally above the SIZE limit", async () => {
  const server = await startSmtpServer({ size: 1000 });
  const lines: string[] = [];
  const c = client(server.port, { transcript: (l) => lines.push(l) });
  try {
    await c.connect();
    await c.send({ from: "a@example.com", to: ["b@example.com"] }, message("caf\u00e9"));
    assert(lines.some((l) => /^C: MAIL FROM:<a@example.com> SIZE=\d+ BODY=8BITMIME$/.test(l)));
    const big = await c.send(
      { from: "a@example.com", to: ["b@example.com"] },
      new Uint8Array(2000),
    );
    assertEquals(big.recipients[0]!.accepted, false);
    assertEquals(big.mail.code, 552);
    assertEquals(server.received.length, 1);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("send() refuses unsafe envelope addresses with E_MESSAGE before any I/O", async () => {
  const server = await startSmtpServer();
  const c = client(server.port);
  try {
    await c.connect();
    for (const to of ["b@x\r\nRCPT TO:<evil@x>", "b@x>", "b x@y"]) {
      const err = await assertRejects(c.send({ from: "a@x", to: [to] }, message("s")));
      assert(isSmimeError(err, "E_MESSAGE"));
    }
    assertEquals(c.isOpen, true);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("send() adds SMTPUTF8 for a non-ASCII address, and refuses locally when it is not offered", async () => {
  for (const hide of [false, true]) {
    const server = await startSmtpServer({ hideSMTPUTF8: hide } as never);
    const lines: string[] = [];
    const c = client(server.port, { transcript: (l) => lines.push(l) });
    try {
      await c.connect();
      const r = await c.send(
        { from: "a@example.com", to: ["j\u00f6rg@example.com"] },
        message("u"),
      );
      if (hide) {
        assertEquals([r.mail.code, r.recipients[0]!.accepted, server.received.length], [
          553,
          false,
          0,
        ]);
      } else {
        assert(
          lines.some((l) =>
            l.startsWith("C: MAIL FROM:<a@example.com>") && l.endsWith(" SMTPUTF8")
          ),
        );
        assertEquals(r.recipients[0]!.accepted, true);
      }
    } finally {
      await c.close();
      await server.close();
    }
  }
});

Deno.test("send() refuses locally 8-bit header fields to a server without 8BITMIME, sends them with it", async () => {
  for (const hide of [false, true]) {
    const server = await startSmtpServer({ hide8BITMIME: hide } as never);
    const lines: string[] = [];
    const c = client(server.port, { transcript: (l) => lines.push(l) });
    try {
      await c.connect();
      const env = { from: "a@example.com", to: ["b@example.com"] };
      const r = await c.send(env, message("Gr\u00fc\u00dfe"));
      const plain = await c.send(env, message("plain"));
      assertEquals(plain.recipients[0]!.accepted, true);
      if (hide) {
        assertEquals([r.mail.code, r.mail.enhanced, r.recipients[0]!.accepted], [
          554,
          "5.6.3",
          false,
        ]);
        assert(r.mail.text.endsWith("(not sent)"), r.mail.text);
        assertEquals(server.received.length, 1);
        assertEquals(lines.filter((l) => l.startsWith("C: MAIL FROM")).length, 1);
      } else {
        assert(lines.some((l) => l.startsWith("C: MAIL FROM") && l.endsWith(" BODY=8BITMIME")));
        assertEquals(r.recipients[0]!.accepted, true);
        assertEquals(server.received.length, 2);
      }
    } finally {
      await c.close();
      await server.close();
    }
  }
});

Deno.test("send() of a large sealed message as its source: the server gets its bytes, never built", async () => {
  const large = await largeSealedMessage();
  const source = large.source!;
  const server = await startSmtpServer({ size: 10 << 20 });
  const c = client(server.port);
  try {
    await c.connect();
    const r = await c.send({ from: "alice@example.com", to: ["bob@example.com"] }, source);
    assertEquals(r.data?.code, 250);
    assert(large.source !== undefined, "sending it built the whole message");
    assert(bytesEqual(server.received[0]!.data, joinSource(source)), "the server got other bytes");
  } finally {
    await c.close();
    await server.close();
  }
});
