import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertSmimeError } from "../../../tests/support/assert.ts";
import { openFileChunks } from "./chunks.ts";
import { InputError, readInputs } from "./mod.ts";
import { countManifest, parseManifestLine, readManifest } from "./manifest.ts";
import { collect, drain, makeTree, streamOf } from "./test_helpers.ts";

const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
const MANIFEST = join(FIXTURES, "batch/manifest.jsonl");

Deno.test("readManifest() resolves files against the manifest's folder and applies overrides", async () => {
  const items = [];
  for await (const item of readManifest({ path: MANIFEST })) items.push(item);
  assertEquals(items.map((i) => [i.key, i.label]), [
    [`manifest:${MANIFEST}#2`, join(FIXTURES, "messages/plain_lf.eml")],
    [`manifest:${MANIFEST}#3`, join(FIXTURES, "messages/plain_crlf.eml")],
    [`manifest:${MANIFEST}#5`, join(FIXTURES, "messages/utf8_body.eml")],
  ]);
  const [first, second, third] = items.map((i) => {
    assert(!(i instanceof InputError));
    return i;
  });
  assertEquals(first!.bytes, await Deno.readFile(join(FIXTURES, "messages/plain_lf.eml")));
  assertEquals([first!.sender, first!.recipients, first!.fields], [
    undefined,
    undefined,
    undefined,
  ]);
  assertEquals(second!.recipients, ["carol@example.net"]);
  assertEquals(second!.fields, { campaign_id: "statements-2025-03", tags: ["statement", "march"] });
  assertEquals(third!.sender, "bounces@example.com");
  assertEquals(third!.recipients, ["bob@example.com", "dave@example.org"]);
  assertEquals(third!.fields, {
    metadata: { account: "0001" },
    virtual_mta: "vmta-statements",
    job: "march-run",
    binding: "statements",
  });
  assertEquals(await countManifest({ path: MANIFEST }), 3);
});

Deno.test("parseManifestLine() says what is wrong with a line", () => {
  const reason = (line: string) => {
    const parsed = parseManifestLine(line);
    return "reason" in parsed ? parsed.reason : undefined;
  };
  assertEquals(reason('{"fiel": "a.eml"}'), 'unknown key "fiel" (did you mean "file"?)');
  assertEquals(reason('{"file": "a.eml", "x": 1, "y": 2}'), 'unknown keys "x", "y"');
  assertEquals(reason('{"file": "a.eml"'), "not JSON");
  assertEquals(reason('["a.eml"]'), "not a JSON object");
  assertEquals(reason('{"to": "bob@example.com"}'), '"file" is required: the message file');
  assertEquals(reason('{"file": ""}'), '"file" must not be empty');
  assert(reason('{"file": "a.eml", "to": 3}')?.startsWith('"to" must be an address'));
  assertEquals(reason('{"file": "a.eml", "to": []}'), '"to" must list at least one address');
  assert(reason('{"file": "a.eml", "to": "bob@example.com\\r\\nDATA"}')?.startsWith('"to"'));
  assert(reason('{"file": "a.eml", "from": "a b@example.com"}')?.startsWith('"from"'));
  assertEquals(
    reason('{"file": "a.eml", "virtual_mta": "pool 1"}'),
    '"virtual_mta" must be visible ASCII without spaces',
  );
  assertEquals(
    reason('{"file": "a.eml", "job": ""}'),
    '"job" must be visible ASCII without spaces',
  );
  assertEquals(reason('{"file": "a.eml", "metadata": [1]}'), '"metadata" must be a JSON object');
  assertEquals(reason('{"file": "a.eml", "tags": [1]}'), '"tags.0" must be a string');
  assertEquals(reason('{"file": "a.eml", "from": ""}'), undefined);
});

