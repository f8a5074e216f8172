import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { bytesToLatin1 } from "../bytes.ts";
import { normaliseLines } from "./test_helpers.ts";
import { isSmimeError } from "../errors.ts";
import {
  bodyChunks,
  checkEnvelopeAddress,
  DataBuffers,
  dataTail,
  encodeData,
  hasEightBit,
} from "./data.ts";

const enc = new TextEncoder();
const wire = (text: string) => bytesToLatin1(encodeData(enc.encode(text)));

Deno.test("encodeData() makes every bare CR and LF a CRLF and ends with CRLF.CRLF", () => {
  assertEquals(wire("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd\r\n.\r\n");
  assertEquals(wire("a\r\r\nb\n\n"), "a\r\n\r\nb\r\n\r\n.\r\n");
  assertEquals(wire("x\r"), "x\r\n.\r\n");
  assertEquals(wire(""), ".\r\n");
  assertEquals(wire("ok\r\n"), "ok\r\n.\r\n");
});

Deno.test("encodeData() dot-stuffs every line that starts with '.', whatever the line end", () => {
  assertEquals(wire(".a\n.\n..\r\nb\r.c"), "..a\r\n..\r\n...\r\nb\r\n..c\r\n.\r\n");
  assertEquals(wire("x\n.\ny"), "x\r\n..\r\ny\r\n.\r\n");
});

Deno.test("encodeData() never puts a bare CR or LF on the wire (random bytes)", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let n = 0; n < 200; n++) {
    const bytes = Uint8Array.from({ length: Math.floor(rand() * 300) }, () => {
      const r = rand();
      return r < 0.15 ? 13 : r < 0.3 ? 10 : r < 0.4 ? 46 : Math.floor(rand() * 256);
    });
    const out = bytesToLatin1(encodeData(bytes));
    assertEquals(/\r(?!\n)|(?<!\r)\n/.test(out), false);
    assertEquals(out.endsWith("\r\n.\r\n") || out === ".\r\n", true);
    // Un-stuffing gives back the input with normalised line ends.
    const body = out.slice(0, -3).replace(/^\./gm, "");
    assertEquals(body, normaliseLines(bytes));
  }
});

Deno.test("bodyChunks() returns views of a clean CRLF message, copies only windows that change", () => {
  const clean = enc.encode("line one\r\nline two\r\n".repeat(1000));
  const chunks = [...bodyChunks(clean, 1024)];
  assertEquals(chunks.length > 10, true);
  assertEquals(chunks.every((c) => c.buffer === clean.buffer), true);
  const dirty = enc.encode("line one\r\nline two\r\n".repeat(1000) + ".dot\n");
  const dchunks = [...bodyChunks(dirty, 1024)];
  assertEquals(dchunks.filter((c) => c.buffer !== dirty.buffer).length, 1);
});

Deno.test("checkEnvelopeAddress() refuses CR, LF, NUL, space and <> (smuggling)", () => {
  for (const bad of ["a@b\r\nRCPT TO:<c@d>", "a@b\n", "a\0@b", "a b@c", "a>@b", "<a@b", ""]) {
    const err = assertThrows(() => checkEnvelopeAddress(bad, false));
    assertEquals(isSmimeError(err, "E_MESSAGE"), true, JSON.stringify(bad));
  }
  checkEnvelopeAddress("", true);
  checkEnvelopeAddress("j\u00f6rg@b\u00fccher.example", false);
});

Deno.test("hasEightBit() finds a high byte", () => {
  assertEquals(hasEightBit(enc.encode("plain")), false);
  assertEquals(hasEightBit(enc.encode("caf\u00e9")), true);
});

Deno.test("hasEightBit() looks at every byte of a view, and only those", () => {
  const bytes = enc.encode("x".repeat(37) + "\u00e9" + "y".repeat(41));
  for (let at = 0; at < bytes.length; at += 5) {
    for (let end = at; end <= bytes.length; end += 7) {
      const view = bytes.subarray(at, end);
      assertEquals(hasEightBit(view), view.some((b) => b >= 0x80), `${at}..${end}`);
    }
  }
  assertEquals(hasEightBit(new Uint8Array(0)), false);
  assertEquals(hasEightBit(Uint8Array.of(0x7f, 0x00, 0xff)), true);
});

/** The byte-at-a-time encoder bodyChunks() had before, kept as the reference. */
function referenceData(msg: Uint8Array): Uint8Array {
  const out: number[] = [];
  let atLineStart = true;
  for (let i = 0; i < msg.length; i++) {
    const b = msg[i]!;
    if (b === 13 || b === 10) {
      out.push(13, 10);
      atLineStart = true;
      if (b === 13 && msg[i + 1] === 10) i++;
      continue;
    }
    if (atLineStart && b === 46) out.push(46);
    out.push(b);
    atLineStart = false;
  }
  return Uint8Array.from([...out, ...dataTail(msg)]);
}

Deno.test("bodyChunks() with reused buffers gives the reference bytes for odd messages, any window", () => {
  const odd = [
    "",
    ".",
    "\n",
    "\r",
    ".\n.\r\n.",
    "a\n.\nb",
    "..\r\r\n\n.x",
    "no line end",
    "x\r\n.\r\n",
    "\r.\r.\n.",
    "caf\u00e9\n.\u00e9\r",
  ].map((t) => enc.encode(t));
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let n = 0; n < 300; n++) {
    odd.push(Uint8Array.from({ length: Math.floor(rand() * 200) }, () => {
      const r = rand();
      return r < 0.15 ? 13 : r < 0.3 ? 10 : r < 0.45 ? 46 : Math.floor(rand() * 256);
    }));
  }
  const buffers = new DataBuffers();
  for (const msg of odd) {
    for (const window of [1, 2, 3, 7, 64, 1 << 20]) {
      const chunks: Uint8Array[] = [];
      for (const c of bodyChunks(msg, window, buffers)) {
        // Given back as soon as "written": the next window may reuse the buffer.
        chunks.push(c.slice());
        buffers.give(c);
      }
      const out = bytesToLatin1(
        Uint8Array.from([...chunks.flatMap((c) => [...c]), ...dataTail(msg)]),
      );
      assertEquals(out, bytesToLatin1(referenceData(msg)), JSON.stringify(bytesToLatin1(msg)));
    }
    assertEquals(bytesToLatin1(encodeData(msg)), bytesToLatin1(referenceData(msg)));
  }
});

Deno.test("DataBuffers hands a given-back buffer out again, and only its own", () => {
  const buffers = new DataBuffers();
  const a = buffers.take(100);
  buffers.give(a.subarray(3, 9));
  assertEquals(buffers.take(50).buffer, a.buffer);
  const foreign = new Uint8Array(200_000);
  buffers.give(foreign);
  assertEquals(buffers.take(100).buffer === foreign.buffer, false);
  const big = buffers.take(1 << 20);
  buffers.give(big);
  assertEquals(buffers.take(1 << 20).buffer === big.buffer, false);
});
