/**
 * The contract cases of a target that speaks SMTP without a login, against
 * the sink: results per recipient in the server's words, refusals as
 * results, reconnection, uncertainty, aborts, secrets, headers in front
 * only, and the per-message fields on the wire.
 *
 * @module
 */
import { assert, assertEquals, assertIncludes, assertRejectsWith } from "../assert.ts";
import { sampleMessage } from "../../../core/deliver/test_message.ts";
import type { SinkServer } from "../../../core/sink/mod.ts";
import {
  assertHeadersOnlyInFront,
  assertNoSecret,
  assertOneResultPerRecipient,
  checkFields,
  create,
  errorText,
  recorder,
  sink,
  withOpen,
} from "./common.ts";
import type { Bound, Endpoint } from "./types.ts";
import { EVERY_FIELD } from "./types.ts";

export function defineSinkChecks(target: Bound): void {
  const { name } = target;
  const endpoint = (server: SinkServer): Endpoint => ({ host: server.host, port: server.port });

  Deno.test(`${name}: delivers to every recipient, one result each, in order, the server's words`, async () => {
    const { server } = await sink();
    const { lines, context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.recipients.map((r) => r.status), ["accepted", "accepted", "accepted"]);
      assertEquals(result.recipients.map((r) => r.code), [250, 250, 250]);
      assert(result.id, "the queue id of the final 250");
      // The sink's final reply, verbatim, for each recipient.
      const queued = `250 2.0.0 Ok: queued as ${result.id}`;
      assertEquals(result.recipients.map((r) => r.response), [queued, queued, queued]);
      assertEquals(server.received.length, 1);
      assertEquals(server.received[0]!.rcptTo, [...message.recipients]);
      assertEquals(server.received[0]!.mailFrom, message.sender);
      assertIncludes(lines.join("\n"), `Opened SMTP connection (plain) to 127.0.0.1`);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: concurrent deliveries each get their own results`, async () => {
    const { server } = await sink();
    const { context } = recorder();
    const messages = [0, 1, 2].map((i) =>
      sampleMessage("signed", [`r${i}a@example.com`, `r${i}b@example.com`])
    );
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      const results = await withOpen(
        transport,
        () => Promise.all(messages.map((m) => transport.deliver(m))),
      );
      results.forEach((result, i) => {
        assertOneResultPerRecipient(result, messages[i]!);
        assert(result.recipients.every((r) => r.status === "accepted"));
      });
      assertEquals(
        server.received.map((m) => m.rcptTo).sort(),
        messages.map((m) => [...m.recipients]).sort(),
      );
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: max_messages_per_connection opens fresh connections, leaks none`, async () => {
    const { server, log } = await sink();
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const options = { ...target.options(endpoint(server)), max_messages_per_connection: 2 };
      const transport = create(target, options, context);
      await withOpen(transport, async () => {
        for (let i = 0; i < 5; i++) await transport.deliver(message);
      });
      assertEquals(server.received.length, 5);
      assertEquals(log.filter((line) => line.endsWith(": connect")).length, 3);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: a refused recipient is a result, not an exception: 550 rejected, 452 deferred, verbatim`, async () => {
    const [bob, carol, dave] = ["bob@example.com", "carol@example.com", "dave@example.com"];
    const refusal = "550 5.1.1 <carol@example.com>: Recipient address rejected: User unknown";
    const full = "452 4.2.2 <dave@example.com>: mailbox full";
    const { server } = await sink({
      onRcpt: (address) => address === carol ? refusal : address === dave ? full : undefined,
    });
    const { context } = recorder();
    const message = sampleMessage("signed", [bob!, carol!, dave!]);
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      const [b, c, d] = result.recipients;
      assertEquals(b!.status, "accepted");
      assertEquals({ status: c!.status, code: c!.code, enhanced: c!.enhanced }, {
        status: "rejected",
        code: 550,
        enhanced: "5.1.1",
      });
      assertEquals(c!.response, refusal);
      assertEquals({ status: d!.status, code: d!.code }, { status: "deferred", code: 452 });
      assertEquals(d!.response, full);
      assertEquals(server.received.length, 1, "the message goes out once");
      assertEquals(server.received[0]!.rcptTo, [bob]);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: every recipient refused is a result, and nothing is sent`, async () => {
    const { server } = await sink({ onRcpt: (a) => `550 5.1.1 <${a}>: no such user` });
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.recipients.map((r) => r.response), [
        ...message.recipients.map((a) => `550 5.1.1 <${a}>: no such user`),
      ]);
      assertEquals(result.recipients.map((r) => r.status), ["rejected", "rejected", "rejected"]);
      assertEquals(server.received.length, 0);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: a connection dropped after the final dot is uncertain`, async () => {
    const { server } = await sink({ onDataEnd: () => "drop" });
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.uncertain, true);
      assert(result.recipients.every((r) => r.status !== "accepted"), "nothing is known accepted");
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: an already-aborted signal rejects open and deliver, leaks nothing`, async () => {
    const { server } = await sink();
    const { context } = recorder();
    try {
      const first = create(target, target.options(endpoint(server)), context);
      const reason = new Error("stop now");
      await assertRejectsWith(() => first.open(AbortSignal.abort(reason)), reason);
      await first.close();

      const second = create(target, target.options(endpoint(server)), context);
      await withOpen(second, async () => {
        await assertRejectsWith(
          () => second.deliver(sampleMessage(), AbortSignal.abort(reason)),
          reason,
        );
      });
      assertEquals(server.received.length, 0);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: an abort while the server holds its reply rejects at once, leaks nothing`, async () => {
    // From the RCPT on, the server holds each reply for 30 s, and the abort comes as it
    // reads that RCPT. Only an abort that stops the wait rejects with its reason: a
    // transport that ignored it would get the 250s, 30 s later.
    const controller = new AbortController();
    const reason = new Error("stop now");
    let holding = false;
    const { server } = await sink({
      get replyDelayMs() {
        return holding ? 30_000 : 0;
      },
      onRcpt: () => {
        holding = true;
        controller.abort(reason);
        return undefined;
      },
    });
    const { context } = recorder();
    const transport = create(target, target.options(endpoint(server)), context);
    try {
      await transport.open();
      await assertRejectsWith(
        () => transport.deliver(sampleMessage(), controller.signal),
        reason,
      );
      assertEquals(server.received.length, 0);
    } finally {
      // The server first: its shutdown drops the replies it holds, so close() need not wait.
      await server.close();
      await transport.close();
      await transport.close();
    }
  });

  Deno.test(`${name}: a password never appears, not even when the server offers no AUTH`, async () => {
    const secret = `pw-${crypto.randomUUID()}`;
    const { server } = await sink();
    const { lines, context } = recorder();
    try {
      const options = {
        ...target.options(endpoint(server)),
        user: "contract-user",
        password: secret,
        allow_plaintext_auth: true,
      };
      const transport = create(target, options, context);
      const thrown = await errorText(() => transport.open());
      await transport.close();
      assert(thrown !== "", "open() without AUTH on offer must fail");
      assertNoSecret([...lines, thrown].join("\n"), secret, "contract-user");
      assertEquals(server.received.length, 0);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: delivery headers go only in front; the sealed bytes follow exactly`, async () => {
    const { server } = await sink();
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      await withOpen(transport, () => transport.deliver(message));
      assertEquals(server.received.length, 1);
      assertHeadersOnlyInFront(server.received[0]!.data, message.bytes, target.headers);
      // The same transport twice: the headers are per message, not accumulated.
      const again = create(target, target.options(endpoint(server)), context);
      await withOpen(again, async () => {
        await again.deliver(message);
        await again.deliver(message);
      });
      assertEquals(server.received.length, 3);
      for (const received of server.received.slice(1)) {
        assertHeadersOnlyInFront(received.data, message.bytes, target.headers);
      }
    } finally {
      await server.close();
    }
  });

  Deno.test(`${name}: the per-message fields reach the wire`, async () => {
    const { server } = await sink();
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      await withOpen(transport, async () => {
        await transport.deliver(message, undefined, EVERY_FIELD);
        await transport.deliver(message);
      });
      const [given, plain] = server.received;
      // Fields change what the headers say, never which headers go in front.
      const headers = assertHeadersOnlyInFront(given!.data, message.bytes, target.headers);
      checkFields(target, { headers });
      const without = assertHeadersOnlyInFront(plain!.data, message.bytes, target.headers);
      if (!target.fields) {
        assertEquals(headers, without, "fields it does not know changed a header");
      }
    } finally {
      await server.close();
    }
  });
}
