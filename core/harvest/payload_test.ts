import { assertEquals, assertMatch } from "../../tests/support/assert.ts";
import { HttpError } from "./http_wire.ts";
import { messagesOf, payloadKindOf } from "./payload.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The answer messagesOf() refuses with, as "status message". */
function refusal(kind: "json" | "rfc822", body: string, max = 10): string {
  try {
    messagesOf(kind, enc.encode(body), max);
    return "accepted";
  } catch (err) {
    if (err instanceof HttpError) return `${err.status} ${err.message}`;
    throw err;
  }
}

Deno.test("payloadKindOf() knows JSON and message/rfc822, parameters and case aside", () => {
  assertEquals(payloadKindOf("application/json"), "json");
  assertEquals(payloadKindOf("Application/JSON; charset=utf-8"), "json");
  assertEquals(payloadKindOf("message/rfc822"), "rfc822");
  assertEquals(payloadKindOf("text/plain"), undefined);
  assertEquals(payloadKindOf(undefined), undefined);
});

Deno.test("messagesOf() takes relay events, base64 or not, with msg_from and rcpt_to", () => {
  const raw = "From: a@example.com\r\n\r\nhi\r\n";
  const body = JSON.stringify([
    {
      msys: { relay_message: { content: { email_rfc822: raw }, msg_from: "b@x", rcpt_to: "k@y" } },
    },
    {
      msys: {
        relay_message: { content: { email_rfc822: btoa(raw), email_rfc822_is_base64: true } },
      },
    },
  ]);
  const messages = messagesOf("json", enc.encode(body), 10);
  assertEquals(messages.map((m) => dec.decode(m.bytes)), [raw, raw]);
  assertEquals([messages[0]!.msgFrom, messages[0]!.rcptTo], ["b@x", "k@y"]);
  assertEquals(messages[1]!.msgFrom, undefined);
  assertEquals(messagesOf("rfc822", enc.encode(raw), 1).length, 1);
});

Deno.test("messagesOf() refuses a wrong shape with a one-line reason", () => {
  const event = (content: unknown) => JSON.stringify([{ msys: { relay_message: { content } } }]);
  // The parser's own words follow in brackets, on the same line.
  assertMatch(refusal("json", "{"), /^400 Bad request: body is not JSON \([^\n]+\)$/);
  assertMatch(refusal("json", "\xff"), /^400 Bad request: body is not JSON/);
  assertEquals(refusal("json", "{}"), "400 Bad request: body is not a JSON array of relay events");
  assertEquals(refusal("json", "[1]"), "400 Bad request: event 1: no msys object");
  assertEquals(
    refusal("json", event({})),
    "400 Bad request: event 1: msys.relay_message.content.email_rfc822 is missing or not a string",
  );
  assertEquals(
    refusal("json", event({ email_rfc822: "x!", email_rfc822_is_base64: true })),
    "400 Bad request: event 1: email_rfc822 is not valid base64",
  );
  assertEquals(
    refusal("json", event({ email_rfc822: "eA==", email_rfc822_is_base64: "yes" })),
    "400 Bad request: event 1: email_rfc822_is_base64 is not true or false",
  );
  assertEquals(
    refusal("json", "[{},{},{}]", 2),
    "413 Too many events in one request: 3, at most 2",
  );
  assertEquals(refusal("rfc822", ""), "400 Bad request: empty request body");
});
