/**
 * The contract cases of a target that posts to a transmissions API, against
 * the fake API: results per recipient, refusals as results, errors by code
 * in the server's words, aborts, the key kept secret, the sealed bytes
 * unchanged, and the per-message fields in the body.
 *
 * @module
 */
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejectsWith,
  assertSmimeError,
} from "../assert.ts";
import { sampleMessage } from "../../../core/deliver/test_message.ts";
import { contractReply, startFakeApi } from "../../../core/http/test_server.ts";
import type { FakeApi } from "../../../core/http/test_server.ts";
import {
  assertHeadersOnlyInFront,
  assertNoSecret,
  assertOneResultPerRecipient,
  checkFields,
  closedPort,
  create,
  errorText,
  recorder,
  withOpen,
} from "./common.ts";
import type { Bound, Endpoint } from "./types.ts";
import { EVERY_FIELD } from "./types.ts";

export function defineApiChecks(target: Bound): void {
  const { name } = target;
  const endpointOf = (api: FakeApi, apiKey: string): Endpoint => {
    const url = new URL(api.origin);
    return { host: url.hostname, port: Number(url.port), apiKey };
  };
  /** The options with the API base moved under a scenario prefix ("/s429", "/slow"). */
  const atScenario = (options: Record<string, unknown>, api: FakeApi, scenario: string) => {
    const base = `${api.origin}/${scenario}/api/v1`;
    return "host" in options ? { ...options, host: base } : { ...options, api_url: base };
  };

  Deno.test(`${name}: delivers to every recipient, one result each, in order, the server's words`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { lines, context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpointOf(api, key)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.recipients.map((r) => r.status), ["accepted", "accepted", "accepted"]);
      assertEquals(result.recipients.map((r) => r.code), [200, 200, 200]);
      assertEquals(result.id, "7054125683218526");
      const host = new URL(api.origin).host;
      assert(
        result.recipients.every((r) => r.response === `accepted by ${host} (id 7054125683218526)`),
        "each recipient's line names who accepted it and the transmission id",
      );
      assertEquals(api.requests.length, 1);
      const body = JSON.parse(api.requests[0]!.body);
      assertEquals(
        body.recipients.map((r: { address: { email: string } }) => r.address.email),
        [...message.recipients],
      );
      assertIncludes(lines.join("\n"), `info: Opened connection to ${api.origin}`);
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: a refused recipient is a result, not an exception`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    const message = sampleMessage("signed", [
      "bob@example.com",
      "nobody@rejected.invalid",
      "dave@example.com",
    ]);
    try {
      const transport = create(target, target.options(endpointOf(api, key)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      // The API reports counts only, so no recipient can be called accepted.
      assert(result.recipients.every((r) => r.status === "rejected"));
      assertIncludes(result.recipients[0]!.response, "accepted 2 of 3");
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: a wrong key is E_AUTH at deliver(); a 429 is E_TEMPFAIL, in the server's words`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    try {
      const wrong = create(target, target.options(endpointOf(api, "wrong-key")), context);
      await withOpen(wrong, async () => {
        const err = await assertSmimeError(() => wrong.deliver(sampleMessage()), "E_AUTH");
        assertIncludes(err.message, "401");
      });
      const busy = create(
        target,
        atScenario(target.options(endpointOf(api, key)), api, "s429"),
        context,
      );
      await withOpen(busy, async () => {
        const err = await assertSmimeError(() => busy.deliver(sampleMessage()), "E_TEMPFAIL");
        assertIncludes(err.message, "Too many requests");
      });
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: an already-aborted signal rejects deliver, leaks nothing`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    const reason = new Error("stop now");
    try {
      const transport = create(target, target.options(endpointOf(api, key)), context);
      await withOpen(transport, async () => {
        await assertRejectsWith(
          () => transport.deliver(sampleMessage(), AbortSignal.abort(reason)),
          reason,
        );
      });
      assertEquals(api.requests.length, 0);
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: an abort while the API holds its reply rejects at once, leaks nothing`, async () => {
    // The API answers after 5 s; the abort comes as it reads the request. Only an abort
    // that stops the wait rejects with its reason: otherwise the 200 would come.
    const key = `key-${crypto.randomUUID()}`;
    const controller = new AbortController();
    const reason = new Error("stop now");
    const api = await startFakeApi((req) => {
      controller.abort(reason);
      return contractReply(key)(req);
    });
    const { context } = recorder();
    try {
      const options = atScenario(target.options(endpointOf(api, key)), api, "slow");
      const transport = create(target, options, context);
      await withOpen(transport, async () => {
        await assertRejectsWith(
          () => transport.deliver(sampleMessage(), controller.signal),
          reason,
        );
      });
      assertEquals(api.requests.length, 1);
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: the API key never appears in any line or error`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { lines, context } = recorder();
    const texts: string[] = [];
    try {
      const good = create(target, target.options(endpointOf(api, key)), context);
      await withOpen(good, () => good.deliver(sampleMessage()));
      // The server knows another key: the 401 path must not echo ours either.
      const other = await startFakeApi(contractReply("someone-else"));
      try {
        const refused = create(target, target.options(endpointOf(other, key)), context);
        texts.push(
          await errorText(() => withOpen(refused, () => refused.deliver(sampleMessage()))),
        );
      } finally {
        await other.close();
      }
      const offline = create(
        target,
        target.options({ host: "127.0.0.1", port: closedPort(), apiKey: key }),
        context,
      );
      texts.push(await errorText(() => withOpen(offline, () => offline.deliver(sampleMessage()))));
      assert(texts.every((t) => t !== ""), "both failures must throw");
      assert(lines.some((l) => l.startsWith("debug: ")), "debug lines were collected");
      assertNoSecret([...lines, ...texts].join("\n"), key);
      assertEquals(api.requests[0]!.headers.get("Authorization"), key, "the key is sent, though");
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: the sealed bytes go in email_rfc822 unchanged, no headers added`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpointOf(api, key)), context);
      await withOpen(transport, () => transport.deliver(message));
      const body = JSON.parse(api.requests[0]!.body);
      const content = new TextEncoder().encode(body.content.email_rfc822);
      assertHeadersOnlyInFront(content, message.bytes, target.headers);
      assertEquals(body.options?.open_tracking ?? false, false);
      assertEquals(body.options?.click_tracking ?? false, false);
    } finally {
      await api.close();
    }
  });

  Deno.test(`${name}: the per-message fields reach the wire`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpointOf(api, key)), context);
      await withOpen(transport, async () => {
        await transport.deliver(message, undefined, EVERY_FIELD);
        await transport.deliver(message);
      });
      const [given, plain] = api.requests.map((r) => JSON.parse(r.body));
      const content = new TextEncoder().encode(given.content.email_rfc822);
      const headers = assertHeadersOnlyInFront(content, message.bytes, target.headers);
      checkFields(target, { headers, body: given });
      if (!target.fields) assertEquals(given, plain, "fields it does not know changed the body");
    } finally {
      await api.close();
    }
  });
}
