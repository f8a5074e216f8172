/**
 * The shared SMTP transport's connection turnover: messages handed over in
 * the same turn, more than one connection's worth, all go out on the first
 * try, none on a connection already closed under them.
 *
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { startStrictServer } from "../smtp/test_server.ts";
import { plugin } from "../../plugins/smtp-generic/mod.ts";
import { sampleMessage } from "./test_message.ts";

Deno.test("SmtpTransport: 20 messages at once over connections of 3 each are all accepted, none on a closed one", async () => {
  const server = await startStrictServer();
  const opened: string[] = [];
  const transport = plugin.create(
    plugin.options.parse({ host: "127.0.0.1", port: server.port, max_messages_per_connection: 3 }),
    { info: (line) => opened.push(line), warn: () => {} },
  );
  try {
    await transport.open();
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        () => transport.deliver(sampleMessage("signed", ["bob@example.com"])),
      ),
    );
    const codes = results.map((r) => r.recipients.map((x) => x.code ?? x.response).join());
    deepStrictEqual(codes, Array(20).fill("250"));
    strictEqual(server.messages.length, 20);
    // Three messages a connection: seven of them.
    strictEqual(opened.filter((line) => line.startsWith("Opened SMTP connection")).length, 7);
  } finally {
    await transport.close();
    await server.close();
  }
});
