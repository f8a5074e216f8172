import { concatBytes } from "../bytes.ts";
import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  type Der,
  encode,
  explicit,
  forEachChunk,
  int,
  type LatePart,
  octets,
  oid,
  seq,
  sizeOf,
  tlv,
} from "./der.ts";

/** A late part of `n` bytes made in pieces of `piece`, all written into one scratch buffer. */
function late(n: number, piece: number, announced = n): LatePart {
  return {
    late: true,
    size: announced,
    *pieces() {
      const scratch = new Uint8Array(piece);
      for (let at = 0; at < n; at += piece) {
        const k = Math.min(piece, n - at);
        for (let i = 0; i < k; i++) scratch[i] = (at + i) & 0xff;
        yield scratch.subarray(0, k);
      }
    },
  };
}

function joined(d: Der): Uint8Array {
  const chunks: Uint8Array[] = [];
  forEachChunk(d, (chunk) => chunks.push(chunk.slice()));
  return concatBytes(chunks);
}

Deno.test("forEachChunk() hands out exactly encode()'s bytes, late parts included", () => {
  const content = new Uint8Array(70_000).map((_, i) => i * 7);
  const trees: Der[] = [
    int(5),
    seq(oid("1.2.840.113549.1.7.1"), explicit(0, octets(content))),
    seq(int(0), tlv(0x80, late(1000, 64)), octets(new Uint8Array(300))),
    seq(explicit(0, seq(tlv(0x80, late(200_000, 4096)))), int(65_536)),
    tlv(0x80, late(0, 16)),
  ];
  for (const tree of trees) {
    const bytes = encode(tree);
    assertEquals(bytes.length, sizeOf(tree));
    assertEquals(joined(tree), bytes);
  }
  const expected = new Uint8Array(1000).map((_, i) => i & 0xff);
  assertEquals(encode(tlv(0x80, late(1000, 64))).subarray(4), expected);
});

Deno.test("a late DER part that makes more or fewer bytes than it announced is refused", () => {
  throws(() => encode(seq(tlv(0x80, late(100, 16, 99)))), /announced/);
  throws(() => joined(seq(tlv(0x80, late(100, 16, 101)))), /announced/);
});
