import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { countMbox, MboxSplitter, NotMboxError, readMbox } from "./mbox.ts";
import { collect } from "./test_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FIXTURE = fileURLToPath(new URL("../../../fixtures/batch/statements.mbox", import.meta.url));

/** Splits `text` pushed `size` bytes at a time. */
function split(text: string, size: number): string[] {
  const bytes = encoder.encode(text);
  const splitter = new MboxSplitter();
  const messages: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    // A fresh copy each time, then scribbled over: the splitter must copy what it keeps.
    const chunk = bytes.slice(at, at + size);
    messages.push(...splitter.push(chunk));
    chunk.fill(0);
  }
  messages.push(...splitter.end());
  return messages.map((m) => decoder.decode(m));
}

function count(text: string, size: number): number {
  const bytes = encoder.encode(text);
  const splitter = new MboxSplitter(true);
  for (let at = 0; at < bytes.length; at += size) splitter.push(bytes.subarray(at, at + size));
  splitter.end();
  return splitter.count;
}

const LF_MBOX = [
  "From alice@example.com Mon Mar  3 09:00:00 2025",
  "Subject: one",
  "",
  ">From the top",
  ">>From quoted",
  "From here on, a body line (not after an empty line)",
  "",
  "From bob@example.com Mon Mar  3 09:00:01 2025",
  "Subject: two",
  "",
  "",
  "last line",
  "",
].join("\n");

const LF_MESSAGES = [
  "Subject: one\n\nFrom the top\n>From quoted\nFrom here on, a body line (not after an empty line)\n",
  "Subject: two\n\n\nlast line\n",
];

Deno.test("MboxSplitter splits an LF mbox the same at every chunk size", () => {
  for (let size = 1; size <= LF_MBOX.length; size++) {
    assertEquals(split(LF_MBOX, size), LF_MESSAGES, `chunk size ${size}`);
    assertEquals(count(LF_MBOX, size), 2, `count, chunk size ${size}`);
  }
});

Deno.test("MboxSplitter keeps CRLF line ends and splits a CRLF mbox at every chunk size", () => {
  const crlf = LF_MBOX.replaceAll("\n", "\r\n");
  const expected = LF_MESSAGES.map((m) => m.replaceAll("\n", "\r\n"));
  for (let size = 1; size <= crlf.length; size += size < 64 ? 1 : 17) {
    assertEquals(split(crlf, size), expected, `chunk size ${size}`);
    assertEquals(count(crlf, size), 2, `count, chunk size ${size}`);
  }
});

const MBOXO = [
  "From alice@example.com Sat Dec  5 10:00:00 2026",
  "Subject: one",
  "",
  "Dear Bob,",
  "",
  "From the desk of Alice: this paragraph is kept",
  "and this line too",
  "",
  "From - Sat Dec 05 10:00:01 2026",
  "Subject: two",
  "",
  "From Monday to Friday, 9:00 to 17:00",
  "",
  "From 1786527465148062123@xxx Sat Dec 05 10:00:02 +0000 2026",
  "Subject: three",
  "",
  "last",
  "",
].join("\n");

const MBOXO_MESSAGES = [
  "Subject: one\n\nDear Bob,\n\nFrom the desk of Alice: this paragraph is kept\nand this line too\n",
  "Subject: two\n\nFrom Monday to Friday, 9:00 to 17:00\n",
  "Subject: three\n\nlast\n",
];

Deno.test('MboxSplitter splits only at From_ lines: an mboxo body\'s "From the desk of" stays', () => {
  for (let size = 1; size <= MBOXO.length; size++) {
    assertEquals(split(MBOXO, size), MBOXO_MESSAGES, `chunk size ${size}`);
    assertEquals(count(MBOXO, size), 3, `count, chunk size ${size}`);
  }
  const crlf = MBOXO.replaceAll("\n", "\r\n");
  const expected = MBOXO_MESSAGES.map((m) => m.replaceAll("\n", "\r\n"));
  assertEquals(split(crlf, 3), expected);
  assertEquals(count(crlf, 3), 3);
});

