import { assert, assertEquals } from "../../tests/support/assert.ts";
import { DataReader } from "./data_reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `wire` split at the given points; returns the data and where it ended. */
function read(wire: string, splits: number[], strict = true) {
  const bytes = enc.encode(wire);
  const reader = new DataReader(strict, 1 << 20);
  const points = [0, ...splits, bytes.length];
  for (let k = 0; k + 1 < points.length; k++) {
    const chunk = bytes.slice(points[k], points[k + 1]);
    const progress = reader.feed(chunk, 0);
    if (progress.done) {
      const rest = dec.decode(chunk.subarray(progress.next)) +
        dec.decode(bytes.subarray(points[k + 1]));
      return { data: dec.decode(reader.data()), rest, bare: reader.bare, progress };
    }
  }
  return undefined;
}

Deno.test("DataReader.feed() unstuffs dots and finds the end at every split point", () => {
  const wire = "Subject: x\r\n\r\n..one\r\n...\r\n.x\r\n.\r\nMAIL FROM:<a@b>\r\n";
  for (let cut = 1; cut < wire.length; cut++) {
    const got = read(wire, [cut]);
    assertEquals(got?.data, "Subject: x\r\n\r\n.one\r\n..\r\nx\r\n", `split at ${cut}`);
    assertEquals(got?.rest, "MAIL FROM:<a@b>\r\n", `split at ${cut}`);
    assertEquals(got?.bare, undefined, `split at ${cut}`);
  }
});

Deno.test("DataReader.feed() keeps bytes exactly across two and three chunks", () => {
  const body = "a\r\n..b\r\n.c\r\n\r\n.\r\n";
  for (let a = 1; a < body.length; a++) {
    for (let b = a + 1; b < body.length; b++) {
      const got = read(body, [a, b]);
      assertEquals(got?.data, "a\r\n.b\r\nc\r\n\r\n", `splits ${a},${b}`);
      assertEquals(got?.rest, "");
    }
  }
});

Deno.test("DataReader.feed() ends an empty message at once", () => {
  assertEquals(read(".\r\nQUIT\r\n", [])?.data, "");
  assertEquals(read(".\r\nQUIT\r\n", [])?.rest, "QUIT\r\n");
});

Deno.test("DataReader.feed() in strict mode flags bare LF and bare CR at every split point", () => {
  const cases: [string, "CR" | "LF"][] = [
    ["line one\nline two\r\n.\r\n", "LF"],
    ["line one\rline two\r\n.\r\n", "CR"],
    ["ends in cr\r", "CR"],
  ];
  for (const [wire, kind] of cases) {
    const full = kind === "CR" && wire.endsWith("\r") ? wire + "x\r\n.\r\n" : wire;
    for (let cut = 1; cut < full.length; cut++) {
      const got = read(full, [cut]);
      assertEquals(got?.bare, kind, `${JSON.stringify(full)} split at ${cut}`);
      assertEquals(got?.progress.done && got.progress.smuggled, false);
    }
  }
});

Deno.test("DataReader.feed() in strict mode reports a dot line after or before a bare LF as smuggling", () => {
  for (const wire of ["a\r\n.\nMAIL", "a\n.\r\nMAIL", "a\n.\nMAIL"]) {
    for (let cut = 1; cut < wire.length; cut++) {
      const got = read(wire, [cut]);
      assert(got?.progress.done && got.progress.smuggled, `${JSON.stringify(wire)} at ${cut}`);
      assertEquals(got.rest, "MAIL");
    }
  }
  // "\r.\r" has no LF: not an end at all; the CRLF.CRLF later is.
  const got = read("a\r.\rMAIL FROM:<x@y>\r\n.\r\n", []);
  assertEquals(got?.bare, "CR");
  assertEquals(got?.progress.done && got.progress.smuggled, false);
});

Deno.test("DataReader.feed() in lenient mode ends at \\n.\\n like Postfix 3.7", () => {
  const got = read("a\n.\nMAIL", [], false);
  assertEquals(got?.data, "a\n");
  assertEquals(got?.rest, "MAIL");
  assertEquals(got?.bare, undefined);
});

Deno.test("DataReader counts but drops a message over the size limit", () => {
  const reader = new DataReader(true, 10);
  const progress = reader.feed(enc.encode("0123456789abc\r\n.\r\n"), 0);
  assert(progress.done);
  assert(reader.isTooBig);
  assertEquals(reader.size, 15);
  assertEquals(reader.data().length, 0);
});
