import { assert, assertEquals, assertMatch } from "../../tests/support/assert.ts";
import { RawSmtpClient } from "../../tests/support/raw_smtp.ts";
import { startSink } from "./mod.ts";
import type { SinkOptions, SinkServer } from "./mod.ts";

const dec = new TextDecoder();

/** Runs `fn` against a fresh sink on a free port, closing both afterwards. */
async function withSink(
  options: Omit<SinkOptions, "port">,
  fn: (sink: SinkServer, connect: () => Promise<RawSmtpClient>) => Promise<void>,
): Promise<void> {
  const sink = await startSink({ port: 0, ...options });
  const clients: RawSmtpClient[] = [];
  try {
    await fn(sink, async () => {
      const client = await RawSmtpClient.connect(sink.port);
      clients.push(client);
      return client;
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await sink.close();
  }
}

/** Connects, reads the greeting and says EHLO; `ehlo` is the reply. */
async function hello(
  connect: () => Promise<RawSmtpClient>,
): Promise<RawSmtpClient & { ehlo: string }> {
  const client = await connect();
  assertMatch(await client.reply(), /^220 /);
  client.write("EHLO client.example\r\n");
  const ehlo = await client.reply();
  assertMatch(ehlo, /^250-/);
  return Object.assign(client, { ehlo });
}

Deno.test("startSink() advertises the extensions in EHLO, STARTTLS only when asked", async () => {
  await withSink({ hostname: "sink.test" }, async (_sink, connect) => {
    const client = await connect();
    assertEquals(await client.reply(), "220 sink.test ESMTP smimepost sink");
    client.write("EHLO c.example\r\n");
    assertEquals(
      await client.reply(),
      "250-sink.test\n250-PIPELINING\n250-SIZE 52428800\n250-8BITMIME\n250-SMTPUTF8\n" +
        "250 ENHANCEDSTATUSCODES",
    );
    client.write("STARTTLS\r\nVRFY x\r\nNOOP\r\nAUTH PLAIN x\r\nFOO\r\nQUIT\r\n");
    const replies = await client.replies(6);
    assertEquals(replies.map((r) => r.slice(0, 3)), ["502", "252", "250", "503", "502", "221"]);
    await client.ended;
  });
  await withSink({ faults: { offerStarttls: true } }, async (_sink, connect) => {
    const client = await hello(connect);
    assertMatch(client.ehlo, /\n250 STARTTLS$/);
  });
});

Deno.test("startSink() answers pipelined transactions in order, in one batch", async () => {
  await withSink({}, async (sink, connect) => {
    const client = await hello(connect);
    client.write(
      "MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\n" +
        "RCPT TO:<c@example.net>\r\nDATA\r\n",
    );
    assertEquals(await client.replies(4), [
      "250 2.1.0 Ok",
      "250 2.1.5 Ok",
      "250 2.1.5 Ok",
      "354 End data with <CR><LF>.<CR><LF>",
    ]);
    // The next envelope rides behind the final dot (RFC 2920 3.1).
    client.write(
      "Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n",
    );
    const [queued, ...rest] = await client.replies(4);
    assertMatch(queued ?? "", /^250 2\.0\.0 Ok: queued as [0-9A-Z]+$/);
    assertEquals(rest, ["250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>"]);
    client.write("Subject: two\r\n\r\nsecond\r\n.\r\nRSET\r\nQUIT\r\n");
    const last = await client.replies(3);
    assertEquals(last.map((r) => r.slice(0, 3)), ["250", "250", "221"]);
    await client.ended;
    assertEquals(sink.count, 2);
    const [one, two] = sink.received;
    assertEquals(one?.mailFrom, "a@example.com");
    assertEquals(one?.rcptTo, ["b@example.net", "c@example.net"]);
    assertEquals(dec.decode(one?.data), "Subject: one\r\n\r\nfirst\r\n");
    assertEquals(two?.mailFrom, "");
    assertEquals(two?.rcptTo, ["d@example.net"]);
    assertEquals(dec.decode(two?.data), "Subject: two\r\n\r\nsecond\r\n");
    assertMatch(one?.client ?? "", /^127\.0\.0\.1:\d+$/);
    assert(one?.id !== two?.id);
  });
});

Deno.test("startSink() enforces command order and syntax per transaction", async () => {
  await withSink({}, async (_sink, connect) => {
    const client = await connect();
    await client.reply();
    client.write(
      "MAIL FROM:<a@b>\r\nHELO c\r\nRCPT TO:<x@y>\r\nDATA\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\n" +
        "DATA\r\nRCPT TO:<>\r\nMAIL FROM:<a@b> FOO=1\r\nMAIL FROM:<a@b> SIZE=99999999999\r\n",
    );
    assertEquals((await client.replies(10)).map((r) => r.slice(0, 9)), [
      "503 5.5.1", // no HELO yet
      "250 sink.",
      "503 5.5.1", // RCPT before MAIL
      "503 5.5.1", // DATA before MAIL
      "250 2.1.0",
      "503 5.5.1", // nested MAIL
      "554 5.5.1", // DATA without recipients
      "501 5.1.3",
      "503 5.5.1", // still nested: the transaction is open
      "503 5.5.1",
    ]);
    client.write("RSET\r\nMAIL FROM:<a@b> FOO=1\r\nMAIL FROM:<a@b> SIZE=99999999999\r\n");
    assertEquals((await client.replies(3)).map((r) => r.slice(0, 9)), [
      "250 2.0.0",
      "555 5.5.4",
      "552 5.3.4",
    ]);
    client.write(`NOOP ${"x".repeat(1000)}\r\nNOOP\r\n`);
    assertEquals(await client.replies(2), ["500 5.5.2 Error: line too long", "250 2.0.0 Ok"]);
  });
});

Deno.test("startSink() reassembles commands and data that arrive in small pieces", async () => {
  await withSink({}, async (sink, connect) => {
    const client = await connect();
    await client.reply();
    const wire = "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
    const body = "Subject: pieces\r\n\r\n..dot\r\nend\r\n.\r\nNOOP\r\n";
    for (let i = 0; i < wire.length; i += 3) {
      client.write(wire.slice(i, i + 3));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertEquals((await client.replies(4)).map((r) => r.slice(0, 3)), ["250", "250", "250", "354"]);
    for (let i = 0; i < body.length; i += 2) {
      client.write(body.slice(i, i + 2));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assertMatch(await client.reply(), /^250 2\.0\.0 Ok: queued/);
    assertEquals(await client.reply(), "250 2.0.0 Ok");
    assertEquals(dec.decode(sink.received[0]?.data), "Subject: pieces\r\n\r\n.dot\r\nend\r\n");
    // An over-long line spread over several writes is refused once, at its end.
    for (let i = 0; i < 3; i++) {
      client.write("x".repeat(700));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    client.write("\r\nNOOP\r\n");
    assertEquals(await client.replies(2), ["500 5.5.2 Error: line too long", "250 2.0.0 Ok"]);
  });
});

Deno.test("startSink() removes dot-stuffing and keeps CRLF and 8-bit bytes exactly", async () => {
  await withSink({}, async (sink, connect) => {
    const client = await hello(connect);
    const wire = "Subject: dots\r\n\r\n..leading\r\n...\r\n.x\r\nmid.dle\r\n\xe9t\xe9 ok\r\n";
    client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write(new TextEncoder().encode(wire + ".\r\n"));
    assertMatch(await client.reply(), /^250 2\.0\.0 Ok: queued/);
    assertEquals(
      dec.decode(sink.received[0]?.data),
      "Subject: dots\r\n\r\n.leading\r\n..\r\nx\r\nmid.dle\r\n\xe9t\xe9 ok\r\n",
    );
  });
});

Deno.test("startSink() receives a 3 MB message exactly, over many chunks", async () => {
  await withSink({}, async (sink, connect) => {
    const client = await hello(connect);
    const line = "A".repeat(76) + "\r\n";
    const body = "Subject: big\r\n\r\n" + line.repeat(40_000) + ".dot\r\n";
    client.write("MAIL FROM:<a@b> SIZE=3300000\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write(body.replace("\r\n.dot", "\r\n..dot") + ".\r\n");
    assertMatch(await client.reply(), /^250 2\.0\.0 Ok: queued/);
    assertEquals(dec.decode(sink.received[0]?.data), body);
  });
});

Deno.test("startSink() strict mode refuses bare LF and bare CR in DATA, accepts clean CRLF", async () => {
  const log: string[] = [];
  await withSink({ log: (line) => log.push(line) }, async (sink, connect) => {
    const client = await hello(connect);
    const send = async (body: string) => {
      client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
      await client.replies(3);
      client.write(body);
      return await client.reply();
    };
    assertEquals(
      await send("line one\nline two\r\n.\r\n"),
      "500 5.5.2 Error: bare <LF> received in message data",
    );
    assertEquals(
      await send("line one\rline two\r\n.\r\n"),
      "500 5.5.2 Error: bare <CR> received in message data",
    );
    assertMatch(await send("clean\r\n.\r\n"), /^250 2\.0\.0 Ok: queued/);
    assertEquals(sink.received.length, 1);
    client.write("NOOP\n");
    assertEquals(await client.reply(), "500 5.5.2 Error: bare <LF> received in command");
    client.write("NO\rOP\r\n");
    assertEquals(await client.reply(), "500 5.5.2 Error: bare <CR> received in command");
  });
  assert(log.some((line) => line.includes("refused bare <LF>")), log.join("\n"));
});

Deno.test("startSink() strict mode treats \\n.\\n as smuggling: refuses and disconnects", async () => {
  await withSink({}, async (sink, connect) => {
    const client = await hello(connect);
    client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write(
      "Subject: outer\r\n\r\nhi\n.\nMAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@x>\r\n" +
        "DATA\r\nSubject: smuggled\r\n\r\n.\r\n",
    );
    assertEquals(
      await client.reply(),
      "500 5.5.2 Error: bare <LF> received in end of data (SMTP smuggling?)",
    );
    await client.ended;
    assertEquals(client.unread, "");
    assertEquals(sink.count, 0);
  });
});

Deno.test("startSink() lenient mode ends DATA at \\n.\\n, as Postfix 3.7 does", async () => {
  await withSink({ strict: false }, async (sink, connect) => {
    const client = await hello(connect);
    client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write("hi\n.\nNOOP\n");
    assertMatch(await client.reply(), /^250 2\.0\.0 Ok: queued/);
    assertEquals(await client.reply(), "250 2.0.0 Ok");
    assertEquals(dec.decode(sink.received[0]?.data), "hi\n");
  });
});

Deno.test("startSink() refuses a message over maxSize with 552 and stays usable", async () => {
  await withSink({ maxSize: 100 }, async (sink, connect) => {
    const client = await hello(connect);
    assertMatch(client.ehlo, /\n250-SIZE 100\n/);
    client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write(`${"x".repeat(80)}\r\n${"y".repeat(80)}\r\n.\r\nNOOP\r\n`);
    assertEquals(await client.replies(2), [
      "552 5.3.4 Message size exceeds fixed limit",
      "250 2.0.0 Ok",
    ]);
    assertEquals(sink.count, 0);
  });
});

Deno.test("startSink() fault: a 421 greeting closes the connection", async () => {
  await withSink({ faults: { greeting: "421 4.3.2 busy" } }, async (_sink, connect) => {
    const client = await connect();
    assertEquals(await client.reply(), "421 4.3.2 busy");
    await client.ended;
  });
});

Deno.test("startSink() fault: onRcpt refuses chosen recipients; the rest get the message", async () => {
  const faults = {
    onRcpt: (address: string, n: number) =>
      address.startsWith("gone@")
        ? "550 5.1.1 no such user"
        : n === 3
        ? "452 4.2.2 mailbox full"
        : undefined,
  };
  await withSink({ faults }, async (sink, connect) => {
    const client = await hello(connect);
    client.write(
      "MAIL FROM:<a@b>\r\nRCPT TO:<ok@x>\r\nRCPT TO:<gone@x>\r\nRCPT TO:<full@x>\r\nDATA\r\n",
    );
    assertEquals(await client.replies(5), [
      "250 2.1.0 Ok",
      "250 2.1.5 Ok",
      "550 5.1.1 no such user",
      "452 4.2.2 mailbox full",
      "354 End data with <CR><LF>.<CR><LF>",
    ]);
    client.write("x\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<gone@x>\r\nDATA\r\n");
    assertMatch(await client.reply(), /^250 2\.0\.0 Ok: queued/);
    assertEquals((await client.replies(3)).map((r) => r.slice(0, 3)), ["250", "550", "554"]);
    assertEquals(sink.received[0]?.rcptTo, ["ok@x"]);
  });
});

Deno.test("startSink() fault: onDataEnd replies, or drops the connection after the final dot", async () => {
  let calls = 0;
  const faults = {
    onDataEnd: () => ++calls === 1 ? "451 4.3.0 try later" : "drop" as const,
  };
  await withSink({ faults }, async (sink, connect) => {
    const client = await hello(connect);
    client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write("hello\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    assertEquals((await client.replies(4))[0], "451 4.3.0 try later");
    client.write("hello\r\n.\r\n");
    await client.ended;
    assertEquals(client.unread, "");
    assertEquals(sink.count, 0);
  });
});

Deno.test("startSink() fault: dropDuringData closes the connection mid-message", async () => {
  let seen = 0;
  const faults = {
    dropDuringData: (bytes: number) => {
      seen = bytes;
      return bytes > 1000;
    },
  };
  await withSink({ faults }, async (sink, connect) => {
    const client = await hello(connect);
    client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    await client.replies(3);
    client.write(`${"x".repeat(500)}\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write(`${"y".repeat(998)}\r\n.\r\n`);
    await client.ended;
    assert(seen > 1000);
    assertEquals(sink.count, 0);
  });
});

Deno.test("startSink() fault: replyDelayMs delays every reply", async () => {
  await withSink({ faults: { replyDelayMs: 60 } }, async (_sink, connect) => {
    const started = performance.now();
    const client = await connect();
    await client.reply();
    client.write("NOOP\r\nNOOP\r\n");
    await client.replies(2);
    // A lower bound only: three replies, each after its delay.
    assert(performance.now() - started >= 170, `${performance.now() - started} ms`);
  });
});

Deno.test("startSink() with dir writes <id>.eml and its envelope <id>.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-sink-" });
  try {
    await withSink({ dir: `${dir}/captured` }, async (sink, connect) => {
      const client = await hello(connect);
      client.write("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n");
      await client.replies(4);
      client.write("Subject: stored\r\n\r\nbody\r\n.\r\n");
      const id = (await client.reply()).split(" ").pop();
      const names = [];
      for await (const entry of Deno.readDir(`${dir}/captured`)) names.push(entry.name);
      assertEquals(names.sort(), [`${id}.eml`, `${id}.json`]);
      for (const name of names) {
        assertEquals((await Deno.stat(`${dir}/captured/${name}`)).mode! & 0o777, 0o600, name);
      }
      const eml = await Deno.readTextFile(`${dir}/captured/${id}.eml`);
      assertEquals(eml, "Subject: stored\r\n\r\nbody\r\n");
      const meta = JSON.parse(await Deno.readTextFile(`${dir}/captured/${id}.json`));
      assertEquals(meta.mail_from, "a@b");
      assertEquals(meta.rcpt_to, ["c@d", "e@f"]);
      assertEquals(meta.size, eml.length);
      assertEquals(meta.received_at, sink.received[0]?.receivedAt);
      assertMatch(meta.client, /^127\.0\.0\.1:\d+$/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startSink() keeps only the last `keep` messages but counts all", async () => {
  await withSink({ keep: 2 }, async (sink, connect) => {
    const client = await hello(connect);
    for (const n of [1, 2, 3]) {
      client.write(`MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n`);
      await client.replies(3);
      client.write(`${n}\r\n.\r\n`);
      await client.reply();
    }
    assertEquals(sink.count, 3);
    assertEquals(sink.received.map((m) => dec.decode(m.data)), ["2\r\n", "3\r\n"]);
  });
});

Deno.test("SinkServer.close() says 421 to connected clients and closes them", async () => {
  const sink = await startSink({ port: 0 });
  const client = await RawSmtpClient.connect(sink.port);
  await client.reply();
  await sink.close();
  assertEquals(await client.reply(), "421 4.3.2 Error: service shutting down");
  await client.ended;
  await sink.close(); // idempotent
});

Deno.test("startSink() accepts a message from swaks", async () => {
  await withSink({}, async (sink) => {
    const out = await new Deno.Command("swaks", {
      args: [
        "--server",
        "127.0.0.1",
        "--port",
        String(sink.port),
        "--to",
        "a@b.example",
        "--from",
        "c@d.example",
        "--header",
        "Subject: from swaks",
        "--pipeline",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = dec.decode(out.stdout) + dec.decode(out.stderr);
    assertEquals(out.code, 0, text);
    assertMatch(text, /250 2\.0\.0 Ok: queued as/);
    assertEquals(sink.received[0]?.rcptTo, ["a@b.example"]);
    assertMatch(dec.decode(sink.received[0]?.data), /^Date: .*\r\n[\s\S]*Subject: from swaks\r\n/);
  });
});