Deno.test("readInputs() names the manifest line of each error and goes on past it", async () => {
  const root = await makeTree({
    "run/a.eml": "a",
    "run/sub/b.eml": "b",
    "run/manifest.jsonl": [
      '{"file": "a.eml"}',
      '{"fiel": "a.eml"}',
      "not json",
      '{"file": "missing.eml"}',
      "",
      '{"file": "sub/b.eml", "to": "bob@example.com"}',
    ].join("\r\n"),
  });
  const manifest = join(root, "run/manifest.jsonl");
  try {
    // A tiny chunk size splits lines across reads, and across each reopening after an error.
    const items = await collect(readManifest({ path: manifest, chunkSize: 5 }));
    assertEquals(items, await drain(readInputs([], { manifest: [manifest] })));
    assertEquals(
      items.map((i) => [i.key.slice(`manifest:${manifest}`.length), i.error ?? i.text]),
      [
        ["#1", "a"],
        ["#2", `Cannot read ${manifest} line 2: unknown key "fiel" (did you mean "file"?)`],
        ["#3", `Cannot read ${manifest} line 3: not JSON`],
        [
          "#4",
          `Cannot read ${join(root, "run/missing.eml")}: no such file (${manifest} line 4)`,
        ],
        ["#6", "b"],
      ],
    );
    assertEquals(await countManifest({ path: manifest }), 5);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readManifest() closes the manifest while an error is out, so stopping there leaks nothing", async () => {
  const root = await makeTree({
    "a.eml": "a",
    "m.jsonl": '{"file": "gone.eml"}\n{"file": "a.eml"}\n{"file": "gone.eml"}\n',
  });
  let open = 0;
  const openFile: typeof openFileChunks = async (...args) => {
    const reader = await openFileChunks(...args);
    open++;
    return {
      read: () => reader.read(),
      close() {
        reader.close();
        open--;
      },
    };
  };
  try {
    const items = readManifest({ path: join(root, "m.jsonl"), openFile });
    const opens: number[] = [];
    const keys: string[] = [];
    for await (const item of items) {
      opens.push(open);
      keys.push(item instanceof InputError ? `error ${item.key}` : item.key);
    }
    const m = `manifest:${join(root, "m.jsonl")}`;
    assertEquals(keys, [`error ${m}#1`, `${m}#2`, `error ${m}#3`]);
    assertEquals(opens, [0, 1, 0]);
    assertEquals(open, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readInputs() rejects with the manifest line's key and label", async () => {
  const root = await makeTree({ "m.jsonl": '{"file": "gone.eml"}\n' });
  try {
    const error = await assertSmimeError(async () => {
      for await (const _ of readInputs([], { manifest: [join(root, "m.jsonl")] })) {
        // never reached
      }
    }, "E_INPUT");
    assert(error instanceof InputError);
    assertEquals(error.key, `manifest:${join(root, "m.jsonl")}#1`);
    assertEquals(error.label, join(root, "gone.eml"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readManifest() reads stdin, with files relative to the working folder", async () => {
  const file = join(FIXTURES, "messages/plain_lf.eml");
  const stream = streamOf(
    `# comment\n${JSON.stringify({ file })}\n{"oops": 1}\n${JSON.stringify({ file })}`,
    4,
  );
  const items = await collect(readManifest({ path: "-", stream }));
  assertEquals(items.map((i) => [i.key, i.label, i.error === undefined]), [
    ["manifest:-#2", file, true],
    ["manifest:-#3", "<stdin> line 3", false],
    ["manifest:-#4", file, true],
  ]);
});

Deno.test("readManifest() yields one error for a missing manifest", async () => {
  const items = await collect(readManifest({ path: "nowhere/manifest.jsonl" }));
  assertEquals(items, [{
    key: "manifest:nowhere/manifest.jsonl",
    label: "nowhere/manifest.jsonl",
    error: "Cannot read nowhere/manifest.jsonl: no such file",
  }]);
  assertEquals(await countManifest({ path: "nowhere/manifest.jsonl" }), 1);
});
