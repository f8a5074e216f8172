import { assert } from "../../../tests/support/assert.ts";
import { isFromLine, MAX_FROM_LINE } from "./from_line.ts";

const encoder = new TextEncoder();

/** From_ lines as mbox writers produce them. */
const FROM_LINES = [
  "From alice@example.com Sat Dec  5 10:00:00 2026", // RFC 4155, Python's mailbox, smimepost
  "From MAILER-DAEMON Sat Dec  5 10:00:00 2026",
  "From - Sat Dec 05 10:00:00 2026", // Thunderbird
  "From 1786527465148062123@xxx Sat Dec 05 10:00:00 +0000 2026", // Gmail Takeout
  "From alice@example.com Sat Dec  5 10:00:00 2026\n",
  "From alice@example.com Sat Dec  5 10:00:00 2026\r\n",
  "From alice@example.com Sat Dec  5 10:00:00 2026 \n",
  "From alice@example.com Sat Dec 5 10:00:00 2026",
  "From alice@example.com  Sat Dec  5 10:00:00 2026",
  "From alice@example.com Sat Dec  5 10:00 2026",
  "From alice@example.com Sat Dec  5 10:00:00 PST 2026",
  "From alice@example.com Sat Dec  5 10:00:00 MET DST 2026",
  "From alice@example.com Sat Dec  5 10:00:00 2026 -0800",
  "From alice@example.com Sat Dec  5 10:00:00 26",
  "From uucp!alice Sat Dec  5 10:00:00 2026 remote from gateway",
  "From alice@example.com SAT DEC  5 10:00:00 2026",
  "From alice at example.com Sat Dec  5 10:00:00 2026", // pipermail
  'From "alice smith"@example.com Sat Dec  5 10:00:00 2026',
  "From Sat Dec  5 10:00:00 2026", // no sender
  "From alice@example.com Sat, 5 Dec 2026 10:00:00 +0000",
  "From alice@example.com Sat, 05 Dec 2026 10:00:00 GMT",
];

/** Body lines that start "From " and are no From_ line. */
const BODY_LINES = [
  "From the desk of Alice:",
  "From the desk of Alice: this paragraph is lost\n",
  "From alice@example.com",
  "From alice@example.com\n",
  "From here on, statements come monthly.",
  "From Monday to Friday, 9:00 to 17:00, 2026",
  "From alice@example.com Sat Dec  5 2026",
  "From alice@example.com Dec  5 10:00:00 2026",
  "From alice@example.com Sat Dec  5 10:00:00",
  "From alice@example.com Sat Dec  5 10:00:00 2026 and more",
  "From alice and bob Sat Dec  5 10:00:00 2026",
  "from alice@example.com Sat Dec  5 10:00:00 2026",
  ">From alice@example.com Sat Dec  5 10:00:00 2026",
  "From:alice@example.com Sat Dec  5 10:00:00 2026",
  "",
  "\n",
];

Deno.test("isFromLine() accepts the From_ lines of RFC 4155 and of real mbox writers", () => {
  for (const line of FROM_LINES) assert(isFromLine(encoder.encode(line)), line);
});

Deno.test('isFromLine() refuses body text that starts with "From "', () => {
  for (const line of BODY_LINES) assert(!isFromLine(encoder.encode(line)), line);
});

Deno.test("isFromLine() refuses a line longer than MAX_FROM_LINE", () => {
  const sender = "a".repeat(MAX_FROM_LINE) + "@example.com";
  assert(!isFromLine(encoder.encode(`From ${sender} Sat Dec  5 10:00:00 2026\n`)));
});
