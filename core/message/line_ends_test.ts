import { concatBytes } from "../bytes.ts";
import { strictEqual } from "node:assert/strict";
import { crlfPieces, joinPieces, type Piece, piecesLength, toCrlf } from "./line_ends.ts";
import { bytesOf, randomBytes, textOf } from "./test_helpers.ts";

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

Deno.test("joinPieces() equals toCrlf() of each { crlf } piece, joined", () => {
  const raw = randomBytes(4000, 7).map((b) => [10, 13, 65, 66][b & 3]!);
  for (let seed = 1; seed < 40; seed++) {
    const pieces: Piece[] = [];
    for (let at = 0; at < raw.length;) {
      const size = (at * seed) % 97;
      const slice = raw.subarray(at, at + size);
      // Pieces as they are may hold bare line ends: they stay as they are.
      pieces.push((at + seed) % 3 === 0 ? slice : { crlf: slice });
      at += size || 1;
    }
    const expected = concatBytes(pieces.map((p) => p instanceof Uint8Array ? p : toCrlf(p.crlf)));
    strictEqual(textOf(joinPieces(pieces)), textOf(expected));
  }
  strictEqual(joinPieces([]).length, 0);
});

Deno.test("crlfPieces() streams joinPieces()'s bytes, a CR and LF at a slice's edge kept together", () => {
  const slice = 1 << 20;
  const big = new Uint8Array(2 * slice + 100).fill(65);
  // A CRLF across the first slice edge, a bare CR at the second, LFs here and there.
  big[slice - 1] = 13;
  big[slice] = 10;
  big[2 * slice - 1] = 13;
  for (let i = 5; i < big.length; i += 99_991) big[i] = 10;
  const pieces: Piece[] = [
    bytesOf("head\n"),
    { crlf: big },
    { crlf: bytesOf("a\rb\n") },
    bytesOf("x\n"),
  ];
  const streamed = concatBytes(Array.from(crlfPieces(pieces), (p) => p.slice()));
  const joined = joinPieces(pieces);
  strictEqual(streamed.length, joined.length);
  strictEqual(piecesLength(pieces), joined.length);
  strictEqual(textOf(streamed) === textOf(joined), true);
});

Deno.test("toCrlf() equals a byte-by-byte reference on random lines of every length and line end", () => {
  const reference = (bytes: Uint8Array) => {
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 13 || bytes[i] === 10) {
        out.push(13, 10);
        if (bytes[i] === 13 && bytes[i + 1] === 10) i++;
      } else out.push(bytes[i]!);
    }
    return new Uint8Array(out);
  };
  const ends = ["\n", "\r\n", "\r", "\n\r", "\r\r\n", ""];
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 200; round++) {
    let text = "";
    // Lines shorter and longer than the run copied byte by byte.
    for (let line = next(8); line > 0; line--) {
      text += "x".repeat(next(60)) + ends[next(ends.length)];
    }
    const input = bytesOf(text);
    strictEqual(textOf(toCrlf(input)), textOf(reference(input)), JSON.stringify(text));
  }
});

Deno.test("toCrlf() of 8 MB of short LF lines with one CR at the end stays linear", () => {
  // A CR looked for again on every line would scan the rest of the input per line.
  const input = bytesOf(`${"abc\n".repeat(2_000_000)}x\r`);
  const out = toCrlf(input);
  strictEqual(out.length, input.length + 2_000_000 + 1);
  strictEqual(textOf(out.subarray(0, 10)), "abc\r\nabc\r\n");
  strictEqual(textOf(out.subarray(out.length - 3)), "x\r\n");
});
