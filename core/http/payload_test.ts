import { assertEquals, assertIncludes, assertSmimeError } from "../../tests/support/assert.ts";
import { requireReturnPath, rfc822Content, transmissionRecipients } from "./payload.ts";

Deno.test("transmissionRecipients() lists every envelope recipient in order, and refuses none", async () => {
  assertEquals(transmissionRecipients(["bob@example.com", "dave@example.com"]), [
    { address: { email: "bob@example.com" } },
    { address: { email: "dave@example.com" } },
  ]);
  await assertSmimeError(() => transmissionRecipients([]), "E_MESSAGE");
});

Deno.test("rfc822Content() keeps the bytes: CRLF, dot lines unstuffed, UTF-8; refuses other 8-bit bytes", async () => {
  const text = "Subject: x\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n";
  const wire = JSON.parse(JSON.stringify(rfc822Content(new TextEncoder().encode(text))));
  assertEquals(wire, text);
  const utf8 = new TextEncoder().encode("Subject: Grüße\r\n\r\nPrix: 12 €\r\n");
  assertEquals(new TextEncoder().encode(rfc822Content(utf8)), utf8);
  const latin1 = Uint8Array.from([0x53, 0x3a, 0x20, 0xe9, 0x0d, 0x0a]);
  await assertSmimeError(() => rfc822Content(latin1), "E_MESSAGE");
  await assertSmimeError(() => rfc822Content(new Uint8Array(11), 10), "E_MESSAGE");
  assertEquals(rfc822Content(new TextEncoder().encode("0123456789"), 10), "0123456789");
});

Deno.test("requireReturnPath() trims, and refuses a missing or blank one naming the platform", async () => {
  assertEquals(requireReturnPath(" b@example.com ", "PowerMTA"), "b@example.com");
  for (const value of [undefined, "", "  "]) {
    const err = await assertSmimeError(() => requireReturnPath(value, "PowerMTA"), "E_CONFIG");
    assertIncludes(err.message, "PowerMTA transmissions API without return_path");
  }
});
