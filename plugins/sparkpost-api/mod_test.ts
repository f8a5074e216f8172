/**
 * sparkpost-api runs the shared plugin contract suite against the fake
 * transmissions API, plus its own checks: options, headers, body fields,
 * tracking, errors, timeouts and regions.
 */
import {
  assert,
  assertEquals,
  assertIncludes,
  assertSmimeError,
} from "../../tests/support/assert.ts";
import { apiBase, EVERY_FIELD, runContract } from "../../tests/support/contract/mod.ts";
import type { PluginContext } from "../../core/deliver/types.ts";
import { contractReply, startFakeApi } from "../../core/http/test_server.ts";
import { SAMPLE_MESSAGE, sampleMessage } from "../../core/deliver/test_message.ts";
import { plugin } from "./mod.ts";

runContract(plugin, {
  targets: [{
    kind: "api",
    headers: [],
    options: (e) => ({
      host: apiBase(e),
      api_key: e.apiKey ?? "unused-key",
      metadata: { profile: "p" },
    }),
    fields: ({ body }) => {
      assertEquals(body!.campaign_id, EVERY_FIELD.campaign_id);
      assertEquals(body!.metadata, { profile: "p", from_field: "yes" });
      // SparkPost's body has no tags, virtual MTA, job or binding.
      assertEquals(Object.keys(body!).sort(), [
        "campaign_id",
        "content",
        "metadata",
        "options",
        "recipients",
      ]);
    },
  }],
});

const KEY = "sp-7f3a9c1e5b2d8f4a6c0e9b7d5f3a1c8e-unique";

function recordingContext() {
  const lines = { info: [] as string[], warn: [] as string[], debug: [] as string[] };
  const context: PluginContext = {
    info: (line) => lines.info.push(line),
    warn: (line) => lines.warn.push(line),
    debug: (line) => lines.debug.push(line),
  };
  return { lines, context };
}

Deno.test("sparkpost-api plugin declares its id, secrets and environment", () => {
  assertEquals(plugin.id, "sparkpost-api");
  assertEquals(plugin.secrets, ["api_key"]);
  assertEquals(plugin.env, { api_key: "SPARKPOST_API_KEY", host: "SPARKPOST_HOST" });
});

Deno.test("sparkpost-api options: defaults, coercion, strictness", () => {
  assertEquals(plugin.options.parse({ api_key: KEY }), {
    api_key: KEY,
    region: "us",
    transactional: true,
    timeout_seconds: 300,
    open_tracking: false,
    click_tracking: false,
  });
  const parsed = plugin.options.parse({ api_key: ` ${KEY}\n`, subaccount: 123, region: "eu" });
  assertEquals(parsed.api_key, KEY);
  assertEquals(parsed.subaccount, "123");
  for (
    const bad of [
      { api_key: KEY, smtp_host: "x" },
      { api_key: KEY, campaign_id: "c".repeat(65) },
      { api_key: KEY, region: "asia" },
      { api_key: KEY, timeout_seconds: 0 },
      { api_key: `${KEY} x` },
      {},
    ]
  ) {
    const result = plugin.options.safeParse(bad);
    assert(!result.success, JSON.stringify(Object.keys(bad)));
    assert(!JSON.stringify(result.error.issues).includes(KEY), "the key leaked into an issue");
  }
});

