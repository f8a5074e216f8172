import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { type ByteSource, bytesToLatin1, concatBytes } from "../bytes.ts";
import { normaliseLines } from "./test_helpers.ts";
import { isSmimeError } from "../errors.ts";
import {
  bodyChunks,
  checkEnvelopeAddress,
  DataBuffers,
  dataTail,
  encodeData,
  hasEightBit,
  headerHasEightBit,
  sourceChunks,
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

/**
 * `bytes` as a source cut at the given places, each piece handed out in one
 * scratch buffer that the next piece overwrites (as AES-CBC's pieces are).
 */
function scratchSource(bytes: Uint8Array, cuts: number[]): ByteSource {
  const ends = [
    ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b),
    bytes.length,
  ];
  return {
    size: bytes.length,
    *pieces() {
      const scratch = new Uint8Array(bytes.length);
      let from = 0;
      for (const end of ends) {
        scratch.set(bytes.subarray(from, end));
        yield scratch.subarray(0, end - from);
        from = end;
      }
    },
  };
}

/** sourceChunks() and the end of data joined: what goes on the wire. */
function sourceWire(source: ByteSource, buffers?: DataBuffers): Uint8Array {
  const chunks = [...sourceChunks(source, buffers)].map((c) => c.slice());
  return concatBytes([...chunks, dataTail(chunks.at(-1) ?? new Uint8Array())]);
}

Deno.test("sourceChunks() puts on the wire what encodeData() does, wherever the pieces are cut", () => {
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const cases = ["a\r\n.b\r\n", ".x\r", "x\r\r\n\n.\r\n.", "", "\r", "\n", "..\r\n..", "a\rb"]
    .map((t) => enc.encode(t));
  for (let n = 0; n < 300; n++) {
    cases.push(Uint8Array.from({ length: Math.floor(rand() * 200) }, () => {
      const r = rand();
      return r < 0.2 ? 13 : r < 0.35 ? 10 : r < 0.5 ? 46 : Math.floor(rand() * 256);
    }));
  }
  for (const bytes of cases) {
    const expected = encodeData(bytes);
    // Every single cut (a CR and its LF apart, a dot right after a cut), then random ones.
    for (let cut = 0; cut <= bytes.length; cut++) {
      assertEquals(sourceWire(scratchSource(bytes, [cut])), expected, `cut at ${cut}`);
    }
    const cuts = Array.from({ length: 5 }, () => Math.floor(rand() * bytes.length));
    assertEquals(sourceWire(scratchSource(bytes, cuts), new DataBuffers()), expected);
  }
});

Deno.test("sourceChunks() copies each window of a large piece, so a chunk outlives its piece", () => {
  const message = enc.encode("line one\r\n.dot line\r\n".repeat(20_000));
  const buffers = new DataBuffers();
  const chunks: Uint8Array[] = [];
  for (const chunk of sourceChunks(scratchSource(message, [100_000, 300_001]), buffers)) {
    assertEquals(chunk.buffer === message.buffer, false);
    chunks.push(chunk.slice());
    buffers.give(chunk);
  }
  assertEquals(chunks.length > 5, true, "a window at a time, not the whole piece");
  assertEquals(concatBytes([...chunks, dataTail(chunks.at(-1)!)]), encodeData(message));
});

Deno.test("hasEightBit() of a source: read through, unless it is known to be 7-bit", () => {
  const read: number[] = [];
  const source = (bytes: Uint8Array, isAscii?: boolean): ByteSource => ({
    size: bytes.length,
    pieces: () => (read.push(bytes.length), [bytes.subarray(0, 3), bytes.subarray(3)]),
    isAscii,
  });
  assertEquals(hasEightBit(source(enc.encode("plain text"))), false);
  assertEquals(hasEightBit(source(enc.encode("plain caf\u00e9"))), true);
  assertEquals(read.length, 2);
  assertEquals(hasEightBit(source(enc.encode("base64"), true)), false);
  assertEquals(read.length, 2, "a source known to be 7-bit is not made");
});

Deno.test("headerHasEightBit() looks at the header section only, CRLF or LF, whole or as a source", () => {
  const cases: [string, boolean][] = [
    ["Subject: Gr\u00fc\u00dfe\r\n\r\nbody\r\n", true],
    ["Subject: hi\r\n\r\nGr\u00fc\u00dfe\r\n", false],
    ["Subject: hi\n\nGr\u00fc\u00dfe\n", false],
    ["Subject: hi\nX-Name: J\u00f6rg\n\nbody\n", true],
    ["Subject: hi\r\n =?utf-8?q?x?=\r\n\r\n\u00e9", false],
    ["Subject: \u00e9", true],
    ["", false],
  ];
  for (const [text, expected] of cases) {
    const bytes = enc.encode(text);
    assertEquals(headerHasEightBit(bytes), expected, JSON.stringify(text));
    // The same split one byte a piece, and never read past the header section.
    let read = 0;
    const source: ByteSource = {
      size: bytes.length,
      *pieces() {
        for (let i = 0; i < bytes.length; i++) {
          read = i + 1;
          yield bytes.subarray(i, i + 1);
        }
      },
    };
    assertEquals(headerHasEightBit(source), expected, JSON.stringify(text));
    const end = text.search(/\r?\n\r?\n/);
    if (end >= 0 && !expected) assert(read <= enc.encode(text.slice(0, end)).length + 4, text);
  }
});
