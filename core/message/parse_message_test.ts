import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { getHeader, getHeaders, parseMessage } from "./parse_message.ts";
import { assertThrowsSmimeError } from "../../tests/support/assert.ts";
import { latin1ToBytes } from "../bytes.ts";
import { bytesOf, mixLineEnds, textOf } from "./test_helpers.ts";

const LF_TEXT =
  "From: alice@example.com\nTo: bob@example.com\nSubject: a long\n  folded\tsubject\n\nbody\n";

Deno.test("parseMessage() splits header fields and body", () => {
  const msg = parseMessage(bytesOf(LF_TEXT), "m.eml");
  deepStrictEqual(msg.headers.map((h) => h.name), ["From", "To", "Subject"]);
  strictEqual(msg.source, "m.eml");
  strictEqual(textOf(msg.body), "body\n");
});

Deno.test("parseMessage() unfolds folded headers and keeps their raw bytes CRLF", () => {
  const msg = parseMessage(bytesOf(LF_TEXT), "m.eml");
  const subject = getHeader(msg, "subject")!;
  strictEqual(subject.value, "a long  folded\tsubject");
  strictEqual(textOf(subject.raw), "Subject: a long\r\n  folded\tsubject");
});

Deno.test("parseMessage() gives the same fields for LF, CRLF, bare CR and mixed line ends", () => {
  const variants = [
    LF_TEXT,
    LF_TEXT.replaceAll("\n", "\r\n"),
    LF_TEXT.replaceAll("\n", "\r"),
    mixLineEnds(LF_TEXT),
  ];
  const views = variants.map((t) => {
    const msg = parseMessage(bytesOf(t), "m.eml");
    return msg.headers.map((h) => [h.name, textOf(h.raw), h.value]);
  });
  for (const v of views) deepStrictEqual(v, views[0]);
});

Deno.test("parseMessage() keeps 8-bit body bytes untouched", () => {
  const bytes = latin1ToBytes("From: a@x.org\n\n\xff\xfe\x80 caf\xe9\r\n");
  const msg = parseMessage(bytes, "m.eml");
  deepStrictEqual(msg.body, bytes.subarray(15));
});

Deno.test("parseMessage() decodes UTF-8 header values, invalid bytes as U+FFFD", () => {
  const msg = parseMessage(latin1ToBytes("Subject: Gr\xc3\xbc\xc3\x9fe \xff\n\n"), "m.eml");
  strictEqual(getHeader(msg, "Subject")!.value, "Grüße \ufffd");
});

Deno.test("parseMessage() skips a UTF-8 BOM and a leading mbox From line", () => {
  const msg = parseMessage(
    bytesOf("\ufeffFrom alice@example.com Sat Jan  3 01:05:34 1996\nFrom: a@x.org\n\nhi"),
    "m.eml",
  );
  deepStrictEqual(msg.headers.map((h) => h.value), ["a@x.org"]);
  strictEqual(textOf(msg.body), "hi");
});

Deno.test("parseMessage() takes headers-only input as a message with an empty body", () => {
  const msg = parseMessage(bytesOf("From: a@x.org\nTo: b@y.org"), "m.eml");
  strictEqual(msg.headers.length, 2);
  strictEqual(msg.body.length, 0);
});

Deno.test("parseMessage() accepts WSP before the colon (RFC 5322 obs-optional)", () => {
  const msg = parseMessage(bytesOf("Subject : hi\n\n"), "m.eml");
  strictEqual(getHeader(msg, "subject")!.value, "hi");
});

Deno.test("parseMessage() refuses empty input", () => {
  const err = assertThrowsSmimeError(
    () => parseMessage(new Uint8Array(0), "empty.eml"),
    "E_MESSAGE",
  );
  match(err.message, /^empty\.eml: empty input/);
  assertThrowsSmimeError(() => parseMessage(bytesOf("\ufeff"), "bom.eml"), "E_MESSAGE");
});

