import { assertEquals, assertMatch, assertSmimeError } from "../../tests/support/assert.ts";
import { testKeyStore } from "../../tests/support/helpers.ts";
import { signEntity } from "./seal.ts";

const encoder = new TextEncoder();

Deno.test("signEntity() refuses to sign detached an entity that is not 7bit data, and signs it opaque", async () => {
  const signer = await (await testKeyStore()).signerFor("alice@example.com");
  const cases = [
    [
      "Content-Type: text/plain\r\n\r\nGr\u00fc\u00dfe\r\n",
      /a byte over 127 \(0xc3\) at offset 30/,
    ],
    [`Content-Type: text/plain\r\n\r\n${"p".repeat(999)}\r\n`, /a line of 999 octets at offset 28/],
  ] as const;
  for (const [text, fault] of cases) {
    const plain = { stage: "plain" as const, entity: encoder.encode(text) };
    const error = await assertSmimeError(
      () => signEntity(plain, signer.identity, { detached: true, source: "m.eml" }),
      "E_MESSAGE",
    );
    assertMatch(error.message, /^m\.eml: cannot sign detached \(multipart\/signed\): /);
    assertMatch(error.message, fault);
    // Opaque signing is base64 on the wire: not refused.
    const opaque = await signEntity(plain, signer.identity, { detached: false });
    assertEquals(opaque.detached, false);
  }
  const seven = { stage: "plain" as const, entity: encoder.encode(cases[1][0].slice(0, 1000)) };
  assertEquals((await signEntity(seven, signer.identity, { detached: true })).detached, true);
});
