import { strict as assert } from "node:assert";
import { authorOf, parseMessage } from "../message/mod.ts";
import { singleFromAddress as fromAuthor } from "./from_address.ts";
import { throwsWith } from "./test_util.ts";

const mail = (head: string) =>
  new TextEncoder().encode(`${head}\r\nTo: b@example.org\r\n\r\nx\r\n`);

/** singleFromAddress() of the author of `bytes`. */
const singleFromAddress = (bytes: Uint8Array, source: string) =>
  fromAuthor(authorOf(parseMessage(bytes, source)), source);

Deno.test("singleFromAddress() reads the one mailbox, encoded-word names and case included", () => {
  assert.equal(singleFromAddress(mail("From: Alice@Example.COM"), "m"), "alice@example.com");
  assert.equal(
    singleFromAddress(mail("From: =?utf-8?q?Smith=2C_Alice?= <alice@example.com>"), "m"),
    "alice@example.com",
  );
  assert.equal(
    singleFromAddress(mail('From: "a@evil.example" <alice@example.com> (c)'), "m"),
    "alice@example.com",
  );
});

Deno.test("singleFromAddress() refuses none, two fields, two mailboxes and a non-address", () => {
  for (
    const head of [
      "Subject: no from",
      "From: a@example.com\r\nFrom: b@example.com",
      "From: a@example.com, b@example.com",
      "From: friends:;",
      "From: =?utf-8?b?YUBleGFtcGxlLmNvbQ==?=",
    ]
  ) {
    const err = throwsWith(() => singleFromAddress(mail(head), "m.eml"), "E_MESSAGE");
    assert.match(err.message, /^m\.eml: /, head);
  }
});