Deno.test("parseMessage() refuses binary, HTML and JSON (first line not a field)", () => {
  const inputs = [
    latin1ToBytes("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    bytesOf("<!DOCTYPE html>\n<html><body>x: y</body></html>\n"),
    bytesOf('{"from": "alice@example.com"}\n'),
    bytesOf("\nbody only\n"),
    bytesOf("  indented: first line\n\n"),
  ];
  for (const input of inputs) {
    const err = assertThrowsSmimeError(() => parseMessage(input, "x.bin"), "E_MESSAGE");
    match(err.message, /^x\.bin: first line/);
  }
});

Deno.test("parseMessage() refuses a header line over 998 octets, naming the header", () => {
  const ok = `X-Long: ${"a".repeat(998 - 8)}\n\n`;
  parseMessage(bytesOf(ok), "ok.eml");
  const long = `X-Long: ${"a".repeat(999 - 8)}\n\n`;
  const err = assertThrowsSmimeError(() => parseMessage(bytesOf(long), "long.eml"), "E_MESSAGE");
  match(err.message, /^long\.eml: .*"X-Long".* 999 octets/);
  const folded = `Subject: x\n ${"b".repeat(1200)}\n\n`;
  match(
    assertThrowsSmimeError(() => parseMessage(bytesOf(folded), "f.eml"), "E_MESSAGE").message,
    /Subject/,
  );
});

Deno.test("parseMessage() refuses NUL bytes in headers", () => {
  const err = assertThrowsSmimeError(
    () => parseMessage(latin1ToBytes("Subject: a\x00b\n\n"), "n.eml"),
    "E_MESSAGE",
  );
  match(err.message, /^n\.eml: NUL byte in header field "Subject"/);
});

Deno.test("parseMessage() refuses a stray non-field line among the fields", () => {
  const err = assertThrowsSmimeError(
    () => parseMessage(bytesOf("From: a@x.org\nnot a field\n\n"), "s.eml"),
    "E_MESSAGE",
  );
  match(err.message, /line 2/);
  // A bare CR is a line end, so "Subject: a\rb" hides no second line.
  assertThrowsSmimeError(() => parseMessage(bytesOf("Subject: a\rb\n\n"), "cr.eml"), "E_MESSAGE");
});

Deno.test("parseMessage() error messages stay one line and short", () => {
  const name = `X-${"n".repeat(2000)}`;
  const err = assertThrowsSmimeError(
    () => parseMessage(bytesOf(`${name}: v\n\n`), "m.eml"),
    "E_MESSAGE",
  );
  strictEqual(err.message.includes("\n"), false);
  strictEqual(err.message.length < 200, true);
});

Deno.test("getHeader() and getHeaders() match names case-insensitively", () => {
  const msg = parseMessage(bytesOf("To: a@x.org\nCC: c@x.org\nto: b@x.org\n\n"), "m.eml");
  strictEqual(getHeader(msg, "TO")!.value, "a@x.org");
  deepStrictEqual(getHeaders(msg, "to").map((h) => h.value), ["a@x.org", "b@x.org"]);
  strictEqual(getHeader(msg, "cc")!.name, "CC");
  strictEqual(getHeader(msg, "Bcc"), undefined);
});

Deno.test("parseMessage() reads 'From : a@b' (RFC 5322 4.5 obs syntax) as a From field, not an mbox line", () => {
  const m = parseMessage(bytesOf("From : alice@example.com\nTo: bob@example.com\n\nbody\n"), "m");
  deepStrictEqual(m.headers.map((h) => h.name), ["From", "To"]);
  const mbox = parseMessage(
    bytesOf(
      "From alice@example.com Sat Dec  5 10:00:00 2026\nFrom: a@example.com\nTo: b@x.org\n\nx\n",
    ),
    "m",
  );
  deepStrictEqual(mbox.headers.map((h) => h.name), ["From", "To"]);
});

Deno.test("parseMessage() refuses CR CR LF line ends (a CRLF file converted again) by name", () => {
  const err = assertThrowsSmimeError(
    () => parseMessage(latin1ToBytes("From: a@x.org\r\r\nTo: b@y.org\r\r\n\r\r\nbody\r\r\n"), "m"),
    "E_MESSAGE",
  );
  match(err.message, /m: line ends are CR CR LF/);
});
