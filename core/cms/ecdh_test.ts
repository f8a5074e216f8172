import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { unwrapKey, wrapKey, x963Kdf } from "./ecdh.ts";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s/g, "").match(/../g)!, (h) => parseInt(h, 16));
const count = (n: number) => new Uint8Array(n).map((_, i) => i);

Deno.test("wrapKey() gives the RFC 3394 4.1 and 4.6 test vectors; unwrapKey() reverses them", () => {
  const cases: [Uint8Array, Uint8Array, string][] = [
    [
      count(16),
      hex("00112233445566778899AABBCCDDEEFF"),
      "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5",
    ],
    [
      count(32),
      hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"),
      "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21",
    ],
  ];
  for (const [kek, key, wrapped] of cases) {
    assertEquals(wrapKey(kek, key), hex(wrapped));
    assertEquals(unwrapKey(kek, hex(wrapped)), key);
  }
});

Deno.test("unwrapKey() returns undefined when the integrity check fails", () => {
  const wrapped = hex("1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5");
  wrapped[9]! ^= 1;
  assertEquals(unwrapKey(count(16), wrapped), undefined);
});

Deno.test("x963Kdf() is Hash(Z || counter || SharedInfo) over counters 1, 2, ..., truncated", async () => {
  const z = count(32);
  const info = hex("300b0609608648016503040105");
  const block = async (hash: string, counter: number) => {
    const input = new Uint8Array([...z, 0, 0, 0, counter, ...info]);
    return new Uint8Array(await crypto.subtle.digest(hash, input));
  };
  const sha256 = new Uint8Array([...await block("SHA-256", 1), ...await block("SHA-256", 2)]);
  assertEquals(x963Kdf("SHA-256", z, info, 48), sha256.subarray(0, 48));
  assertEquals(x963Kdf("SHA-384", z, info, 32), (await block("SHA-384", 1)).subarray(0, 32));
  assertEquals(x963Kdf("SHA-512", z, info, 16), (await block("SHA-512", 1)).subarray(0, 16));
});
