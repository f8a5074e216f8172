import { assertEquals, assertSmimeError } from "../../tests/support/assert.ts";
import { SAMPLE_MESSAGE, sampleMessage } from "../../core/deliver/test_message.ts";
import { momentumPayload } from "./payload.ts";

Deno.test("momentumPayload() sends Momentum's subset with return_path required", async () => {
  const payload = momentumPayload(sampleMessage("signed"), {
    returnPath: "bounces@example.com",
    campaignId: "statements",
    metadata: { batch: 3 },
  });
  assertEquals(payload, {
    return_path: "bounces@example.com",
    campaign_id: "statements",
    metadata: { batch: 3 },
    options: { open_tracking: false, click_tracking: false },
    recipients: [
      { address: { email: "bob@example.com" } },
      { address: { email: "carol@example.com" } },
      { address: { email: "dave@example.com" } },
    ],
    content: { email_rfc822: SAMPLE_MESSAGE },
  });
  await assertSmimeError(() => momentumPayload(sampleMessage(), { returnPath: " " }), "E_CONFIG");
});

Deno.test("momentumPayload() allows tracking only on plain messages", async () => {
  const plain = momentumPayload(sampleMessage("plain"), {
    returnPath: "b@x.example",
    openTracking: true,
  });
  assertEquals(plain.options, { open_tracking: true, click_tracking: false });
  for (const stage of ["signed", "encrypted"] as const) {
    await assertSmimeError(
      () =>
        momentumPayload(sampleMessage(stage), { returnPath: "b@x.example", openTracking: true }),
      "E_CONFIG",
    );
  }
  await assertSmimeError(
    () =>
      momentumPayload(sampleMessage(), { returnPath: "b@x.example", campaignId: "é".repeat(33) }),
    "E_CONFIG",
  );
});
