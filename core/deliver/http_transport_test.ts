import { assert, assertEquals } from "../../tests/support/assert.ts";
import type { TransmissionResponse } from "../http/mod.ts";
import { resultFromResponse } from "./http_transport.ts";
import { sampleMessage } from "./test_message.ts";

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
