import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { isSmimeError } from "../errors.ts";
import { redact } from "../config/secrets.ts";
import { parseQueueId, parseReplyLines, ReplyParser } from "./reply.ts";

const enc = new TextEncoder();

Deno.test("parseReplyLines() reads a one-line reply with an enhanced code", () => {
  const r = parseReplyLines(["550 5.7.1 relaying denied"]);
  assertEquals(r.code, 550);
  assertEquals(r.enhanced, "5.7.1");
  assertEquals(r.lines, ["relaying denied"]);
  assertEquals(r.text, "550 5.7.1 relaying denied");
});

Deno.test("parseReplyLines() joins multi-line replies with ' / ' and strips each enhanced code", () => {
  const r = parseReplyLines(["452-4.5.3 too many", "452 4.5.3 recipients"]);
  assertEquals(r.text, "452 4.5.3 too many / recipients");
  assertEquals(r.lines, ["too many", "recipients"]);
});

Deno.test("parseReplyLines() ignores an enhanced code of another class, and bare codes", () => {
  assertEquals(parseReplyLines(["250 5.0.0 odd"]).enhanced, undefined);
  assertEquals(parseReplyLines(["250 5.0.0 odd"]).text, "250 5.0.0 odd");
  assertEquals(parseReplyLines(["220"]).text, "220");
  assertEquals(parseReplyLines(["334 VXNlcm5hbWU6"]).lines, ["VXNlcm5hbWU6"]);
});

Deno.test("parseReplyLines() shows control characters as \\xNN and keeps the rest verbatim", () => {
  const r = parseReplyLines([
    "554-5.7.1 denied\x1b[2K\rOK - in 0.004 seconds\x1b]0;owned-title\x07",
    "554 5.7.1 \x9b2J\x7f\tGr\u00fc\u00dfe",
  ]);
  assertEquals(r.lines, [
    "denied\\x1b[2K\\x0dOK - in 0.004 seconds\\x1b]0;owned-title\\x07",
    "\\x9b2J\\x7f\tGr\u00fc\u00dfe",
  ]);
  assertEquals(
    r.text,
    "554 5.7.1 denied\\x1b[2K\\x0dOK - in 0.004 seconds\\x1b]0;owned-title\\x07 / \\x9b2J\\x7f\tGr\u00fc\u00dfe",
  );
});

Deno.test("ReplyParser: a bare CR and escape sequences inside a line reach no reply raw", () => {
  const p = new ReplyParser();
  p.push(enc.encode("550 5.1.1 no\rOK\x1b]0;pwned\x07\x1b[2J\r\n"));
  const r = p.next()!;
  assertEquals(r.code, 550);
  assertEquals(r.text, "550 5.1.1 no\\x0dOK\\x1b]0;pwned\\x07\\x1b[2J");
  // deno-lint-ignore no-control-regex
  assertEquals(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/.test(r.text + r.lines.join("")), false);
});

Deno.test("redact() masks a password with control characters in a reply that echoed it", () => {
  const password = "p\x1b[2Kw\x07\rd";
  const r = parseReplyLines([`535 5.7.8 bad password ${password} for bob`]);
  assertEquals(redact(r.text, [password]), "535 5.7.8 bad password **** for bob");
  const plain = `\0bob\0${password}`;
  const echoed = parseReplyLines([`535 5.7.8 bad ${plain}`]);
  assertEquals(redact(echoed.text, [password, plain]), "535 5.7.8 bad ****");
});

Deno.test("parseReplyLines() refuses garbage with E_UNAVAILABLE", () => {
  for (
    const bad of [
      [],
      ["hello"],
      ["250-a", "251 b"],
      ["250-a"],
      ["250 a", "250 b"],
      ["099 x"],
      ["250 " + "x".repeat(5000)],
      Array.from({ length: 101 }, (_, i) => (i < 100 ? "250-x" : "250 x")),
    ]
  ) {
    const err = assertThrows(() => parseReplyLines(bad));
    assertEquals(isSmimeError(err, "E_UNAVAILABLE"), true, JSON.stringify(bad).slice(0, 60));
  }
});

Deno.test("ReplyParser splits a stream into replies across chunk borders, CRLF or LF", () => {
  const p = new ReplyParser();
  p.push(enc.encode("250-smtp.test\r\n250-PIPE"));
  assertEquals(p.next(), undefined);
  p.push(enc.encode("LINING\r\n250 SIZE 100\n354 go\r\n"));
  assertEquals(p.next()?.lines, ["smtp.test", "PIPELINING", "SIZE 100"]);
  assertEquals(p.next()?.code, 354);
  assertEquals(p.next(), undefined);
});

Deno.test("ReplyParser bounds an endless line and an endless reply", () => {
  const p = new ReplyParser();
  p.push(enc.encode("250 " + "x".repeat(5000)));
  assertEquals(isSmimeError(assertThrows(() => p.next()), "E_UNAVAILABLE"), true);
  const q = new ReplyParser();
  q.push(
    enc.encode(
      "250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(200),
    ),
  );
  assertEquals(isSmimeError(assertThrows(() => q.next()), "E_UNAVAILABLE"), true);
});

Deno.test("ReplyParser.discard() drops what followed the STARTTLS reply", () => {
  const p = new ReplyParser();
  p.push(enc.encode("220 go ahead\r\n250 injected\r\n250 par"));
  assertEquals(p.next()?.code, 220);
  assertEquals(p.discard() > 0, true);
  assertEquals(p.next(), undefined);
});

Deno.test("parseQueueId() recognises Postfix, Momentum, Exim and Sendmail forms", () => {
  const id = (line: string) => parseQueueId(parseReplyLines([line]));
  assertEquals(id("250 2.0.0 Ok: queued as 4Xyz12AbC"), "4Xyz12AbC");
  assertEquals(id("250 ok: Message 12345678-abcd accepted"), "12345678-abcd");
  assertEquals(id("250 2.0.0 OK: Message <A1/B2-03-4> accepted"), "A1/B2-03-4");
  assertEquals(id("250 OK id=1rAbCd-000123-XY"), "1rAbCd-000123-XY");
  assertEquals(id("250 2.0.0 x1A2b3C4d5 Message accepted for delivery"), "x1A2b3C4d5");
  assertEquals(id("250 2.6.0 message received"), undefined);
  assertEquals(id("554 5.0.0 queued as nothing"), undefined);
});
