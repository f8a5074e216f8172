import { SmtpClient } from "./client.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { type ByteSource, bytesToLatin1 } from "../bytes.ts";
import { makeCert, normaliseLines } from "./test_helpers.ts";
import { ehloName } from "./handshake.ts";
import { startStrictServer, type StrictOptions } from "./test_server.ts";
import type { SmtpClientOptions } from "./types.ts";

const enc = new TextEncoder();

async function withStrict(
  options: StrictOptions,
  clientOptions: Partial<SmtpClientOptions>,
  fn: (
    c: SmtpClient,
    server: Awaited<ReturnType<typeof startStrictServer>>,
    lines: string[],
  ) => Promise<void>,
) {
  const server = await startStrictServer(options);
  const lines: string[] = [];
  const c = new SmtpClient({
    host: "127.0.0.1",
    port: server.port,
    tls: { mode: "never" },
    transcript: (l) => lines.push(l),
    ...clientOptions,
  });
  try {
    await fn(c, server, lines);
  } finally {
    await c.close();
    await server.close();
  }
}

const TRICKY = [
  "Subject: bare LF\n\nline one\nline two\n",
  "Subject: bare CR\r\rline\rend",
  "Subject: smuggle\r\n\r\nbefore\n.\nMAIL FROM:<evil@x>\r\nafter\r\n",
  "Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\n.",
  "Subject: mixed\r\n\r\na\r\r\nb\n\rc\r\n.\r\nd",
  "",
];

for (const pipelining of [true, false]) {
  Deno.test(`messages with bare LF, bare CR, "\\n.\\n" and leading dots arrive intact at a strict server (pipelining ${pipelining})`, async () => {
    const extensions = pipelining ? ["PIPELINING", "8BITMIME"] : ["8BITMIME"];
    await withStrict({ extensions }, {}, async (c, server) => {
      await c.connect();
      const results = await Promise.all(
        TRICKY.map((m, i) =>
          c.send({ from: "a@x.example", to: [`r${i}@x.example`] }, enc.encode(m))
        ),
      );
      assertEquals(server.violations, []);
      assertEquals(results.map((r) => r.data?.code), TRICKY.map(() => 250));
      assertEquals(server.messages.length, TRICKY.length);
      TRICKY.forEach((m, i) => {
        assertEquals(bytesToLatin1(server.messages[i]!.data), normaliseLines(enc.encode(m)));
        assertEquals(server.messages[i]!.to, [`r${i}@x.example`]);
      });
    });
  });
}

/** `bytes` as a source in pieces of `size`, each in one scratch buffer the next overwrites. */
function scratchPieces(bytes: Uint8Array, size: number): ByteSource {
  return {
    size: bytes.length,
    *pieces() {
      const scratch = new Uint8Array(size);
      for (let at = 0; at < bytes.length; at += size) {
        const piece = bytes.subarray(at, at + size);
        scratch.set(piece);
        yield scratch.subarray(0, piece.length);
      }
    },
  };
}

Deno.test("the same messages given as sources, cut anywhere into scratch pieces, arrive intact", async () => {
  await withStrict(
    { extensions: ["PIPELINING", "8BITMIME", "SIZE 100000"] },
    {},
    async (c, server, lines) => {
      await c.connect();
      const sends = [];
      for (const [i, m] of TRICKY.entries()) {
        for (const size of [1, 2, 3, 7]) {
          sends.push(
            c.send(
              { from: "a@x.example", to: [`r${i}@x.example`] },
              scratchPieces(enc.encode(m), size),
            ),
          );
        }
      }
      const results = await Promise.all(sends);
      assertEquals(server.violations, []);
      assertEquals(results.map((r) => r.data?.code), sends.map(() => 250));
      TRICKY.forEach((m, i) => {
        for (let k = 0; k < 4; k++) {
          assertEquals(
            bytesToLatin1(server.messages[i * 4 + k]!.data),
            normaliseLines(enc.encode(m)),
          );
        }
      });
      // SIZE is the source's size, read without making it.
      const sizes = lines.filter((l) => l.startsWith("C: MAIL FROM")).map((l) =>
        / SIZE=(\d+)/.exec(l)?.[1]
      );
      assertEquals(sizes, TRICKY.flatMap((m) => Array(4).fill(String(enc.encode(m).length))));
    },
  );
});

