/**
 * The plugin contract suite: one set of checks, run against every plugin in
 * the registry (and the HTTP mode of powermta and momentum as targets of
 * their own), each pointed at a local server: the sink for SMTP, the real
 * Postfix rig for sparkpost-smtp (it needs STARTTLS + AUTH), the fake
 * transmissions API for HTTP. Sanitizers stay on: a leaked socket fails.
 */
import { assert, assertEquals, assertIncludes, assertSmimeError } from "./assert.ts";
import { sameBytes, toLf } from "./helpers.ts";
import { postfixAvailable, sharedPostfix } from "./support/rig.ts";
import type { PostfixRig } from "./support/rig.ts";
import { plugins } from "../plugins/mod.ts";
import type {
  DeliveryPlugin,
  DeliveryResult,
  PluginContext,
  Transport,
} from "../core/deliver/types.ts";
import { startSink } from "../core/sink/mod.ts";
import type { SinkFaults, SinkServer } from "../core/sink/mod.ts";
import { contractReply, startFakeApi } from "../core/http/test_server.ts";
import { sampleMessage } from "../core/deliver/test_message.ts";
import type { FakeApi } from "../core/http/test_server.ts";
import type { SealedMessage } from "../core/smime/sealed.ts";

/** Evaluated once: under CI=true a missing rig throws here, failing the file. */
const hasPostfix = postfixAvailable();

type Kind = "sink" | "postfix" | "api";

/** Where a target delivers to. */
interface Endpoint {
  host: string;
  port: number;
  /** STARTTLS and AUTH (the rig's submission port). */
  login?: { user: string; password: string; caFile: string };
  /** The API key for HTTP targets. */
  apiKey?: string;
}

/** One plugin (in one transport mode) under test. */
interface Target {
  /** Test-name prefix: the plugin id, with the mode when it has two. */
  name: string;
  plugin: DeliveryPlugin;
  /** The local server the target delivers to. */
  kind: Kind;
  /** Header fields the target puts in front of the message, in order. */
  headers: string[];
  /** Options pointing at `endpoint`. */
  options(endpoint: Endpoint): Record<string, unknown>;
}

const RETURN_PATH = "bounces@example.com";

/** SMTP options shared by the SMTP-speaking plugins; AUTH over STARTTLS when asked. */
function smtpOptions(e: Endpoint): Record<string, unknown> {
  const base = { host: e.host, port: e.port };
  if (!e.login) return base;
  return {
    ...base,
    tls: "require",
    tls_ca_file: e.login.caFile,
    tls_servername: "localhost",
    user: e.login.user,
    password: e.login.password,
  };
}

function apiBase(e: Endpoint): string {
  return `http://${e.host}:${e.port}/api/v1`;
}

/** The targets of each registered plugin id. */
const TARGETS: Record<string, Omit<Target, "plugin">[]> = {
  "smtp-generic": [{ name: "smtp-generic", kind: "sink", headers: [], options: smtpOptions }],
  "sparkpost-smtp": [{
    name: "sparkpost-smtp",
    kind: "postfix",
    headers: ["X-MSYS-API"],
    options: (e) => {
      const { user: _user, password, ...smtp } = smtpOptions(e);
      return { ...smtp, api_key: password ?? "unused-key", campaign_id: "contract-42" };
    },
  }],
  "sparkpost-api": [{
    name: "sparkpost-api",
    kind: "api",
    headers: [],
    options: (e) => ({ host: apiBase(e), api_key: e.apiKey ?? "unused-key" }),
  }],
  powermta: [
    {
      name: "powermta",
      kind: "sink",
      headers: ["X-Virtual-MTA", "X-Job"],
      options: (e) => ({ ...smtpOptions(e), virtual_mta: "pool-contract", job: "job-42" }),
    },
    {
      name: "powermta (http)",
      kind: "api",
      headers: [],
      options: (e) => ({
        transport: "http",
        api_url: apiBase(e),
        api_key: e.apiKey ?? "unused-key",
        return_path: RETURN_PATH,
        job: "job-42",
      }),
    },
  ],
  momentum: [
    {
      name: "momentum",
      kind: "sink",
      headers: ["X-MSYS-API", "X-Binding"],
      options: (e) => ({
        ...smtpOptions(e),
        binding_header: "X-Binding",
        binding: "contract",
        campaign_id: "contract-42",
      }),
    },
    {
      name: "momentum (http)",
      kind: "api",
      headers: [],
      options: (e) => ({
        transport: "http",
        api_url: apiBase(e),
        api_key: e.apiKey ?? "unused-key",
        return_path: RETURN_PATH,
      }),
    },
  ],
};

