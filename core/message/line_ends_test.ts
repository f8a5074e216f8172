import { strictEqual } from "node:assert/strict";
import { toCrlf } from "./line_ends.ts";
import { bytesOf, textOf } from "./test_helpers.ts";

Deno.test("toCrlf() turns bare LF and bare CR into CRLF", () => {
  strictEqual(textOf(toCrlf(bytesOf("a\nb\rc\r\nd\n\re"))), "a\r\nb\r\nc\r\nd\r\n\r\ne");
});

Deno.test("toCrlf() returns the input itself when already canonical", () => {
  const input = bytesOf("a\r\nb\r\n\r\nc");
  strictEqual(toCrlf(input), input);
  const empty = new Uint8Array(0);
  strictEqual(toCrlf(empty), empty);
});

Deno.test("toCrlf() handles line ends at the edges", () => {
  strictEqual(textOf(toCrlf(bytesOf("\nx\r"))), "\r\nx\r\n");
  strictEqual(textOf(toCrlf(bytesOf("\r\r\n\n"))), "\r\n\r\n\r\n");
});
