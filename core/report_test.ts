import { assertEquals } from "../tests/support/assert.ts";
import { reportLines } from "./report.ts";

Deno.test("reportLines(): a key file refused before it could be described ends at its name", () => {
  const base = { file: "k/weak@example.com.pem", kind: "private-key" as const, warnings: [] };
  assertEquals(
    reportLines({ ...base, ok: false, problems: ["RSA-512 keys are refused"], summary: "" }),
    ["PROBLEM k/weak@example.com.pem", "        problem: RSA-512 keys are refused"],
  );
  assertEquals(
    reportLines({ ...base, ok: true, problems: [], summary: "RSA private key" }),
    ["ok      k/weak@example.com.pem: RSA private key"],
  );
});