Deno.test("sparkpost-api transport delivers one POST per message", async () => {
  const api = await startFakeApi(contractReply(KEY));
  const { lines, context } = recordingContext();
  const transport = plugin.create(
    plugin.options.parse({
      api_key: KEY,
      host: api.origin,
      subaccount: 123,
      campaign_id: "statements",
      metadata: { batch: "b7" },
      return_path: "bounces@example.com",
    }),
    context,
  );
  try {
    await transport.open();
    assertEquals(lines.info, [`Opened connection to ${api.origin}`]);
    assertEquals(lines.warn, [`sending the API key over plain http to ${api.origin}`]);

    const result = await transport.deliver(sampleMessage("signed"));
    assertEquals(result.id, "7054125683218526");
    assertEquals(result.recipients.map((r) => [r.recipient, r.status, r.code]), [
      ["bob@example.com", "accepted", 200],
      ["carol@example.com", "accepted", 200],
      ["dave@example.com", "accepted", 200],
    ]);

    const [req] = api.requests;
    assert(req);
    assertEquals(req.method, "POST");
    assertEquals(req.path, "/api/v1/transmissions");
    assertEquals(req.headers.get("Authorization"), KEY);
    assertEquals(req.headers.get("X-MSYS-SUBACCOUNT"), "123");
    assertEquals(req.headers.get("Content-Type"), "application/json");
    const body = JSON.parse(req.body);
    assertEquals(body.recipients.map((r: { address: { email: string } }) => r.address.email), [
      "bob@example.com",
      "carol@example.com",
      "dave@example.com",
    ]);
    assertEquals(
      new TextEncoder().encode(body.content.email_rfc822),
      new TextEncoder().encode(SAMPLE_MESSAGE),
    );
    assertEquals(body.options, {
      open_tracking: false,
      click_tracking: false,
      transactional: true,
    });
    assertEquals(body.campaign_id, "statements");
    assertEquals(body.metadata, { batch: "b7" });
    assertEquals(body.return_path, "bounces@example.com");

    const partial = await transport.deliver(
      sampleMessage("encrypted", ["bob@example.com", "x@rejected.invalid"]),
    );
    assert(partial.recipients.every((r) => r.status === "rejected"));
    assertIncludes(partial.recipients[0]!.response, "accepted 1 of 2 recipients");
    assertEquals(api.requests.length, 2);

    await assertSmimeError(() => transport.deliver(sampleMessage("plain", [])), "E_MESSAGE");
    await transport.close();
    await transport.close();
  } finally {
    await api.close();
  }
  assert(!lines.debug.join("\n").includes(KEY), "the key leaked into the debug log");
  assertIncludes(lines.debug.join("\n"), "Authorization: ****");
});

Deno.test("sparkpost-api transport: tracking, errors and timeouts", async () => {
  const api = await startFakeApi(contractReply(KEY));
  const { context } = recordingContext();
  const open = async (host: string, extra: Record<string, unknown> = {}) => {
    const transport = plugin.create(
      plugin.options.parse({ api_key: KEY, host, ...extra }),
      context,
    );
    await transport.open();
    return transport;
  };
  try {
    const tracking = await open(api.origin, { open_tracking: true, click_tracking: true });
    const refused = await assertSmimeError(
      () => tracking.deliver(sampleMessage("signed")),
      "E_CONFIG",
    );
    assertIncludes(refused.message, "breaks the S/MIME signature");
    assertEquals(api.requests.length, 0);
    await tracking.deliver(sampleMessage("plain"));
    assertEquals(JSON.parse(api.requests[0]!.body).options.click_tracking, true);

    const denied = await open(`${api.origin}/s401`);
    const auth = await assertSmimeError(() => denied.deliver(sampleMessage()), "E_AUTH");
    assertEquals(auth.message, "SparkPost API 401: Unauthorized.");

    const limited = await open(`${api.origin}/s429/api/v1`);
    const busy = await assertSmimeError(() => limited.deliver(sampleMessage()), "E_TEMPFAIL");
    assertEquals((busy as { retryAfterMs?: number }).retryAfterMs, 2_000);

    const slow = await open(`${api.origin}/slow`, { timeout_seconds: 0.1 });
    const late = await slow.deliver(sampleMessage("signed", ["bob@example.com"]));
    assertEquals(late.uncertain, true);
    assertEquals(late.recipients.map((r) => r.status), ["deferred"]);
    assertIncludes(late.response ?? "", "did not answer within 0.1 s");
    assert(!(late.response ?? "").includes(KEY));
  } finally {
    await api.close();
  }
});

Deno.test("sparkpost-api transport opens against the region's host without network", async () => {
  const { lines, context } = recordingContext();
  const eu = plugin.create(plugin.options.parse({ api_key: KEY, region: "eu" }), context);
  await eu.open();
  await eu.close();
  const bad = plugin.create(
    plugin.options.parse({ api_key: KEY, host: "ftp://x.example" }),
    context,
  );
  await assertSmimeError(() => bad.open(), "E_CONFIG");
  await bad.close();
  assertEquals(lines.info, ["Opened connection to https://api.eu.sparkpost.com"]);
  assertEquals(lines.warn, []);
});