/** Every line a plugin reports, in order. */
function recorder(): { lines: string[]; context: PluginContext } {
  const lines: string[] = [];
  return {
    lines,
    context: {
      info: (l) => lines.push(`info: ${l}`),
      warn: (l) => lines.push(`warn: ${l}`),
      debug: (l) => lines.push(`debug: ${l}`),
    },
  };
}

function create(target: Target, options: Record<string, unknown>, context: PluginContext) {
  return target.plugin.create(target.plugin.options.parse(options), context);
}

/** A loopback port nothing listens on (free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Recipients unique to one test run, so rig deliveries never mix. */
function uniqueRecipients(n: number, tag: string): string[] {
  const id = crypto.randomUUID().slice(0, 8);
  return Array.from({ length: n }, (_, i) => `${tag}-${id}-${i}@example.com`);
}

/** Opens, runs `fn`, and always closes twice (close must be idempotent). */
async function withOpen<T>(transport: Transport, fn: () => Promise<T>): Promise<T> {
  try {
    await transport.open();
    return await fn();
  } finally {
    await transport.close();
    await transport.close();
  }
}

/** A sink counting connections, with faults. */
async function sink(faults: SinkFaults = {}): Promise<{ server: SinkServer; log: string[] }> {
  const log: string[] = [];
  const server = await startSink({ port: 0, faults, log: (line) => log.push(line) });
  return { server, log };
}

/** Splits the bytes in front of the sealed message into header names. */
function headerNames(prefix: Uint8Array): string[] {
  const text = new TextDecoder().decode(prefix);
  if (text === "") return [];
  assert(/\r?\n$/.test(text), `added headers end with a line end: ${JSON.stringify(text)}`);
  return text.replace(/\r?\n$/, "").split(/\r?\n(?![ \t])/).map((field) => {
    const colon = field.indexOf(":");
    assert(colon > 0, `not a header field: ${JSON.stringify(field)}`);
    return field.slice(0, colon);
  });
}

/** Asserts `data` is the `expected` header fields followed by exactly the `sealed` bytes. */
function assertHeadersOnlyInFront(data: Uint8Array, sealed: Uint8Array, expected: string[]): void {
  assert(data.length >= sealed.length, "the delivered message is shorter than the sealed one");
  const tail = data.subarray(data.length - sealed.length);
  assert(sameBytes(tail, sealed), "the bytes after the added headers differ from the sealed ones");
  assertEquals(headerNames(data.subarray(0, data.length - sealed.length)), expected);
}

function assertOneResultPerRecipient(result: DeliveryResult, message: SealedMessage): void {
  assertEquals(result.recipients.map((r) => r.recipient), [...message.recipients]);
}

/** Fails when `secret`, or a base64 form an SMTP AUTH exchange would carry, is in `text`. */
function assertNoSecret(text: string, secret: string, user?: string): void {
  const forms = [secret, btoa(secret)];
  if (user) forms.push(btoa(`\0${user}\0${secret}`));
  for (const form of forms) assert(!text.includes(form), `a secret form leaked: ${form}`);
}

async function errorText(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return "";
}

// ------------------------------------------------------------- the suite

const targets: Target[] = [];
for (const plugin of plugins.values()) {
  const listed = TARGETS[plugin.id] ?? [];
  Deno.test(`${plugin.id}: has a target in the contract suite`, () => {
    assert(listed.length > 0, `add ${plugin.id} to TARGETS in tests/contract_test.ts`);
  });
  for (const target of listed) targets.push({ ...target, plugin });
}

