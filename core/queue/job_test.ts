import { assert, assertEquals, assertMatch, assertSmimeError } from "../../tests/support/assert.ts";
import { decodeRecord, encodeRecord, inputOf, prepareJob } from "./job.ts";
import type { BatchInput } from "../batch/sources/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function input(text: string, extra: Partial<BatchInput> = {}): BatchInput {
  return { key: "a.eml", label: "a.eml", bytes: encoder.encode(text), ...extra };
}

const WITH_ID = "From: alice@example.com\r\nTo: bob@example.com\r\n" +
  "Message-ID: <one@example.com>\r\nSubject: hi\r\n\r\nbody\r\n";
const WITHOUT_ID = "From: Alice <alice@example.com>\nTo: bob@example.com\nSubject: hi\n\nbody\n";

Deno.test("prepareJob() uses the Message-ID as the job id and leaves the bytes alone", () => {
  const job = prepareJob(input(WITH_ID));
  assertEquals(job.record, { v: 1, id: "<one@example.com>", label: "a.eml" });
  assertEquals(decoder.decode(job.bytes), WITH_ID);
  assertEquals(job.addedMessageId, false);
});

Deno.test("prepareJob() gives a message without Message-ID the same derived one every time", () => {
  const a = prepareJob(input(WITHOUT_ID));
  const b = prepareJob(input(WITHOUT_ID));
  assertEquals(a.record.id, b.record.id);
  assertMatch(a.record.id, /^<[0-9a-f]{32}@example\.com>$/);
  assert(a.addedMessageId);
  // The new field comes first, with the message's own line end; the rest is as it was.
  assertEquals(decoder.decode(a.bytes), `Message-ID: ${a.record.id}\n${WITHOUT_ID}`);
  const crlf = prepareJob(input(WITHOUT_ID.replaceAll("\n", "\r\n")));
  assert(decoder.decode(crlf.bytes).startsWith(`Message-ID: ${crlf.record.id}\r\nFrom:`));
  assert(crlf.record.id !== a.record.id, "other bytes, other id");
  const other = prepareJob(input(WITHOUT_ID.replace("body", "other body")));
  assert(other.record.id !== a.record.id);
});

Deno.test("prepareJob() puts the new Message-ID after an mbox From_ line", () => {
  const text = `From alice@example.com Thu Dec  4 10:00:00 2025\n${WITHOUT_ID}`;
  const job = prepareJob(input(text));
  const lines = decoder.decode(job.bytes).split("\n");
  assertEquals(lines[0], "From alice@example.com Thu Dec  4 10:00:00 2025");
  assertEquals(lines[1], `Message-ID: ${job.record.id}`);
});

Deno.test("prepareJob() tells apart one message sent to two manifest envelopes", () => {
  const plain = prepareJob(input(WITH_ID));
  const toCarol = prepareJob(input(WITH_ID, { recipients: ["carol@example.net"] }));
  const toDave = prepareJob(input(WITH_ID, { recipients: ["dave@example.net"] }));
  const toCarolAgain = prepareJob(input(WITH_ID, { recipients: ["carol@example.net"] }));
  assertMatch(toCarol.record.id, /^<one@example\.com> [0-9a-f]{16}$/);
  assert(toCarol.record.id !== toDave.record.id);
  assert(toCarol.record.id !== plain.record.id);
  assertEquals(toCarol.record.id, toCarolAgain.record.id);
  assertEquals(toCarol.record.recipients, ["carol@example.net"]);
  const fields = prepareJob(input(WITH_ID, { fields: { campaign_id: "c1" } }));
  assertEquals(fields.record.fields, { campaign_id: "c1" });
});

Deno.test("prepareJob() queues what is not a message as it is, under a digest", () => {
  const job = prepareJob(input("\x00\x01 not mail"));
  assertMatch(job.record.id, /^<[0-9a-f]{32}@smimepost\.invalid>$/);
  assertEquals(decoder.decode(job.bytes), "\x00\x01 not mail");
});

Deno.test("decodeRecord() reads what encodeRecord() wrote and refuses other versions", async () => {
  const job = prepareJob(input(WITH_ID, { sender: "bounce@example.com" }));
  const record = decodeRecord(encodeRecord(job.record), "job 1");
  assertEquals(record, job.record);
  assertEquals(inputOf(record, job.bytes), {
    key: job.record.id,
    label: "a.eml",
    bytes: job.bytes,
    sender: "bounce@example.com",
  });
  await assertSmimeError(() => decodeRecord(undefined, "job 1"), "E_INPUT");
  await assertSmimeError(() => decodeRecord("{", "job 1"), "E_INPUT");
  const newer = JSON.stringify({ ...job.record, v: 2 });
  const err = await assertSmimeError(() => decodeRecord(newer, "job 7"), "E_INPUT");
  assertEquals(err.message, "job 7: job version 2 is newer than this worker (1)");
});