Deno.test("a source with a high byte is declared BODY=8BITMIME, a 7-bit one is not", async () => {
  await withStrict({ extensions: ["PIPELINING", "8BITMIME"] }, {}, async (c, _server, lines) => {
    await c.connect();
    await c.send(
      { from: "a@x.example", to: ["b@x.example"] },
      scratchPieces(enc.encode("Subject: caf\u00e9\r\n\r\nx\r\n"), 4),
    );
    await c.send(
      { from: "a@x.example", to: ["b@x.example"] },
      scratchPieces(enc.encode("Subject: cafe\r\n\r\nx\r\n"), 4),
    );
    const mail = lines.filter((l) => l.startsWith("C: MAIL FROM"));
    assertEquals(mail.map((l) => l.includes("BODY=8BITMIME")), [true, false]);
  });
});

Deno.test("STARTTLS discards plaintext injected after the 220 and says EHLO again (CVE-2011-0411)", async () => {
  const { key, cert } = await makeCert();
  const inject = "250-INJECTED\r\n250 AUTH PLAIN\r\n";
  await withStrict(
    { tls: { key, cert, inject } },
    { tls: { mode: "require", ca: cert } },
    async (c, server, lines) => {
      const session = await c.connect();
      assertEquals(session.tls, true);
      assertEquals(session.extensions.has("INJECTED"), false);
      assert(
        lines.some((l) => /^\*: discarded \d+ bytes received before the TLS handshake$/.test(l)),
      );
      assertEquals(server.commandLines.filter((l) => l.startsWith("EHLO")).length, 2);
      const r = await c.send({ from: "a@x.example", to: ["b@x.example"] }, enc.encode("hi\n"));
      assertEquals(r.queueId, "S1");
    },
  );
});

Deno.test("EHLO refused with 502 falls back to HELO", async () => {
  const reply = (l: string) =>
    l.startsWith("EHLO") ? "502 5.5.2 no EHLO" : l.startsWith("HELO") ? "250 hi" : undefined;
  await withStrict({ reply }, {}, async (c, server) => {
    const s = await c.connect();
    assertEquals(s.extensions.size, 0);
    const r = await c.send({ from: "", to: ["b@x.example"] }, enc.encode("x"));
    assertEquals(r.recipients[0]!.accepted, true);
    assertEquals(server.messages[0]!.from, "");
  });
});

Deno.test("a server that says 354 although no RCPT was accepted gets an empty end of data and RSET", async () => {
  const reply = (l: string) => (l.startsWith("RCPT") ? "550 5.1.1 unknown" : undefined);
  await withStrict({ reply }, {}, async (c, server) => {
    await c.connect();
    const r = await c.send({ from: "a@x.example", to: ["b@x.example"] }, enc.encode("x"));
    assertEquals(r.recipients[0]!.reply.text, "550 5.1.1 unknown");
    assertEquals(r.data, undefined);
    assert(server.commandLines.includes("RSET"));
    const again = await c.send({ from: "a@x.example", to: ["c@x.example"] }, enc.encode("y"));
    assertEquals(again.recipients[0]!.accepted, false);
  });
});

Deno.test("the strict test server itself refuses a bare LF in DATA (it is a real check)", async () => {
  const net = (await import("node:net")).default;
  const server = await startStrictServer();
  const socket = net.connect(server.port, "127.0.0.1");
  const closed = new Promise((r) => socket.once("close", r));
  socket.on("data", () => {});
  socket.write("EHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nline\n.\r\n");
  await closed;
  await server.close();
  assertEquals(server.violations, ["bare LF in DATA"]);
  assertEquals(server.messages.length, 0);
});

Deno.test("EHLO names the host: its FQDN, else the connection's address literal", async () => {
  assertEquals(ehloName("mail.bank.example", "10.0.0.7"), "mail.bank.example");
  assertEquals(ehloName("Gen-Node-3.Bank.Example\n", "10.0.0.7"), "gen-node-3.bank.example");
  assertEquals(ehloName("vm", "10.0.0.7"), "[10.0.0.7]");
  assertEquals(ehloName("localhost", "::ffff:192.0.2.1"), "[192.0.2.1]");
  assertEquals(ehloName("box.localdomain", "2001:db8::7"), "[IPv6:2001:db8::7]");
  assertEquals(ehloName("fe80-host", "fe80::1%eth0"), "[IPv6:fe80::1]");
  assertEquals(ehloName(undefined, undefined), "localhost");
  await withStrict({}, {}, async (c, server) => {
    await c.connect();
    const ehlo = server.commandLines.find((l) => l.startsWith("EHLO "))!;
    const host = Deno.hostname();
    assertEquals(ehlo, `EHLO ${ehloName(host, "127.0.0.1")}`);
    assertEquals(ehlo === "EHLO localhost", false);
  });
});
