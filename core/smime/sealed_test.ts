import { assert, assertEquals, assertMatch, assertSmimeError } from "../../tests/support/assert.ts";
import { largeSealedMessage, testKeyStore } from "../../tests/support/helpers.ts";
import { bytesEqual, joinSource } from "../bytes.ts";
import { getHeader, parseMessage } from "../message/mod.ts";
import { sealMessage } from "../pipeline.ts";
import { SealedMessage, sealedMessage, unsealed } from "./sealed.ts";
import type { SealedRecord } from "./sealed.ts";

const encoder = new TextEncoder();
const envelope = {
  sender: "alice@example.com",
  recipients: ["bob@example.com", "Carol@example.net"],
};

Deno.test("unsealed() is seal 'none' and carries the Message-ID its header has, if any", () => {
  const withId = unsealed(encoder.encode("Message-ID: <a@b>\r\nSubject: x\r\n\r\nx\r\n"), envelope);
  assertEquals([withId.seal, withId.isSealed, withId.messageId], ["none", false, "<a@b>"]);
  assertEquals([withId.sender, withId.recipients], [envelope.sender, envelope.recipients]);
  const without = unsealed(encoder.encode("Subject: x\r\n\r\nx\r\n"), envelope);
  assertEquals(without.messageId, undefined);
  // As is: even bytes that are no message at all.
  assertEquals(
    unsealed(new Uint8Array([0xff, 0x0a]), envelope).bytes,
    new Uint8Array([0xff, 0x0a]),
  );
});

Deno.test("sealedMessage() of a plain entity is 'none', its Message-ID read from the outer headers", () => {
  const outer =
    parseMessage(encoder.encode("Message-ID: <m@x>\r\nSubject: y\r\n\r\n"), "m").headers;
  const entity = encoder.encode("Content-Type: text/plain\r\n\r\nhi\r\n");
  const message = sealedMessage(outer, { stage: "plain", entity }, envelope);
  assertEquals([message.seal, message.messageId], ["none", "<m@x>"]);
  assertEquals(
    new TextDecoder().decode(message.bytes),
    "Message-ID: <m@x>\r\nSubject: y\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
  );
});

Deno.test("SealedMessage.forRecipients() keeps bytes, seal and Message-ID, and refuses strangers", () => {
  const message = unsealed(encoder.encode("Message-ID: <a@b>\r\n\r\nx\r\n"), envelope);
  const carol = message.forRecipients(["carol@example.net"]);
  assertEquals([carol.recipients, carol.seal, carol.messageId], [
    ["carol@example.net"],
    "none",
    "<a@b>",
  ]);
  assert(carol.bytes === message.bytes, "the bytes are shared, not copied");
  let thrown: unknown;
  try {
    message.forRecipients(["mallory@example.org"]);
  } catch (err) {
    thrown = err;
  }
  assert(thrown instanceof RangeError, "a stranger is a bug, not a recipient");
});

Deno.test("SealedMessage crosses a structured clone as a versioned record, and only so", () => {
  const message = unsealed(encoder.encode("Message-ID: <a@b>\r\n\r\nx\r\n"), envelope);
  const record = structuredClone(message.toRecord());
  assertEquals(record.version, 1);
  const back = SealedMessage.revive(record);
  assert(back instanceof SealedMessage);
  assertEquals([back.seal, back.messageId, back.sender, back.recipients], [
    "none",
    "<a@b>",
    envelope.sender,
    envelope.recipients,
  ]);
  assertEquals(back.bytes, message.bytes);
  const other = { ...record, version: 2 } as unknown as SealedRecord;
  let refused: unknown;
  try {
    SealedMessage.revive(other);
  } catch (err) {
    refused = err;
  }
  assert(refused instanceof TypeError, "a record of another version is refused");
  let minted: unknown;
  try {
    new SealedMessage(Symbol("SealedMessage") as never, { ...record });
  } catch (err) {
    minted = err;
  }
  assert(minted instanceof TypeError, "the constructor refuses callers without the token");
});

Deno.test("sealMessage() copies carry the seal asked and the Message-ID it added, the same in every copy", async () => {
  const text = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n" +
    "Bcc: carol@example.net\nSubject: no id\n\nHello\n";
  const result = await sealMessage(
    parseMessage(encoder.encode(text), "m.eml"),
    await testKeyStore(),
    {
      sign: true,
      detached: false,
      encrypt: true,
    },
  );
  assertEquals(result.copies.length, 2, "the Bcc recipient gets a copy of its own");
  assertMatch(result.messageId, /^<[0-9a-f]{32}@example\.com>$/);
  for (const copy of result.copies) {
    assertEquals(copy.seal, "signed+encrypted");
    assertEquals(copy.messageId, result.messageId);
    assertEquals(
      getHeader(parseMessage(copy.bytes, "copy"), "Message-ID")?.value,
      result.messageId,
    );
  }
  const given = await sealMessage(
    parseMessage(encoder.encode(`Message-ID: <kept@example.com>\n${text}`), "m.eml"),
    await testKeyStore(),
    { sign: false, detached: false, encrypt: false },
  );
  assertEquals(given.messageId, "<kept@example.com>");
  assertEquals(given.copies.map((c) => [c.seal, c.messageId]), [["none", "<kept@example.com>"]]);
});

