import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertSmimeError } from "../../../tests/support/assert.ts";
import { countInputs, readInputs } from "./mod.ts";
import { drain, makeTree, streamOf } from "./test_helpers.ts";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
const MBOX = join(FIXTURES, "batch/statements.mbox");
const MANIFEST = join(FIXTURES, "batch/manifest.jsonl");
const MBOX_TEXT =
  "From a Sat Dec  5 10:00:00 2026\nSubject: one\n\nFrom b Sat Dec  5 10:00:01 2026\nSubject: two\n";

Deno.test("readInputs() yields paths, then mboxes, then manifests, and countInputs() agrees", async () => {
  const root = await makeTree({ "one.eml": "1", "box/b.eml": "b", "box/a.eml": "a" });
  try {
    const paths = [join(root, "one.eml"), join(root, "box"), join(root, "missing.eml")];
    const options = { mbox: [MBOX], manifest: [MANIFEST] };
    const items = await drain(readInputs(paths, options));
    assertEquals(items.map((i) => i.key), [
      join(root, "one.eml"),
      join(root, "box/a.eml"),
      join(root, "box/b.eml"),
      join(root, "missing.eml"),
      `mbox:${MBOX}#1`,
      `mbox:${MBOX}#2`,
      `mbox:${MBOX}#3`,
      `manifest:${MANIFEST}#2`,
      `manifest:${MANIFEST}#3`,
      `manifest:${MANIFEST}#5`,
    ]);
    assertEquals(items.filter((i) => i.error).map((i) => i.label), [join(root, "missing.eml")]);
    assertEquals(await countInputs(paths, options), items.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test('readInputs() reads "-" as one whole message from stdin', async () => {
  const stdin = streamOf("Subject: hi\n\nFrom me\n", 2);
  const items = await drain(readInputs(["-"], { stdin }));
  assertEquals(items, [{ key: "stdin", label: "<stdin>", text: "Subject: hi\n\nFrom me\n" }]);
  assertEquals(await countInputs(["-"]), 1);
});

Deno.test("readInputs() reads --mbox - and --manifest - from stdin", async () => {
  const mbox = await drain(readInputs([], { mbox: ["-"], stdin: streamOf(MBOX_TEXT) }));
  assertEquals(mbox.map((i) => [i.key, i.label, i.text]), [
    ["mbox:-#1", "<stdin> message 1", "Subject: one\n"],
    ["mbox:-#2", "<stdin> message 2", "Subject: two\n"],
  ]);
  const file = join(FIXTURES, "messages/plain_lf.eml");
  const stdin = streamOf(`${JSON.stringify({ file, tags: ["t"] })}\n`);
  const listed = await drain(readInputs([], { manifest: ["-"], stdin }));
  assertEquals(listed.map((i) => [i.key, i.label]), [["manifest:-#1", file]]);
  assertEquals(await countInputs([], { mbox: ["-"] }), undefined);
  assertEquals(await countInputs([], { manifest: ["-"] }), undefined);
});

Deno.test("readInputs() refuses two inputs on stdin, and the same file twice (E_USAGE)", async () => {
  await assertSmimeError(() => readInputs(["-"], { mbox: ["-"] }), "E_USAGE");
  await assertSmimeError(() => readInputs([], { mbox: ["-"], manifest: ["-"] }), "E_USAGE");
  await assertSmimeError(() => readInputs(["-", "-"]), "E_USAGE");
  await assertSmimeError(() => countInputs(["-"], { manifest: ["-"] }), "E_USAGE");
  const error = await assertSmimeError(() => readInputs(["a.eml", "./a.eml"]), "E_USAGE");
  assert(error.message.includes("a.eml"));
});

Deno.test("readInputs() ends when the caller returns early", async () => {
  const inputs = readInputs([], { mbox: [MBOX] });
  const first = await inputs.next();
  assert(!first.done && first.value.key === `mbox:${MBOX}#1`);
  assertEquals(await inputs.return(undefined), { done: true, value: undefined });
  assertEquals(await inputs.next(), { done: true, value: undefined });
});
