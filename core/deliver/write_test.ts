import { assert, assertEquals } from "../../tests/support/assert.ts";
import { bytesEqual, concatBytes, joinSource } from "../bytes.ts";
import { largeSealedMessage } from "../../tests/support/helpers.ts";
import { readMbox } from "../batch/sources/mbox.ts";
import { unsealed } from "../smime/sealed.ts";
import { mboxEntry, writeTarget } from "./write.ts";

const encoder = new TextEncoder();

/** Messages whose lines an mbox must quote, and ones it must leave alone. */
const BODIES = [
  "From: a@example.com\r\nTo: b@example.com\r\n\r\nplain\r\n",
  "From: a@example.com\r\n\r\nFrom the bank\r\n>From quoted once\r\n>>From twice\r\n" +
  "From\r\n>From\r\nFromage\r\n\r\nFrom after an empty line\r\n",
  "From: a@example.com\r\n\r\nno line end at the end",
  "From: a@example.com\n\nLF only\nFrom here\n\n",
  "From: a@example.com\r\n\r\n\r\n\r\n",
];

function message(text: string) {
  return unsealed(encoder.encode(text), { sender: "a@example.com", recipients: ["b@example.com"] });
}

Deno.test("mboxEntry: what readMbox reads back is the message, byte for byte", async () => {
  const entries = BODIES.map((text) => mboxEntry(message(text), new Date(0)));
  const stream = ReadableStream.from([concatBytes(entries)]);
  const back: Uint8Array[] = [];
  for await (const item of readMbox({ path: "-", stream, chunkSize: 7 })) {
    assert("bytes" in item, `an error item: ${JSON.stringify(item)}`);
    back.push(item.bytes);
  }
  const decoder = new TextDecoder();
  // The one without a final line end gains one: an mbox entry ends with a line.
  const expected = BODIES.map((t) => t.endsWith("\n") ? t : `${t}\r\n`);
  assertEquals(back.map((b) => decoder.decode(b)), expected);
});

Deno.test("mboxEntry: the From_ line names the envelope sender and the time, asctime-style", () => {
  const entry = new TextDecoder().decode(
    mboxEntry(message(BODIES[1]!), new Date("2026-12-04T09:05:07Z")),
  );
  assert(entry.startsWith("From a@example.com Fri Dec  4 09:05:07 2026\r\n"), entry);
  assert(entry.includes("\r\n>From the bank\r\n>>From quoted once\r\n>>>From twice\r\n"), entry);
  assert(entry.includes("\r\nFrom\r\n>From\r\nFromage\r\n"), "lines that are no From_ line");
});

Deno.test("writeTarget: a folder gets MESSAGE-ID.eml, 0600, a second message with the same ID its own file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-write-" });
  try {
    const transport = writeTarget.create({ kind: "folder", path: dir }, {
      info: () => {},
      warn: () => {},
    });
    const text = "From: a@example.com\r\nMessage-ID: <x/y@example.com>\r\n\r\nbody\r\n";
    for (let i = 0; i < 2; i++) {
      const result = await transport.deliver(message(text));
      assertEquals(result.recipients.map((r) => r.status), ["accepted"]);
    }
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assertEquals(names.sort(), ["x_y@example.com-2.eml", "x_y@example.com.eml"]);
    const info = await Deno.stat(`${dir}/x_y@example.com.eml`);
    assertEquals(info.mode! & 0o777, 0o600);
    assertEquals(await Deno.readTextFile(`${dir}/x_y@example.com-2.eml`), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTarget: a file holds one message; a second is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-write-" });
  try {
    const transport = writeTarget.create({ kind: "file", path: `${dir}/one.eml` }, {
      info: () => {},
      warn: () => {},
    });
    await transport.deliver(message(BODIES[0]!));
    let refused = false;
    await transport.deliver(message(BODIES[0]!)).catch(() => refused = true);
    assert(refused, "a second message overwrote the first");
    assertEquals(await Deno.readTextFile(`${dir}/one.eml`), BODIES[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTarget: a large message goes to the file piece by piece, never built, the same bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-write-" });
  try {
    const large = await largeSealedMessage();
    const transport = writeTarget.create({ kind: "file", path: `${dir}/large.eml` }, {
      info: () => {},
      warn: () => {},
    });
    await transport.deliver(large);
    assert(large.source !== undefined, "writing it built the whole message");
    const written = await Deno.readFile(`${dir}/large.eml`);
    assert(bytesEqual(written, joinSource(large.source)), "the file differs from the message");
    assertEquals((await Deno.stat(`${dir}/large.eml`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
