import { assertEquals } from "../../tests/support/assert.ts";
import { HttpError, parseHead } from "./http_wire.ts";

/** The status parseHead() refuses `text` with, or "ok". */
function statusOf(text: string): number | "ok" {
  try {
    parseHead(text);
    return "ok";
  } catch (err) {
    if (err instanceof HttpError) return err.status;
    throw err;
  }
}

Deno.test("parseHead() reads method, target, fields and the body framing", () => {
  const head = parseHead(
    "POST /hook?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type:  application/json \r\n" +
      "X-A: 1\r\nx-a: 2\r\nContent-Length: 12",
  );
  assertEquals(head.method, "POST");
  assertEquals(head.target, "/hook?x=1");
  assertEquals(head.headers.get("content-type"), "application/json");
  assertEquals(head.headers.get("x-a"), "1, 2");
  assertEquals(head.body, { kind: "length", length: 12 });
  assertEquals(parseHead("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked").body, {
    kind: "chunked",
  });
  assertEquals(parseHead("GET /health HTTP/1.0").body, { kind: "none" });
  assertEquals(parseHead("POST / HTTP/1.1\r\nContent-Length: 7, 7").body, {
    kind: "length",
    length: 7,
  });
});

Deno.test("parseHead() refuses heads a body could be framed two ways by (smuggling)", () => {
  assertEquals(statusOf("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nContent-Length: -5"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nContent-Length: 0x10"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked"), 501);
  assertEquals(statusOf("POST / HTTP/1.1\r\nContent-Length : 5"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nX: a\r\n folded"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nX: a\nContent-Length: 5"), 400);
  assertEquals(statusOf("POST / HTTP/1.1\r\nX: a\rb"), 400);
  assertEquals(statusOf("POST  / HTTP/1.1"), 400);
  assertEquals(statusOf("POST / HTTP/2.0"), 505);
  assertEquals(statusOf("garbage"), 400);
});
