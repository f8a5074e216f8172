import { assert, assertEquals, assertIncludes, assertSmimeError } from "../../tests/assert.ts";
import type { TransmissionResponse } from "./client.ts";
import {
  MAX_RFC822_BYTES,
  momentumPayload,
  powermtaPayload,
  resultFromResponse,
  sparkpostPayload,
} from "./payload.ts";
import { SAMPLE_MESSAGE, sampleMessage } from "./test_server.ts";

const RECIPIENTS = [
  { address: { email: "bob@example.com" } },
  { address: { email: "carol@example.com" } },
  { address: { email: "dave@example.com" } },
];

/** Every key path of a JSON value, e.g. "options.smtputf8", "recipients[].address.email". */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((v) => keyPaths(v, `${prefix}[]`)))];
  if (typeof value !== "object" || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k));
}

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
    await assertSmimeError(
      () =>
        momentumPayload(sampleMessage(stage), { returnPath: "b@x.example", openTracking: true }),
      "E_CONFIG",
    );
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
    recipients: RECIPIENTS,
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
    recipients: RECIPIENTS,
    content: { email_rfc822: SAMPLE_MESSAGE },
  });
  await assertSmimeError(() => momentumPayload(sampleMessage(), { returnPath: " " }), "E_CONFIG");
});

Deno.test("resultFromResponse() reports every recipient, honestly when some were rejected", () => {
  const message = sampleMessage("signed");
  const ok: TransmissionResponse = {
    status: 200,
    host: "api.sparkpost.com",
    id: "84",
    accepted: 3,
    rejected: 0,
  };
  const result = resultFromResponse(message, ok);
  assertEquals(result.id, "84");
  assertEquals(result.recipients.map((r) => [r.recipient, r.status, r.code, r.response]), [
    ["bob@example.com", "accepted", 200, "accepted by api.sparkpost.com (id 84)"],
    ["carol@example.com", "accepted", 200, "accepted by api.sparkpost.com (id 84)"],
    ["dave@example.com", "accepted", 200, "accepted by api.sparkpost.com (id 84)"],
  ]);

  const noId = resultFromResponse(message, { status: 200, host: "pmta.example.net:8080" });
  assertEquals(noId.id, undefined);
  assert(noId.recipients.every((r) => r.response === "accepted by pmta.example.net:8080"));

  const partial = resultFromResponse(message, { ...ok, accepted: 2, rejected: 1 });
  assertEquals(partial.recipients.length, 3);
  for (const r of partial.recipients) {
    assertEquals(r.status, "rejected");
    assertEquals(
      r.response,
      "api.sparkpost.com accepted 2 of 3 recipients (id 84) " +
        "(which ones is not reported; see the message events)",
    );
  }
});