Deno.test("a large sealed message is streamed: its source gives the bytes, the same at every read", async () => {
  const message = await largeSealedMessage();
  const source = message.source;
  assert(source !== undefined, "a message over 1 MB comes as a source");
  assert(source.isAscii, "an encrypted message with ASCII headers is 7-bit");
  assertEquals(message.size, source.size);
  const first = joinSource(source);
  const again = joinSource(source);
  assert(bytesEqual(first, again), "each read makes the same bytes (same key and IV)");
  assert(message.source !== undefined, "reading the source does not build the message");
  // The record keeps the source on this thread; revived, it is still streamed.
  const revived = SealedMessage.revive(message.toRecord());
  assert(revived.source === source, "revived on the same thread: the source, not built bytes");
  assert(message.source !== undefined, "making the record did not build the message");
  assertEquals([revived.seal, revived.messageId], [message.seal, message.messageId]);
  assert(message.forRecipients(["bob@example.com"]).source === source, "a retry streams too");
  // A clone (another thread) reads the record's bytes: they are built then.
  const cloned = SealedMessage.revive(structuredClone(message.toRecord()));
  assertEquals(cloned.source, undefined);
  assert(bytesEqual(cloned.bytes, first), "the clone carries the same bytes");
  assert(bytesEqual(message.bytes, first), "bytes built from the source are the source's");
  assertEquals(message.source, undefined, "once built, the message is held whole");
});

Deno.test("sealMessage() refuses a redirected message (Resent-To) unless the recipients are given", async () => {
  const keys = await testKeyStore();
  const message = parseMessage(
    encoder.encode(
      "Resent-From: alice@example.com\r\nResent-To: carol@example.net\r\n" +
        "From: erin@example.com\r\nTo: bob@example.com\r\nSubject: redirected\r\n\r\nbody\r\n",
    ),
    "redirected.eml",
  );
  const refused = await assertSmimeError(
    () => sealMessage(message, keys, { sign: false, detached: false, encrypt: true }),
    "E_MESSAGE",
  );
  assertMatch(refused.message, /redirected\.eml: it is a redirected message \(Resent-To\)/);
  const named = await sealMessage(message, keys, {
    sign: false,
    detached: false,
    encrypt: true,
    recipients: ["carol@example.net"],
  });
  assertEquals(named.copies[0]!.recipients, ["carol@example.net"]);
});

Deno.test("sealMessage(): many recipients without a certificate make one readable line", async () => {
  const keys = await testKeyStore();
  const to = Array.from({ length: 60 }, (_, i) => `r${i}@example.com`).join(",\r\n ");
  const message = parseMessage(
    encoder.encode(`From: alice@example.com\r\nTo: ${to}\r\nSubject: x\r\n\r\nbody\r\n`),
    "many.eml",
  );
  const { message: text } = await assertSmimeError(
    () => sealMessage(message, keys, { sign: false, detached: false, encrypt: true }),
    "E_CERT_NOT_FOUND",
  );
  assertMatch(text, /Cannot encrypt to 60 recipients: .*r4@example\.com.*; and 55 more \(r5@/);
  assert(text.length < 2000, `${text.length} characters`);
  assert(!text.includes("\n"));
});

Deno.test("sealMessage() removes a DKIM-Signature (and ARC) the sealing would break, with a warning", async () => {
  const keys = await testKeyStore();
  const message = parseMessage(
    encoder.encode(
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=from:to; bh=abc=; b=def=\r\n" +
        "ARC-Seal: i=1; a=rsa-sha256; d=example.com; s=s1; cv=none; b=ghi=\r\n" +
        "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: x\r\n\r\nbody\r\n",
    ),
    "dkim.eml",
  );
  const sealed = await sealMessage(message, keys, { sign: true, detached: false, encrypt: false });
  const text = new TextDecoder().decode(sealed.copies[0]!.bytes);
  assert(!/^(DKIM-Signature|ARC-Seal):/im.test(text), text.slice(0, 300));
  assert(text.includes("\r\nSubject: x\r\n"));
  assertEquals(
    sealed.warnings.filter((w) => w.startsWith("removed DKIM-Signature, ARC-Seal from the message"))
      .length,
    1,
  );
});

Deno.test("sealMessage() keeps a DKIM-Signature on a message it neither signs nor encrypts", async () => {
  const keys = await testKeyStore();
  const message = parseMessage(
    encoder.encode(
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=from:to; bh=abc=; b=def=\r\n" +
        "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: x\r\n\r\nbody\r\n",
    ),
    "dkim.eml",
  );
  const sent = await sealMessage(message, keys, { sign: false, detached: false, encrypt: false });
  assert(new TextDecoder().decode(sent.copies[0]!.bytes).startsWith("DKIM-Signature: v=1;"));
  assertEquals(sent.warnings, []);
});
