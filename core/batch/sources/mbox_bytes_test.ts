import { assertEquals } from "../../../tests/support/assert.ts";
import { mboxMessageCount, mboxMessages } from "./mbox_bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FROM_LINE = "From alice@example.com Sat Dec  5 10:00:00 2026\n";
const ONE = "From: alice@example.com\nSubject: one\n\n>From here on\n";
const TWO = "From: alice@example.com\nSubject: two\n\nsecond\n";

Deno.test("mboxMessageCount() is 0 for a message, 1 for one saved with its From_ line", () => {
  assertEquals(mboxMessageCount(encoder.encode(ONE)), 0);
  assertEquals(mboxMessageCount(encoder.encode(`\n${FROM_LINE}${ONE}`)), 0);
  assertEquals(mboxMessageCount(encoder.encode(FROM_LINE + ONE)), 1);
  assertEquals(mboxMessages(encoder.encode(FROM_LINE + ONE)), undefined);
});

Deno.test("mboxMessages() splits an mbox of several messages and undoes mboxrd quoting", () => {
  const mbox = encoder.encode(`${FROM_LINE}${ONE}\n${FROM_LINE}${TWO}`);
  assertEquals(mboxMessageCount(mbox), 2);
  assertEquals(mboxMessages(mbox)?.map((m) => decoder.decode(m)), [
    ONE.replace(">From", "From"),
    TWO,
  ]);
});
