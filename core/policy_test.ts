import { assertEquals } from "../tests/support/assert.ts";
import { SmimeError } from "./errors.ts";
import { HttpError } from "./http/client.ts";
import {
  givenUp,
  httpErrorCode,
  judgeError,
  judgeRecipient,
  mailRefusalError,
  runExitCode,
  settled,
  smtpStatus,
} from "./policy.ts";
import type { RunOutcome } from "./policy.ts";

Deno.test("smtpStatus: 2yz accepted, 5yz refused, everything else tried again", () => {
  const table: [number, string][] = [
    [250, "accepted"],
    [251, "accepted"],
    [354, "deferred"],
    [421, "deferred"],
    [451, "deferred"],
    [452, "deferred"],
    [550, "rejected"],
    [554, "rejected"],
    [199, "deferred"],
    [600, "deferred"],
  ];
  for (const [code, status] of table) assertEquals(smtpStatus(code), status, String(code));
});

Deno.test("mailRefusalError: 530 and 5.7.0/5.7.11 'authentication required' refuse the session, not the message", () => {
  const table: [number, string | undefined, string, string | undefined][] = [
    [530, "5.7.0", "530 5.7.0 Authentication required", "E_AUTH"],
    [530, "5.7.0", "530 5.7.0 Must issue a STARTTLS command first", "E_AUTH"],
    [530, undefined, "530 SMTP authentication is required.", "E_AUTH"],
    [530, "5.7.57", "530 5.7.57 Client was not authenticated to send anonymous mail", "E_AUTH"],
    [550, "5.7.0", "550 5.7.0 Authentication required", "E_AUTH"],
    [554, "5.7.0", "554 5.7.0 You must authenticate first", "E_AUTH"],
    [550, "5.7.11", "550 5.7.11 Client not authenticated", "E_AUTH"],
    [550, "5.7.0", "550 5.7.0 Sender authentication failed (SPF)", undefined],
    [554, "5.7.0", "554 5.7.0 Reject, id=12345 - spam", undefined],
    [550, "5.7.1", "550 5.7.1 Authentication required", undefined],
    [550, "5.1.8", "550 5.1.8 sender domain does not exist", undefined],
    [451, "4.7.0", "451 4.7.0 Authentication required", undefined],
    [250, "2.1.0", "250 2.1.0 Ok", undefined],
  ];
  for (const [code, enhanced, text, expected] of table) {
    assertEquals(mailRefusalError({ code, enhanced, text }), expected, text);
  }
});

Deno.test("httpErrorCode: the transmissions API's statuses", () => {
  const table: [number, string][] = [
    [401, "E_AUTH"],
    [403, "E_AUTH"],
    [408, "E_TEMPFAIL"],
    [420, "E_TEMPFAIL"],
    [429, "E_TEMPFAIL"],
    [500, "E_TEMPFAIL"],
    [503, "E_TEMPFAIL"],
    [301, "E_CONFIG"],
    [404, "E_CONFIG"],
    [405, "E_CONFIG"],
    [400, "E_RCPT_REJECTED"],
    [413, "E_RCPT_REJECTED"],
    [422, "E_RCPT_REJECTED"],
  ];
  for (const [status, code] of table) assertEquals(httpErrorCode(status), code, String(status));
});

Deno.test("judgeRecipient: a lost reply is sent again, unless at-most-once", () => {
  assertEquals(judgeRecipient("deferred", true, "at-least-once"), {
    action: "retry",
    afterMs: 0,
    maybeSent: true,
  });
  assertEquals(judgeRecipient("deferred", true, "at-most-once"), {
    action: "final",
    status: "uncertain",
  });
  for (const guarantee of ["at-least-once", "at-most-once"] as const) {
    assertEquals(judgeRecipient("deferred", false, guarantee), {
      action: "retry",
      afterMs: 0,
      maybeSent: false,
    });
    assertEquals(judgeRecipient("accepted", false, guarantee), {
      action: "final",
      status: "accepted",
    });
    assertEquals(judgeRecipient("rejected", false, guarantee), {
      action: "final",
      status: "rejected",
    });
  }
});

Deno.test("judgeError: stop, retry after Retry-After, or refuse the message", () => {
  for (const code of ["E_AUTH", "E_CONFIG", "E_USAGE", "E_TLS", "E_OUTPUT"] as const) {
    assertEquals(judgeError(new SmimeError(code, "x")), { action: "stop" }, code);
  }
  assertEquals(judgeError(new TypeError("a bug")), { action: "stop" });
  assertEquals(judgeError(new SmimeError("E_UNAVAILABLE", "refused")), {
    action: "retry",
    afterMs: 0,
    maybeSent: false,
  });
  const busy = new HttpError("E_TEMPFAIL", "SparkPost API 429: slow down", {
    status: 429,
    retryAfterMs: 30_000,
  });
  assertEquals(judgeError(busy), { action: "retry", afterMs: 30_000, maybeSent: false });
  assertEquals(judgeError(new SmimeError("E_RCPT_REJECTED", "422")), {
    action: "final",
    status: "rejected",
  });
});

Deno.test("givenUp and settled: what a run leaves for --resume", () => {
  assertEquals(givenUp({ action: "retry", afterMs: 0, maybeSent: false }), "failed");
  assertEquals(givenUp({ action: "retry", afterMs: 0, maybeSent: true }), "uncertain");
  assertEquals(settled("accepted", "at-least-once"), true);
  assertEquals(settled("rejected", "at-least-once"), true);
  assertEquals(settled("failed", "at-most-once"), false);
  assertEquals(settled("uncertain", "at-least-once"), false);
  assertEquals(settled("uncertain", "at-most-once"), true);
});

Deno.test("runExitCode: 0, 3, the connection's status, the seal error's, 75, 65", () => {
  const run = (patch: Partial<RunOutcome> & { r?: Partial<RunOutcome["recipients"]> }) => ({
    messages: { accepted: 0, partial: 0, failed: 0, ...patch.messages },
    recipients: { accepted: 0, rejected: 0, failed: 0, uncertain: 0, ...patch.r },
    unsealed: patch.unsealed ?? {},
    transportFailure: patch.transportFailure,
  });
  assertEquals(runExitCode(run({ messages: { accepted: 2, partial: 0, failed: 0 } })), 0);
  assertEquals(
    runExitCode(run({ messages: { accepted: 1, partial: 0, failed: 1 }, r: { accepted: 1 } })),
    3,
  );
  const refused = { code: "E_UNAVAILABLE" as const, reason: "connection refused" };
  assertEquals(
    runExitCode(
      run({
        messages: { accepted: 0, partial: 0, failed: 2 },
        r: { failed: 2 },
        transportFailure: refused,
      }),
    ),
    69,
  );
  assertEquals(
    runExitCode(
      run({ messages: { accepted: 0, partial: 0, failed: 2 }, unsealed: { E_CERT_NOT_FOUND: 2 } }),
    ),
    67,
  );
  assertEquals(
    runExitCode(run({ messages: { accepted: 0, partial: 0, failed: 1 }, r: { uncertain: 1 } })),
    75,
  );
  assertEquals(
    runExitCode(run({ messages: { accepted: 0, partial: 0, failed: 1 }, r: { rejected: 2 } })),
    65,
  );
});