Deno.test("MboxSplitter counts the same as it splits past a line too long to be a From_ line", () => {
  const long = `From ${"a".repeat(2000)} Sat Dec  5 10:00:00 2026`;
  const text = `From a Sat Dec  5 10:00:00 2026\nSubject: x\n\n${long}\n`;
  assertEquals(split(text, 7), [`Subject: x\n\n${long}\n`]);
  assertEquals(count(text, 7), 1);
});

Deno.test("MboxSplitter yields no message for an empty mbox", () => {
  assertEquals(split("", 4), []);
  assertEquals(split("\n\r\n\n", 1), []);
  assertEquals(count("", 4), 0);
});

Deno.test("MboxSplitter keeps a last line without a line end, and skips leading empty lines", () => {
  assertEquals(split("\nFrom a\nSubject: x\n\nno end", 2), ["Subject: x\n\nno end"]);
});

Deno.test('MboxSplitter takes any first line starting "From " as the first From_ line', () => {
  // Only later "From " lines can be body text; the first one starts the file.
  assertEquals(split("From the desk\nSubject: x\n\nbody\n", 4), ["Subject: x\n\nbody\n"]);
  assertEquals(count("From the desk\nSubject: x\n\nbody\n", 4), 1);
});

Deno.test("MboxSplitter refuses input whose first line is not a From_ line", () => {
  const splitter = new MboxSplitter();
  let error: unknown;
  try {
    splitter.push(encoder.encode("Subject: not an mbox\n"));
  } catch (err) {
    error = err;
  }
  assert(error instanceof NotMboxError);
});

Deno.test("readMbox() streams a file in tiny chunks with keys and labels", async () => {
  const items = await collect(readMbox({ path: FIXTURE, chunkSize: 7 }));
  assertEquals(items.map((i) => [i.key, i.label]), [
    [`mbox:${FIXTURE}#1`, `${FIXTURE} message 1`],
    [`mbox:${FIXTURE}#2`, `${FIXTURE} message 2`],
    [`mbox:${FIXTURE}#3`, `${FIXTURE} message 3`],
  ]);
  const second = items[1]!.text!;
  assert(second.includes("\nFrom the desk of Alice"), second);
  assert(second.includes("\n>From here on, quoted"), second);
  assert(second.endsWith("quoted mboxrd-style.\n"), second);
  const third = items[2]!.text!;
  assert(third.startsWith("From: Alice"), third);
  assert(third.endsWith("Dear Bob,\nFrom February on, statements come monthly.\n"), third);
  assertEquals(await collect(readMbox({ path: FIXTURE })), items);
  assertEquals(await countMbox({ path: FIXTURE, chunkSize: 5 }), 3);
});

Deno.test("readMbox() reads a stream and names it <stdin>", async () => {
  const items = await collect(readMbox({ path: "-", stream: streamOfText(LF_MBOX) }));
  assertEquals(items.map((i) => [i.key, i.label, i.text]), [
    ["mbox:-#1", "<stdin> message 1", LF_MESSAGES[0]],
    ["mbox:-#2", "<stdin> message 2", LF_MESSAGES[1]],
  ]);
});

Deno.test("readMbox() yields one error for a missing file or one that is no mbox", async () => {
  const missing = await collect(readMbox({ path: "no/such.mbox" }));
  assertEquals(missing, [{
    key: "mbox:no/such.mbox",
    label: "no/such.mbox",
    error: "Cannot read no/such.mbox: no such file",
  }]);
  const notMbox = await collect(readMbox({ path: "-", stream: streamOfText("Subject: x\n") }));
  assertEquals(notMbox.length, 1);
  assert(notMbox[0]!.error?.includes("not an mbox"));
  assertEquals(await countMbox({ path: "no/such.mbox" }), 1);
});

function streamOfText(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}
