import { assert, assertEquals, assertThrows } from "../tests/support/assert.ts";
import {
  bytesEqual,
  bytesToLatin1,
  concatBytes,
  joinSource,
  latin1ToBytes,
  prefixSource,
} from "./bytes.ts";

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

Deno.test("bytesToLatin1() maps every byte value n to the char U+00nn", () => {
  const text = bytesToLatin1(ALL_BYTES);
  assertEquals(text.length, 256);
  for (let n = 0; n < 256; n++) assertEquals(text.charCodeAt(n), n, `byte 0x${n.toString(16)}`);
});

Deno.test("latin1ToBytes() maps every char U+00nn back to the byte n", () => {
  const text = Array.from(ALL_BYTES, (n) => String.fromCharCode(n)).join("");
  assertEquals(latin1ToBytes(text), ALL_BYTES);
});

Deno.test("bytesToLatin1() keeps order across its internal chunks", () => {
  const big = Uint8Array.from({ length: 0x8000 * 2 + 7 }, (_, i) => (i * 31) & 0xff);
  const text = bytesToLatin1(big);
  assertEquals(text.length, big.length);
  assertEquals(latin1ToBytes(text), big);
  assertEquals(bytesToLatin1(new Uint8Array(0)), "");
});

Deno.test("latin1ToBytes() keeps the low 8 bits of a char above U+00FF", () => {
  assertEquals(latin1ToBytes("\u20ac\u0141"), new Uint8Array([0xac, 0x41]));
});

Deno.test("concatBytes() joins in order and copies", () => {
  const a = new Uint8Array([1, 2]);
  const joined = concatBytes([a, new Uint8Array(0), new Uint8Array([3])]);
  assertEquals(joined, new Uint8Array([1, 2, 3]));
  a[0] = 9;
  assertEquals(joined[0], 1);
  assertEquals(concatBytes([]), new Uint8Array(0));
});

Deno.test("bytesEqual() compares length and every byte", () => {
  assert(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert(!bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])));
  assert(bytesEqual(new Uint8Array(0), new Uint8Array(0)));
  assert(bytesEqual(ALL_BYTES.subarray(10, 20), ALL_BYTES.slice(10, 20)));
});

Deno.test("prefixSource() puts the head in front of a source's pieces and says what it knows of 7-bit", () => {
  const body = { size: 4, pieces: () => [new Uint8Array([1, 2]), new Uint8Array([3, 4])] };
  const ascii = new TextEncoder().encode("To: b\r\n");
  const source = prefixSource(ascii, { ...body, isAscii: true });
  assertEquals(source.size, ascii.length + 4);
  assertEquals(joinSource(source), concatBytes([ascii, new Uint8Array([1, 2, 3, 4])]));
  assertEquals(source.isAscii, true);
  assertEquals(prefixSource(ascii, body).isAscii, undefined, "a body not known stays not known");
  const high = new Uint8Array([0x54, 0xe9]);
  assertEquals(prefixSource(high, { ...body, isAscii: true }).isAscii, false);
  assertEquals(prefixSource(high, body).isAscii, false);
});

Deno.test("joinSource() refuses a source that makes more or less than its size", () => {
  const pieces = () => [new Uint8Array(3), new Uint8Array(3)];
  assertThrows(() => joinSource({ size: 5, pieces }));
  assertThrows(() => joinSource({ size: 7, pieces }));
  assertEquals(joinSource({ size: 6, pieces }).length, 6);
});
