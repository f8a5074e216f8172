import {
  assert,
  assertEquals,
  assertIncludes,
  assertSmimeError,
} from "../../tests/support/assert.ts";
import type { ErrorCode } from "../errors.ts";
import { HttpError, parseRetryAfter, TransmissionsClient } from "./client.ts";
import { contractReply, startFakeApi } from "./test_server.ts";

/** Unique, so any leak into a message or a log line is found. */
const KEY = "k3y-0f-t3st-9b1e7c4d2a8f6e0b5c3d1a9e7f5b3d1c";

Deno.test("TransmissionsClient.send() posts the body with the documented headers", async () => {
  const api = await startFakeApi(contractReply(KEY));
  try {
    const debug: string[] = [];
    const client = new TransmissionsClient({
      baseUrl: `${api.origin}/api/v1/`,
      apiKey: KEY,
      headers: { "X-MSYS-SUBACCOUNT": "123" },
      timeoutMs: 5_000,
      userAgent: "smimepost-test",
      debug: (line) => debug.push(line),
    });
    const body = { recipients: [{ address: { email: "bob@example.com" } }], content: {} };
    const reply = await client.send(body);
    assertEquals(reply, {
      status: 200,
      host: new URL(api.origin).host,
      id: "7054125683218526",
      accepted: 1,
      rejected: 0,
    });
    const [req] = api.requests;
    assert(req);
    assertEquals(req.method, "POST");
    assertEquals(req.path, "/api/v1/transmissions");
    assertEquals(req.headers.get("Authorization"), KEY);
    assertEquals(req.headers.get("X-MSYS-SUBACCOUNT"), "123");
    assertEquals(req.headers.get("Content-Type"), "application/json");
    assertEquals(req.headers.get("User-Agent"), "smimepost-test");
    assertEquals(JSON.parse(req.body), body);
    assertIncludes(debug.join("\n"), "Authorization: ****");
    assertIncludes(debug.join("\n"), "X-MSYS-SUBACCOUNT: 123");
    assert(!debug.join("\n").includes(KEY), "the key leaked into the debug log");

    const plain = new TransmissionsClient({ baseUrl: `${api.origin}/api/v1`, apiKey: KEY });
    await plain.send(body);
    assertEquals(api.requests[1]?.headers.get("X-MSYS-SUBACCOUNT"), null);

    // The endpoint as the platforms' manuals write it is the same endpoint.
    const endpoint = new TransmissionsClient({
      baseUrl: `${api.origin}/api/v1/transmissions/`,
      apiKey: KEY,
    });
    assertEquals(endpoint.url, `${api.origin}/api/v1/transmissions`);
    await endpoint.send(body);
    assertEquals(api.requests[2]?.path, "/api/v1/transmissions");
  } finally {
    await api.close();
  }
});

Deno.test("TransmissionsClient.send() maps each error status to a code and one line", async () => {
  const api = await startFakeApi(contractReply(KEY));
  const debug: string[] = [];
  const client = (scenario: string, timeoutMs = 5_000) =>
    new TransmissionsClient({
      baseUrl: `${api.origin}/${scenario}/api/v1`,
      apiKey: KEY,
      label: "SparkPost API",
      timeoutMs,
      debug: (line) => debug.push(line),
    });
  const cases: [string, ErrorCode, string, number | undefined][] = [
    [
      "s400",
      "E_RCPT_REJECTED",
      "SparkPost API 400: invalid data format/type: Error while validating campaign_id: " +
      "exceeds maximum length (code 1300)",
      undefined,
    ],
    ["s401", "E_AUTH", "SparkPost API 401: Unauthorized.", undefined],
    [
      "s403",
      "E_AUTH",
      "SparkPost API 403: Forbidden. This API key lacks the transmissions: read/write permission",
      undefined,
    ],
    [
      "s413",
      "E_RCPT_REJECTED",
      "SparkPost API 413: Request Entity Too Large (code 1001)",
      undefined,
    ],
    [
      "s420",
      "E_TEMPFAIL",
      "SparkPost API 420: Exceed Sending Limit (daily): Sending limits exceeded. " +
      "Your account is limited to 100 messages per day. (code 2102)",
      undefined,
    ],
    [
      "s422",
      "E_RCPT_REJECTED",
      "SparkPost API 422: Unconfigured or unverified sending domain. Consider verifying the " +
      "sending domain example.com (code 7001); message generation rejected (code 1902)",
      undefined,
    ],
    ["s429", "E_TEMPFAIL", "SparkPost API 429: Too many requests (code 1104)", 2_000],
    ["s500", "E_TEMPFAIL", "SparkPost API 500: Internal server error", undefined],
    ["s503", "E_TEMPFAIL", "SparkPost API 503: Service Unavailable: Please retry later", -1],
    [
      "s502",
      "E_TEMPFAIL",
      "SparkPost API 502: <html> <head><title>502 Bad Gateway</title></head> <body> " +
      "<center><h1>502 Bad Gateway</h1></center> </body> </html>",
      undefined,
    ],
  ];
  try {
    for (const [scenario, code, line, retryAfterMs] of cases) {
      const err = await assertSmimeError(() => client(scenario).send({}), code);
      assert(err instanceof HttpError);
      assertEquals(err.message, line, scenario);
      assertEquals(err.status, Number(scenario.slice(1)), scenario);
      assertEquals(err.uncertain, false);
      if (retryAfterMs === -1) assert((err.retryAfterMs ?? 0) > 1e9, "HTTP-date Retry-After");
      else assertEquals(err.retryAfterMs, retryAfterMs, scenario);
      assert(!err.message.includes(KEY));
    }
    const moved = await assertSmimeError(() => client("s301").send({}), "E_CONFIG");
    assertIncludes(moved.message, "redirected to https://api.example.net/api/v1/transmissions");
    const missing = await assertSmimeError(() => client("s404").send({}), "E_CONFIG");
    assertIncludes(missing.message, "SparkPost API 404: resource not found (is http://");

    const wrongKey = new TransmissionsClient({ baseUrl: `${api.origin}/api/v1`, apiKey: "nope" });
    await assertSmimeError(() => wrongKey.send({}), "E_AUTH");

    const slow = await assertSmimeError(() => client("slow", 100).send({}), "E_TEMPFAIL");
    assert(slow instanceof HttpError && slow.uncertain && slow.status === 0);
    assertIncludes(slow.message, `at ${new URL(api.origin).host} did not answer within 0.1 s`);

    const reason = new Error("stopped by the user");
    const abort = new AbortController();
    abort.abort(reason);
    let thrown: unknown;
    await client("api").send({}, abort.signal).catch((e) => thrown = e);
    assertEquals(thrown, reason);
  } finally {
    await api.close();
  }
  assert(!debug.join("\n").includes(KEY), "the key leaked into the debug log");
});