for (const target of targets) {
  const needsRig = target.kind === "postfix";
  const { name } = target;

  Deno.test(`${name}: create() does no I/O`, async () => {
    const missingCa = `/nonexistent/${crypto.randomUUID()}/ca.pem`;
    const closed = closedPort();
    // A closed port and a missing CA file: create() reads and connects nothing, so no throw.
    const { lines, context } = recorder();
    const offline = { host: "127.0.0.1", port: closed, apiKey: "unused-key" };
    const extra = target.kind === "api" ? {} : { tls_ca_file: missingCa };
    create(target, { ...target.options(offline), ...extra }, context);
    // A live server: nothing may reach it.
    const { server, log } = await sink();
    const api = await startFakeApi(contractReply("unused-key"));
    try {
      const port = target.kind === "api" ? Number(new URL(api.origin).port) : server.port;
      create(target, { ...target.options({ ...offline, port }), ...extra }, context);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assertEquals(log, [], "the sink saw a connection");
      assertEquals(api.requests.length, 0, "the API saw a request");
      assertEquals(lines, []);
    } finally {
      await server.close();
      await api.close();
    }
    if (target.kind !== "api") {
      // The CA file is read at open(), and named in the error.
      const transport = create(target, { ...target.options(offline), ...extra }, context);
      const err = await assertSmimeError(() => transport.open(), "E_CONFIG");
      assertIncludes(err.message, missingCa);
      await transport.close();
    }
  });

  Deno.test(`${name}: close() is idempotent and safe after a failed open`, async () => {
    const { context } = recorder();
    const transport = create(
      target,
      target.options({ host: "127.0.0.1", port: closedPort(), apiKey: "unused-key" }),
      context,
    );
    if (target.kind === "api") {
      // open() of an API does no I/O; the refused connection shows at deliver().
      await transport.open();
      const err = await assertSmimeError(() => transport.deliver(sampleMessage()), "E_UNAVAILABLE");
      assertIncludes(err.message, "127.0.0.1");
    } else {
      const err = await assertSmimeError(() => transport.open(), "E_UNAVAILABLE");
      assertIncludes(err.message, "Cannot connect to 127.0.0.1:");
    }
    await transport.close();
    await transport.close();
    // Never opened at all.
    const unopened = create(target, target.options({ host: "127.0.0.1", port: 1 }), context);
    await unopened.close();
    await unopened.close();
  });

  if (target.kind === "sink") defineSinkChecks(target);
  if (target.kind === "api") defineApiChecks(target);
  if (target.kind === "postfix" || target.kind === "sink") {
    Deno.test({
      name: `${name}: over STARTTLS + AUTH, no form of the password reaches any line`,
      ignore: !hasPostfix,
      async fn() {
        const rig = await sharedPostfix();
        await checkRigRedaction(target, rig);
      },
    });
  }
  if (needsRig) defineRigChecks(target);
}

