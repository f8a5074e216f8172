import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { envelopeOf } from "./envelope.ts";
import { parseMessage } from "./parse_message.ts";
import { assertThrowsSmimeError } from "../../tests/support/assert.ts";
import { bytesOf } from "./test_helpers.ts";

const envelope = (head: string) => envelopeOf(parseMessage(bytesOf(`${head}\n\nbody\n`), "m.eml"));
const refusal = (head: string) =>
  assertThrowsSmimeError(
    () => envelopeOf(parseMessage(bytesOf(`${head}\n\n`), "m.eml")),
    "E_MESSAGE",
  );

Deno.test("envelopeOf() takes the sender from From and recipients from To, Cc, Bcc", () => {
  const env = envelope(
    [
      "From: Alice <alice@example.com>",
      "To: Bob <bob@example.com>",
      "Cc: carol@example.net",
      "Bcc: dave@example.org",
    ].join("\n"),
  );
  strictEqual(env.sender, "alice@example.com");
  deepStrictEqual(env.to, [{ address: "bob@example.com", name: "Bob" }]);
  deepStrictEqual(env.cc, [{ address: "carol@example.net" }]);
  deepStrictEqual(env.bcc, [{ address: "dave@example.org" }]);
  deepStrictEqual(env.recipients, ["bob@example.com", "carol@example.net", "dave@example.org"]);
});

Deno.test("envelopeOf() de-duplicates recipients case-insensitively, in order", () => {
  const env = envelope(
    "From: a@example.com\nTo: Bob@example.com, carol@example.net\nCc: BOB@EXAMPLE.COM\nBcc: carol@example.net",
  );
  deepStrictEqual(env.recipients, ["Bob@example.com", "carol@example.net"]);
});

Deno.test("envelopeOf() uses Sender when From has several mailboxes (RFC 5322 3.6.2)", () => {
  const env = envelope("From: a@example.com, b@example.com\nSender: a@example.com\nTo: c@x.org");
  strictEqual(env.sender, "a@example.com");
  match(refusal("From: a@example.com, b@example.com\nTo: c@x.org").message, /Sender/);
  refusal("From: a@example.com, b@example.com\nSender: a@x.org, b@x.org\nTo: c@x.org");
});

Deno.test("envelopeOf() accepts groups, an empty Bcc, and folded fields", () => {
  const env = envelope(
    "From: alice@example.com\nTo: undisclosed-recipients:;\nCc: team: bob@example.com,\n carol@example.net;\nBcc:",
  );
  deepStrictEqual(env.recipients, ["bob@example.com", "carol@example.net"]);
  deepStrictEqual(env.bcc, []);
});

Deno.test("envelopeOf() ignores Resent-* fields", () => {
  const env = envelope(
    "Resent-From: r@x.org\nResent-To: q@x.org\nFrom: a@example.com\nTo: b@example.com",
  );
  strictEqual(env.sender, "a@example.com");
  deepStrictEqual(env.recipients, ["b@example.com"]);
});

Deno.test("envelopeOf() refuses a message without From", () => {
  match(refusal("To: b@example.com").message, /^m\.eml: no From header$/);
  refusal("From: undisclosed:;\nTo: b@example.com");
  refusal("From: a@example.com\nFrom: b@example.com\nTo: c@example.com");
});

Deno.test("envelopeOf() refuses a message without recipients", () => {
  const err = refusal("From: a@example.com\nTo: undisclosed-recipients:;\nBcc:");
  strictEqual(err.message, "m.eml: no recipients (To, Cc, Bcc are empty)");
});

Deno.test("envelopeOf() refuses CR or LF inside a quoted local part of the raw field", () => {
  // Unfolding would turn this into one harmless-looking space.
  const err = refusal('From: a@example.com\nTo: "bob\r\n @evil"@example.com');
  match(err.message, /contains CR, LF or NUL/);
  match(err.message, /\\r\\n/);
  strictEqual(err.message.includes("\n"), false);
});

Deno.test("envelopeOf() refuses an encoded word that decodes to CR/LF in an address or name", () => {
  match(
    refusal("From: a@example.com\nTo: =?utf-8?Q?bob=0D=0A?=@example.com").message,
    /encoded word/,
  );
  match(
    refusal("From: a@example.com\nTo: =?utf-8?Q?Bob=0D=0ABcc=3A_x?= <b@example.com>").message,
    /display name/,
  );
});

Deno.test("envelopeOf() refuses addresses without @, with spaces or controls", () => {
  for (
    const bad of [
      "bob",
      "bob smith@example.com",
      '"bob smith"@example.com',
      "@example.com",
      "bob@",
      "<>",
      "bob@exa\tmple.com",
      "b<o>b@example.com",
      "a@b@example.com",
    ]
  ) {
    refusal(`From: a@example.com\nTo: ${bad}`);
  }
  match(refusal("From: a@example.com\nTo: bob").message, /address "bob" has no "@"/);
});

Deno.test("envelopeOf() writes a quoted local part that needs no quotes plain; one with spaces is refused as such", () => {
  const env = envelope('From: "alice"@example.com\nTo: "bob.smith"@example.com, "a@b"@example.org');
  strictEqual(env.sender, "alice@example.com");
  deepStrictEqual(env.recipients, ["bob.smith@example.com", '"a@b"@example.org']);
  const err = refusal('From: alice@example.com\nTo: "bob smith"@example.com');
  match(err.message, /quoted local part with spaces, which smimepost does not support/);
});
