import { strictEqual } from "node:assert/strict";
import { describeUnsafeBytes, hasUnsafeBytes } from "./seven_bit.ts";
import { bytesOf } from "./test_helpers.ts";

Deno.test("hasUnsafeBytes() is true for 8-bit bytes, NUL and lines over 998 octets only", () => {
  strictEqual(hasUnsafeBytes(bytesOf(`${"a".repeat(998)}\r\nb\n`)), false);
  strictEqual(hasUnsafeBytes(bytesOf("caf\u00e9")), true);
  strictEqual(hasUnsafeBytes(bytesOf("a\0b")), true);
  strictEqual(hasUnsafeBytes(bytesOf(`x\r${"a".repeat(999)}\r\n`)), true);
});

Deno.test("describeUnsafeBytes() names the first fault and where it is", () => {
  strictEqual(describeUnsafeBytes(bytesOf("ok\r\nok\r\n")), undefined);
  strictEqual(describeUnsafeBytes(bytesOf("ab\u00e9")), "a byte over 127 (0xc3) at offset 2");
  strictEqual(describeUnsafeBytes(bytesOf("a\0")), "a NUL byte at offset 1");
  strictEqual(
    describeUnsafeBytes(bytesOf(`ok\r\n${"p".repeat(1500)}\r\n`)),
    "a line of 1500 octets at offset 4 (over 998)",
  );
});
