import { assertEquals, assertIncludes, assertSmimeError } from "../../tests/support/assert.ts";
import { SAMPLE_MESSAGE, sampleMessage } from "../../core/deliver/test_message.ts";
import { MAX_RFC822_BYTES, sparkpostPayload } from "./payload.ts";

const RECIPIENTS = [
  { address: { email: "bob@example.com" } },
  { address: { email: "carol@example.com" } },
  { address: { email: "dave@example.com" } },
];

Deno.test("sparkpostPayload() lists every envelope recipient and the bytes as they are", () => {
  const payload = sparkpostPayload(sampleMessage("signed"));
  assertEquals(payload, {
    recipients: RECIPIENTS,
    content: { email_rfc822: SAMPLE_MESSAGE },
    options: { open_tracking: false, click_tracking: false, transactional: true },
  });
  // CRLF kept, dot lines not stuffed, and the JSON round trip gives the same bytes back.
  const wire = JSON.parse(JSON.stringify(payload)).content.email_rfc822 as string;
  assertEquals(new TextEncoder().encode(wire), new TextEncoder().encode(SAMPLE_MESSAGE));
  assertIncludes(wire, "\r\n.leading dot, not to be stuffed\r\n..two dots\r\n.\r\n");
});

Deno.test("sparkpostPayload() sets every option field", () => {
  const payload = sparkpostPayload(sampleMessage("encrypted"), {
    campaignId: "statements-2026-05",
    metadata: { customer: 42, batch: "b7" },
    returnPath: "bounces@example.com",
    description: "May statements",
    transactional: false,
    ipPool: "bank-pool",
  });
  assertEquals(payload.campaign_id, "statements-2026-05");
  assertEquals(payload.metadata, { customer: 42, batch: "b7" });
  assertEquals(payload.return_path, "bounces@example.com");
  assertEquals(payload.description, "May statements");
  assertEquals(payload.options, {
    open_tracking: false,
    click_tracking: false,
    transactional: false,
    ip_pool: "bank-pool",
  });
});

Deno.test("sparkpostPayload() allows tracking only on plain messages", async () => {
  const plain = sparkpostPayload(sampleMessage("plain"), {
    openTracking: true,
    clickTracking: true,
  });
  assertEquals(plain.options.open_tracking, true);
  assertEquals(plain.options.click_tracking, true);
  for (const stage of ["signed", "encrypted"] as const) {
    const err = await assertSmimeError(
      () => sparkpostPayload(sampleMessage(stage), { clickTracking: true }),
      "E_CONFIG",
    );
    assertIncludes(err.message, "tracking rewrites the body and breaks the S/MIME signature");
  }
});

Deno.test("sparkpostPayload() enforces the campaign_id and size limits", async () => {
  const message = sampleMessage("signed");
  assertEquals(sparkpostPayload(message, { campaignId: "x".repeat(64) }).campaign_id?.length, 64);
  await assertSmimeError(
    () => sparkpostPayload(message, { campaignId: "x".repeat(65) }),
    "E_CONFIG",
  );
  // 33 two-byte characters = 66 bytes
  await assertSmimeError(
    () => sparkpostPayload(message, { campaignId: "é".repeat(33) }),
    "E_CONFIG",
  );
  const huge = sampleMessage("signed", ["bob@example.com"], new Uint8Array(MAX_RFC822_BYTES + 1));
  await assertSmimeError(() => sparkpostPayload(huge), "E_MESSAGE");
  await assertSmimeError(() => sparkpostPayload(sampleMessage("signed", [])), "E_MESSAGE");
});

Deno.test("sparkpostPayload() keeps UTF-8 bytes of plain 8-bit mail and refuses other 8-bit bytes", async () => {
  const text = "Subject: Grüße\r\n\r\nPrix: 12 €\r\n";
  const utf8 = new TextEncoder().encode(text);
  const payload = sparkpostPayload(sampleMessage("plain", ["bob@example.com"], utf8));
  assertEquals(new TextEncoder().encode(payload.content.email_rfc822), utf8);
  const latin1 = Uint8Array.from([0x53, 0x3a, 0x20, 0xe9, 0x0d, 0x0a]);
  await assertSmimeError(
    () => sparkpostPayload(sampleMessage("plain", ["bob@example.com"], latin1)),
    "E_MESSAGE",
  );
});
