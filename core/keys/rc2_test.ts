import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import {
  decryptBlock,
  encryptBlock,
  expandKey,
  RC2_BLOCK_SIZE,
  rc2CbcDecrypt,
  Rc2Error,
} from "./rc2.ts";
import { openssl } from "./test_util.ts";

const hex = (s: string) => new Uint8Array(s.match(/[0-9a-f]{2}/g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** RFC 2268 section 5: [key, effective key bits, plaintext, ciphertext]. */
const VECTORS: [string, number, string, string][] = [
  ["0000000000000000", 63, "0000000000000000", "ebb773f993278eff"],
  ["ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"],
  ["3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"],
  ["88", 64, "0000000000000000", "61a8a244adacccf0"],
  ["88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"],
  ["88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"],
  ["88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"],
  [
    "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e",
    129,
    "0000000000000000",
    "5b78d3a43dfff1f1",
  ],
];

/** CBC + PKCS#7 on top of encryptBlock, to make ciphertexts for the tests. */
function cbcEncrypt(key: Uint8Array, bits: number, iv: Uint8Array, plain: Uint8Array): Uint8Array {
  const pad = RC2_BLOCK_SIZE - (plain.length % RC2_BLOCK_SIZE);
  const data = new Uint8Array([...plain, ...new Uint8Array(pad).fill(pad)]);
  return cbcEncryptRaw(key, bits, iv, data);
}

function cbcEncryptRaw(
  key: Uint8Array,
  bits: number,
  iv: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  const k = expandKey(key, bits);
  const out = new Uint8Array(data.length);
  let prev = iv;
  for (let i = 0; i < data.length; i += RC2_BLOCK_SIZE) {
    const block = data.slice(i, i + RC2_BLOCK_SIZE).map((b, j) => b ^ prev[j]!);
    prev = encryptBlock(k, block);
    out.set(prev, i);
  }
  return out;
}

Deno.test("RC2 block encryption matches the RFC 2268 section 5 test vectors", () => {
  for (const [key, bits, plain, cipher] of VECTORS) {
    assert.equal(toHex(encryptBlock(expandKey(hex(key), bits), hex(plain))), cipher, key);
  }
});

Deno.test("RC2 block decryption inverts the RFC 2268 section 5 test vectors", () => {
  for (const [key, bits, plain, cipher] of VECTORS) {
    assert.equal(toHex(decryptBlock(expandKey(hex(key), bits), hex(cipher))), plain, key);
  }
});

Deno.test("RC2-CBC decrypts what the block cipher encrypted, for every padding length", () => {
  const key = hex("0102030405");
  const iv = hex("08090a0b0c0d0e0f");
  for (let n = 0; n <= 24; n++) {
    const plain = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.deepEqual(rc2CbcDecrypt(key, 40, iv, cbcEncrypt(key, 40, iv, plain)), plain);
  }
});

Deno.test("RC2-CBC refuses bad padding, bad lengths and bad keys with Rc2Error", () => {
  const key = hex("0102030405");
  const iv = hex("0000000000000000");
  const kind = (fn: () => unknown, want: Rc2Error["kind"]) =>
    assert.throws(fn, (err) => err instanceof Rc2Error && err.kind === want);
  for (const last of ["0000000000000000", "0000000000000009", "0000000000000302"]) {
    const data = cbcEncryptRaw(key, 40, iv, hex(`1122334455667788${last}`));
    kind(() => rc2CbcDecrypt(key, 40, iv, data), "padding");
  }
  const good = cbcEncrypt(key, 40, iv, hex("1122334455"));
  kind(() => rc2CbcDecrypt(key, 40, iv, good.subarray(0, 7)), "length");
  kind(() => rc2CbcDecrypt(key, 40, iv, new Uint8Array()), "length");
  kind(() => rc2CbcDecrypt(key, 40, iv.subarray(0, 4), good), "length");
  kind(() => rc2CbcDecrypt(new Uint8Array(), 40, iv, good), "key");
  kind(() => rc2CbcDecrypt(key, 0, iv, good), "key");
  kind(() => rc2CbcDecrypt(new Uint8Array(129), 40, iv, good), "key");
  kind(() => decryptBlock(expandKey(key, 40), good.subarray(0, 4)), "length");
});

// OpenSSL 3 keeps RC2 in the legacy provider; without it this check is skipped.
const opensslRc2 = (await openssl([
  "enc",
  "-rc2-40-cbc",
  "-provider",
  "legacy",
  "-provider",
  "default",
  "-K",
  "0102030405",
  "-iv",
  "0000000000000000",
], new Uint8Array(1))).ok;

Deno.test({
  name: "RC2-CBC decrypts what openssl enc encrypted (40, 64 and 128-bit keys)",
  ignore: !opensslRc2,
  fn: async () => {
    for (
      const [cipher, bytes] of [["rc2-40-cbc", 5], ["rc2-64-cbc", 8], ["rc2-cbc", 16]] as const
    ) {
      for (let round = 0; round < 4; round++) {
        const key = new Uint8Array(randomBytes(bytes));
        const iv = new Uint8Array(randomBytes(8));
        const plain = new Uint8Array(randomBytes(61 + round));
        const args = ["enc", `-${cipher}`, "-provider", "legacy", "-provider", "default"];
        const child = new Deno.Command("openssl", {
          args: [...args, "-K", toHex(key), "-iv", toHex(iv)],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(plain);
        await writer.close();
        const { success, stdout } = await child.output();
        assert.ok(success, cipher);
        assert.deepEqual(rc2CbcDecrypt(key, bytes * 8, iv, stdout), plain, cipher);
      }
    }
  },
});
