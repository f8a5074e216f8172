import { assertEquals, assertSmimeError } from "../../tests/support/assert.ts";
import { SAMPLE_MESSAGE, sampleMessage } from "../../core/deliver/test_message.ts";
import { powermtaPayload } from "./payload.ts";

/** Every key path of a JSON value, e.g. "options.smtputf8", "recipients[].address.email". */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => keyPaths(v, `${prefix}[]`)))];
  if (typeof value !== "object" || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k));
}

Deno.test("powermtaPayload() has only the fields PowerMTA 5 accepts", async () => {
  const payload = powermtaPayload(sampleMessage("signed"), {
    returnPath: "bounces@example.com",
    campaignId: "job-17",
    smtputf8: false,
  });
  assertEquals(keyPaths(payload).sort(), [
    "campaign_id",
    "content.email_rfc822",
    "options.smtputf8",
    "recipients[].address.email",
    "return_path",
  ]);
  assertEquals(payload, {
    return_path: "bounces@example.com",
    campaign_id: "job-17",
    options: { smtputf8: false },
    recipients: [
      { address: { email: "bob@example.com" } },
      { address: { email: "carol@example.com" } },
      { address: { email: "dave@example.com" } },
    ],
    content: { email_rfc822: SAMPLE_MESSAGE },
  });
  const minimal = powermtaPayload(sampleMessage("encrypted"), { returnPath: "b@example.com" });
  assertEquals(keyPaths(minimal).sort(), [
    "content.email_rfc822",
    "recipients[].address.email",
    "return_path",
  ]);
  await assertSmimeError(() => powermtaPayload(sampleMessage(), {}), "E_CONFIG");
  await assertSmimeError(
    () => powermtaPayload(sampleMessage(), { returnPath: "b@example.com", campaignId: "a b" }),
    "E_CONFIG",
  );
});
