import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { MAX_DEPTH, parseMimeTree } from "./mime_tree.ts";
import { assertThrowsSmimeError } from "../../tests/support/assert.ts";
import { bytesOf, deepMessage, textOf } from "./test_helpers.ts";
import type { MimeNode } from "./types.ts";

const NESTED = [
  "From: alice@example.com",
  'Content-Type: multipart/mixed; boundary="outer"',
  "",
  "preamble",
  "--outer",
  "Content-Type: multipart/alternative; boundary=inner",
  "",
  "--inner",
  "Content-Type: text/plain",
  "",
  "plain",
  "--inner",
  "Content-Type: text/html",
  "",
  "<p>html</p>",
  "--inner--",
  "--outer  ",
  "Content-Type: message/rfc822",
  "",
  "Subject: inner message",
  "",
  "inner body",
  "--outer--",
  "epilogue",
  "",
].join("\r\n");

Deno.test("parseMimeTree() parses nested multiparts and message/rfc822", () => {
  const root = parseMimeTree(bytesOf(NESTED), "m.eml");
  strictEqual(root.contentType.subtype, "mixed");
  strictEqual(root.children.length, 2);
  const alt = root.children[0]!;
  deepStrictEqual(alt.children.map((c) => textOf(c.body)), ["plain", "<p>html</p>"]);
  deepStrictEqual(alt.children.map((c) => c.contentType.subtype), ["plain", "html"]);
  const rfc822 = root.children[1]!;
  strictEqual(rfc822.children.length, 1);
  strictEqual(rfc822.children[0]!.headers[0]!.value, "inner message");
  strictEqual(textOf(rfc822.children[0]!.body), "inner body");
});

Deno.test("parseMimeTree() gives each part's exact bytes, without the CRLF before the boundary", () => {
  const root = parseMimeTree(bytesOf(NESTED), "m.eml");
  const html = root.children[0]!.children[1]!;
  strictEqual(textOf(html.raw), "Content-Type: text/html\r\n\r\n<p>html</p>");
  strictEqual(textOf(root.body).startsWith("preamble\r\n--outer\r\n"), true);
  strictEqual(textOf(root.body).endsWith("--outer--\r\nepilogue\r\n"), true);
  strictEqual(textOf(root.raw), NESTED);
});

Deno.test("parseMimeTree() keeps LF input bytes as they are", () => {
  const lf = NESTED.replaceAll("\r\n", "\n");
  const root = parseMimeTree(bytesOf(lf), "m.eml");
  strictEqual(textOf(root.children[0]!.raw).includes("\r"), false);
  strictEqual(textOf(root.children[0]!.children[0]!.raw), "Content-Type: text/plain\n\nplain");
});

Deno.test("parseMimeTree() runs an unclosed part to the end", () => {
  const text =
    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\nX-A: 1\n\ntwo\nno close\n";
  const root = parseMimeTree(bytesOf(text), "m.eml");
  deepStrictEqual(root.children.map((c) => textOf(c.body)), ["one", "two\nno close\n"]);
  deepStrictEqual(root.children.map((c) => c.headers.length), [0, 1]);
});

Deno.test("parseMimeTree() ignores lines that only start with the boundary", () => {
  const text = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n --b\n--b--\n";
  const root = parseMimeTree(bytesOf(text), "m.eml");
  deepStrictEqual(root.children.map((c) => textOf(c.body)), ["--bx\n --b"]);
});

Deno.test("parseMimeTree() never throws on odd structure", () => {
  const odd = [
    "Content-Type: multipart/mixed\n\nno boundary\n",
    "Content-Type: multipart/mixed; boundary=b\n\nno delimiter at all\n",
    "Content-Type: multipart/mixed; boundary=b\n\n--b",
    "Content-Type: multipart/mixed; boundary=b\n\n--b\nnot a header\n--b--",
    `Content-Type: multipart/mixed; boundary=b\n\n--b\nX-Long: ${"x".repeat(2000)}\0\n\nz\n--b--`,
    "Content-Type: message/rfc822\n\n",
  ];
  for (const text of odd) parseMimeTree(bytesOf(text), "odd.eml");
  const part = parseMimeTree(bytesOf(odd[3]!), "odd.eml").children[0]!;
  strictEqual(textOf(part.body), "not a header");
});

Deno.test("parseMimeTree() refuses only what parseMessage refuses", () => {
  assertThrowsSmimeError(() => parseMimeTree(new Uint8Array(0), "e.eml"), "E_MESSAGE");
  assertThrowsSmimeError(() => parseMimeTree(bytesOf("<html>\n"), "e.eml"), "E_MESSAGE");
});

Deno.test("parseMimeTree() caps 1000-deep nesting without blowing the stack", () => {
  const root = parseMimeTree(bytesOf(deepMessage(1000)), "deep.eml");
  let depth = 0;
  let node: MimeNode = root;
  while (node.children.length > 0) {
    node = node.children[0]!;
    depth++;
  }
  strictEqual(depth, MAX_DEPTH);
  strictEqual(node.contentType.type, "multipart");
});
