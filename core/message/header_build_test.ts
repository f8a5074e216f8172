import { strictEqual } from "node:assert/strict";
import { makeHeader, serializeHeaders } from "./header_build.ts";
import { parseMessage } from "./parse_message.ts";
import { assertThrowsSmimeError } from "../../tests/support/assert.ts";
import { bytesOf, textOf } from "./test_helpers.ts";

Deno.test("makeHeader() writes a short field on one line", () => {
  const h = makeHeader("Subject", "  Quarterly statement ");
  strictEqual(textOf(h.raw), "Subject: Quarterly statement");
  strictEqual(h.value, "Quarterly statement");
  strictEqual(h.name, "Subject");
});

Deno.test("makeHeader() folds at whitespace to keep lines within 78", () => {
  const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const h = makeHeader("X-Words", words);
  const lines = textOf(h.raw).split("\r\n");
  strictEqual(lines.length > 1, true);
  for (const line of lines) strictEqual(line.length <= 78, true);
  for (const line of lines.slice(1)) strictEqual(line.startsWith(" "), true);
  // Unfolding gives back the value.
  const msg = parseMessage(bytesOf(`${textOf(h.raw)}\r\n\r\n`), "m.eml");
  strictEqual(msg.headers[0]!.value, words);
});

Deno.test("makeHeader() keeps a long word whole, up to 998 octets", () => {
  const h = makeHeader("X-Token", `a ${"t".repeat(500)} b`);
  const lines = textOf(h.raw).split("\r\n");
  strictEqual(lines[1], ` ${"t".repeat(500)}`);
  assertThrowsSmimeError(() => makeHeader("X-Token", "u".repeat(1000)), "E_MESSAGE");
});

Deno.test("makeHeader() refuses non-ASCII values, CR, LF, NUL and bad names", () => {
  assertThrowsSmimeError(() => makeHeader("Subject", "café"), "E_MESSAGE");
  assertThrowsSmimeError(() => makeHeader("Subject", "a\r\nBcc: x@y"), "E_MESSAGE");
  assertThrowsSmimeError(() => makeHeader("Subject", "a\0b"), "E_MESSAGE");
  assertThrowsSmimeError(() => makeHeader("Bad Name", "x"), "E_MESSAGE");
  assertThrowsSmimeError(() => makeHeader("", "x"), "E_MESSAGE");
});

Deno.test("serializeHeaders() writes each raw field and CRLF, no blank line", () => {
  const out = serializeHeaders([makeHeader("A", "1"), makeHeader("B", "2")]);
  strictEqual(textOf(out), "A: 1\r\nB: 2\r\n");
  strictEqual(serializeHeaders([]).length, 0);
});