function defineSinkChecks(target: Target): void {
  const { name } = target;
  const endpoint = (server: SinkServer): Endpoint => ({ host: server.host, port: server.port });

  Deno.test(`${name}: delivers to every recipient, one result each, in order`, async () => {
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

  Deno.test(`${name}: a 550 recipient is rejected verbatim, a 452 deferred, the rest accepted`, async () => {
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

  Deno.test(`${name}: an abort while the server is slow rejects at once, leaks nothing`, async () => {
    const slow = { replyDelayMs: 0 };
    const { server } = await sink({
      get replyDelayMs() {
        return slow.replyDelayMs;
      },
    });
    const { context } = recorder();
    const reason = new Error("stop now");
    try {
      const transport = create(target, target.options(endpoint(server)), context);
      await withOpen(transport, async () => {
        slow.replyDelayMs = 5_000;
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(reason), 100);
        const started = performance.now();
        try {
          await assertRejectsWith(
            () => transport.deliver(sampleMessage(), controller.signal),
            reason,
          );
        } finally {
          clearTimeout(timer);
        }
        assert(performance.now() - started < 2_000, "the abort did not stop the wait");
      });
    } finally {
      await server.close();
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
}

function defineApiChecks(target: Target): void {
  const { name } = target;
  const endpointOf = (api: FakeApi, apiKey: string): Endpoint => {
    const url = new URL(api.origin);
    return { host: url.hostname, port: Number(url.port), apiKey };
  };

  Deno.test(`${name}: delivers to every recipient, one result each, in order`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { lines, context } = recorder();
    const message = sampleMessage();
    try {
      const transport = create(target, target.options(endpointOf(api, key)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.recipients.map((r) => r.status), ["accepted", "accepted", "accepted"]);
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

  Deno.test(`${name}: a rejected recipient makes a result per recipient, not an exception`, async () => {
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

  Deno.test(`${name}: a wrong key is E_AUTH at deliver(); a 429 is E_TEMPFAIL`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    try {
      const wrong = create(target, target.options(endpointOf(api, "wrong-key")), context);
      await withOpen(wrong, async () => {
        const err = await assertSmimeError(() => wrong.deliver(sampleMessage()), "E_AUTH");
        assertIncludes(err.message, "401");
      });
      const busy = create(target, {
        ...target.options(endpointOf(api, key)),
        ...(target.plugin.id === "sparkpost-api"
          ? { host: `${api.origin}/s429/api/v1` }
          : { api_url: `${api.origin}/s429/api/v1` }),
      }, context);
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

  Deno.test(`${name}: an abort while the API is slow rejects at once, leaks nothing`, async () => {
    const key = `key-${crypto.randomUUID()}`;
    const api = await startFakeApi(contractReply(key));
    const { context } = recorder();
    const reason = new Error("stop now");
    try {
      const slow = { ...endpointOf(api, key) };
      const options = target.options(slow);
      const base = `${api.origin}/slow/api/v1`;
      if ("host" in options) options.host = base;
      else options.api_url = base;
      const transport = create(target, options, context);
      await withOpen(transport, async () => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(reason), 100);
        const started = performance.now();
        try {
          await assertRejectsWith(
            () => transport.deliver(sampleMessage(), controller.signal),
            reason,
          );
        } finally {
          clearTimeout(timer);
        }
        assert(performance.now() - started < 2_000, "the abort did not stop the wait");
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
}

/** Login as the rig's SMTP_Injection user; `password` may be wrong. */
function rigEndpoint(rig: PostfixRig, password = rig.password): Endpoint {
  return {
    host: rig.host,
    port: rig.submitPort,
    login: { user: rig.user, password, caFile: rig.caFile },
  };
}

async function checkRigRedaction(target: Target, rig: PostfixRig): Promise<void> {
  const { lines, context } = recorder();
  const [to] = uniqueRecipients(1, "redact");
  const good = create(target, target.options(rigEndpoint(rig)), context);
  await withOpen(good, () => good.deliver(sampleMessage("signed", [to!])));
  await rig.waitForRecipient(to!);
  assertIncludes(lines.join("\n"), "(STARTTLS)");
  assertNoSecret(lines.join("\n"), rig.password, rig.user);

  const wrong = `wrong-${crypto.randomUUID()}`;
  const refused = create(target, target.options(rigEndpoint(rig, wrong)), context);
  const err = await assertSmimeError(() => refused.open(), "E_AUTH");
  await refused.close();
  assertIncludes(err.message, "535");
  assertNoSecret([...lines, err.message].join("\n"), wrong, rig.user);
}

function defineRigChecks(target: Target): void {
  const { name } = target;
  const ignore = !hasPostfix;

  Deno.test({
    name: `${name}: delivers to every recipient, one result each, in order`,
    ignore,
    async fn() {
      const rig = await sharedPostfix();
      const { lines, context } = recorder();
      const message = sampleMessage("signed", uniqueRecipients(3, "contract"));
      const transport = create(target, target.options(rigEndpoint(rig)), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.recipients.map((r) => r.status), ["accepted", "accepted", "accepted"]);
      assertIncludes(lines.join("\n"), `Opened SMTP connection (STARTTLS) to ${rig.host}`);
      for (const to of message.recipients) {
        const delivered = await rig.waitForRecipient(to);
        assertEquals(delivered.meta.recipient?.toLowerCase(), to);
        assertHeadersOnlyInFront(delivered.eml, toLf(message.bytes), target.headers);
        if (target.headers.includes("X-MSYS-API")) {
          const text = new TextDecoder().decode(delivered.eml);
          const header = /^X-MSYS-API: (.*(?:\n[ \t].*)*)/m.exec(text)![1]!.replace(/\n/g, "");
          const api = JSON.parse(header);
          assertEquals([api.options.open_tracking, api.options.click_tracking], [false, false]);
        }
      }
    },
  });

  Deno.test({
    name: `${name}: an already-aborted signal rejects open and deliver, leaks nothing`,
    ignore,
    async fn() {
      const rig = await sharedPostfix();
      const { context } = recorder();
      const reason = new Error("stop now");
      const first = create(target, target.options(rigEndpoint(rig)), context);
      await assertRejectsWith(() => first.open(AbortSignal.abort(reason)), reason);
      await first.close();
      const second = create(target, target.options(rigEndpoint(rig)), context);
      await withOpen(second, async () => {
        const message = sampleMessage("signed", uniqueRecipients(1, "abort"));
        await assertRejectsWith(() => second.deliver(message, AbortSignal.abort(reason)), reason);
      });
    },
  });
}

/** Fails unless `fn` rejects with exactly `reason` (the signal's reason, rethrown as is). */
async function assertRejectsWith(fn: () => Promise<unknown>, reason: unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert(err === reason, `expected the abort reason, got ${err}`);
    return;
  }
  throw new Error("expected a rejection, nothing was thrown");
}
