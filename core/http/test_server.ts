/**
 * A local transmissions-API server for tests: it implements the documented
 * SparkPost contract (200 results, errors[] bodies, Retry-After, a non-JSON
 * 502, a slow reply) and records every request. The first path segment
 * picks the scenario, so one server serves a whole test:
 * `${server.origin}/s429/api/v1` answers 429, `${server.origin}/api/v1` 200.
 *
 * @module
 */

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Headers;
  /** The body as text (JSON for transmissions). */
  body: string;
}

/** A reply to send. */
export interface FakeReply {
  status: number;
  body?: string | object;
  headers?: Record<string, string>;
  /** Wait this long before answering (or until the server closes). */
  delayMs?: number;
}

/** A running fake API. */
export interface FakeApi {
  /** "http://127.0.0.1:<port>" */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** The canned error replies, by scenario segment. */
export const SCENARIOS: Readonly<Record<string, FakeReply>> = {
  s400: {
    status: 400,
    body: {
      errors: [{
        message: "invalid data format/type",
        description: "Error while validating campaign_id: exceeds maximum length",
        code: "1300",
      }],
    },
  },
  s401: { status: 401, body: { errors: [{ message: "Unauthorized." }] } },
  s403: {
    status: 403,
    body: {
      errors: [{
        message: "Forbidden.",
        description: "This API key lacks the transmissions: read/write permission",
      }],
    },
  },
  s413: {
    status: 413,
    body: { errors: [{ message: "Request Entity Too Large", code: "1001" }] },
  },
  s420: {
    status: 420,
    body: {
      errors: [{
        message: "Exceed Sending Limit (daily)",
        description: "Sending limits exceeded. Your account is limited to 100 messages per day.",
        code: "2102",
      }],
    },
  },
  s422: {
    status: 422,
    body: {
      errors: [
        {
          message: "Unconfigured or unverified sending domain.",
          description: "Consider verifying the sending domain example.com",
          code: "7001",
        },
        { message: "message generation rejected", code: "1902" },
      ],
    },
  },
  s429: {
    status: 429,
    headers: { "Retry-After": "2" },
    body: { errors: [{ message: "Too many requests", code: "1104" }] },
  },
  s500: { status: 500, body: { errors: [{ message: "Internal server error" }] } },
  s503: {
    status: 503,
    headers: { "Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT" },
    body: { errors: [{ message: "Service Unavailable", description: "Please retry later" }] },
  },
  s502: {
    status: 502,
    headers: { "Content-Type": "text/html" },
    body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
      "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
  },
  s404: { status: 404, body: { errors: [{ message: "resource not found" }] } },
  s301: { status: 301, headers: { Location: "https://api.example.net/api/v1/transmissions" } },
  slow: { status: 200, delayMs: 5_000, body: { results: { id: "late" } } },
};

/**
 * The documented contract: POST /api/v1/transmissions with the right key
 * gets 200 and counts of the recipients it listed (addresses ending in
 * "@rejected.invalid" count as rejected); scenario prefixes get
 * {@link SCENARIOS}; a wrong key gets 401.
 */
export function contractReply(apiKey: string): (req: RecordedRequest) => FakeReply {
  return (req) => {
    const [, first] = req.path.split("/");
    const scenario = first ? SCENARIOS[first] : undefined;
    if (scenario) return scenario;
    if (req.headers.get("Authorization") !== apiKey) return SCENARIOS.s401!;
    if (req.method !== "POST" || !req.path.endsWith("/transmissions")) return SCENARIOS.s404!;
    const body = JSON.parse(req.body) as { recipients?: { address: { email: string } }[] };
    const emails = (body.recipients ?? []).map((r) => r.address.email);
    const rejected = emails.filter((e) => e.endsWith("@rejected.invalid")).length;
    return {
      status: 200,
      body: {
        results: {
          total_rejected_recipients: rejected,
          total_accepted_recipients: emails.length - rejected,
          id: "7054125683218526",
        },
      },
    };
  };
}

/** Starts a fake API on 127.0.0.1, a free port; close() it in the same test. */
export function startFakeApi(reply: (req: RecordedRequest) => FakeReply): Promise<FakeApi> {
  const requests: RecordedRequest[] = [];
  // Slow replies wait here; close() wakes them so shutdown need not wait.
  const sleepers = new Set<() => void>();
  const { promise, resolve } = Promise.withResolvers<FakeApi>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => {
      resolve({
        origin: `http://127.0.0.1:${port}`,
        requests,
        close: () => {
          for (const wake of sleepers) wake();
          return server.shutdown();
        },
      });
    },
  }, async (request) => {
    const url = new URL(request.url);
    const recorded: RecordedRequest = {
      method: request.method,
      path: url.pathname,
      headers: request.headers,
      body: await request.text(),
    };
    requests.push(recorded);
    const answer = reply(recorded);
    if (answer.delayMs) await delay(answer.delayMs, sleepers);
    const body = typeof answer.body === "string" || answer.body === undefined
      ? answer.body ?? null
      : JSON.stringify(answer.body);
    const headers = new Headers(answer.headers);
    if (body !== null && !headers.has("Content-Type")) {
      headers.set("Content-Type", "application/json");
    }
    return new Response(body, { status: answer.status, headers });
  });
  return promise;
}

function delay(ms: number, sleepers: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sleepers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    sleepers.add(done);
  });
}