Deno.test("TransmissionsClient.send() names the host when nothing listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const client = new TransmissionsClient({
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    apiKey: KEY,
    label: "SparkPost API",
    timeoutMs: 5_000,
  });
  const err = await assertSmimeError(() => client.send({}), "E_UNAVAILABLE");
  assertIncludes(err.message, `Cannot reach SparkPost API at 127.0.0.1:${port}: `);
  assert(!err.message.includes(KEY) && !err.message.includes("\n"));
});

Deno.test("TransmissionsClient.send() shows control characters of an error body as \\xNN", async () => {
  const description = "bad\x1b[2K\rOK\x1b]0;owned\x07\x9b2J";
  const api = await startFakeApi(() => ({
    status: 422,
    body: { errors: [{ message: "invalid", description, code: "1300" }] },
  }));
  const texts = ["not json\x1b[2J\x07", "{}"];
  const raw = await startFakeApi(() => ({ status: 500, body: texts.shift()! }));
  const debug: string[] = [];
  const client = (origin: string) =>
    new TransmissionsClient({
      baseUrl: `${origin}/api/v1`,
      apiKey: KEY,
      label: "SparkPost API",
      timeoutMs: 5_000,
      debug: (line) => debug.push(line),
    });
  try {
    const err = await assertSmimeError(() => client(api.origin).send({}), "E_RCPT_REJECTED");
    assertEquals(
      err.message,
      "SparkPost API 422: invalid: bad\\x1b[2K OK\\x1b]0;owned\\x07\\x9b2J (code 1300)",
    );
    const body = await assertSmimeError(() => client(raw.origin).send({}), "E_TEMPFAIL");
    assertEquals(body.message, "SparkPost API 500: not json\\x1b[2J\\x07");
  } finally {
    await api.close();
    await raw.close();
  }
  // deno-lint-ignore no-control-regex
  assertEquals(debug.filter((line) => /[\x00-\x08\x0a-\x1f\x7f-\x9f]/.test(line)), []);
});

Deno.test("TransmissionsClient refuses a key that cannot be a header, without echoing it", async () => {
  const err = await assertSmimeError(
    () => new TransmissionsClient({ baseUrl: "https://a.example", apiKey: `${KEY}\r\nX: y` }),
    "E_CONFIG",
  );
  assert(!err.message.includes(KEY));
  const header = await assertSmimeError(
    () =>
      new TransmissionsClient({
        baseUrl: "https://a.example",
        apiKey: KEY,
        headers: { "X-MSYS-SUBACCOUNT": "12 3" },
      }),
    "E_CONFIG",
  );
  assertIncludes(header.message, "X-MSYS-SUBACCOUNT");
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assertEquals(parseRetryAfter(null), undefined);
  assertEquals(parseRetryAfter("5"), 5_000);
  assertEquals(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4_000), 6_000);
  assertEquals(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 20_000), 0);
  assertEquals(parseRetryAfter("soon"), undefined);
});
