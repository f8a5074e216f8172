import { join } from "node:path";
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { readInputs } from "./mod.ts";
import { countPath, normalisePath, readPath } from "./files.ts";
import { collect, drain, makeTree } from "./test_helpers.ts";

Deno.test("normalisePath() drops ./, doubled and trailing separators", () => {
  assertEquals(normalisePath("./statements//0001.eml"), "statements/0001.eml");
  assertEquals(normalisePath("statements/"), "statements");
  assertEquals(normalisePath("a/../b.eml"), "b.eml");
  assertEquals(normalisePath("/"), "/");
});

Deno.test("readInputs() yields files as given, then folders' *.eml files sorted by path", async () => {
  const root = await makeTree({
    "single.txt": "single",
    "box/b.eml": "b",
    "box/a.eml": "a",
    "box/a/z.eml": "a/z",
    "box/a/notes.txt": "ignored",
    "box/a/deeper/x.eml": "a/deeper/x",
    "box/a-b.eml": "a-b",
    "box/empty/readme.md": "ignored",
    "box/C.EML": "C",
  });
  try {
    await Deno.symlink(join(root, "box/a"), join(root, "box/link"));
    await Deno.symlink(join(root, "box"), join(root, "box/a/loop"));
    await Deno.symlink(join(root, "box/b.eml"), join(root, "box/s.eml"));
    const box = join(root, "box");
    const items = await drain(readInputs([join(root, "single.txt"), `${box}/`]));
    assertEquals(items.map((i) => [i.key.slice(root.length + 1), i.text]), [
      ["single.txt", "single"],
      ["box/C.EML", "C"],
      ["box/a-b.eml", "a-b"],
      ["box/a.eml", "a"],
      ["box/a/deeper/x.eml", "a/deeper/x"],
      ["box/a/z.eml", "a/z"],
      ["box/b.eml", "b"],
      ["box/link/deeper/x.eml", "a/deeper/x"],
      ["box/link/z.eml", "a/z"],
      ["box/s.eml", "b"],
    ]);
    assert(items.every((i) => i.label === i.key));
    assertEquals(await countPath(box), 9);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readInputs() rejects a missing file with its key and goes on when asked", async () => {
  const root = await makeTree({ "a.eml": "a", "empty/notes.txt": "x" });
  try {
    await Deno.symlink(join(root, "nowhere.eml"), join(root, "dangling.eml"));
    const missing = join(root, "missing.eml");
    const items = await drain(
      readInputs([missing, join(root, "a.eml"), join(root, "empty"), root]),
    );
    assertEquals(items.map((i) => [i.key.slice(root.length), i.error ?? i.text]), [
      ["/missing.eml", `Cannot read ${missing}: no such file`],
      ["/a.eml", "a"],
      ["/empty", `No *.eml files in ${join(root, "empty")}`],
      ["/a.eml", "a"],
      ["/dangling.eml", `Cannot read ${join(root, "dangling.eml")}: no such file`],
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readPath() walks 20,000 files lazily, in order", async () => {
  const root = await Deno.makeTempDir({ prefix: "smimepost-sources-" });
  const name = (folder: number, file: number) =>
    join(root, String(folder).padStart(2, "0"), `${String(file).padStart(4, "0")}.eml`);
  try {
    for (let folder = 0; folder < 20; folder++) {
      Deno.mkdirSync(join(root, String(folder).padStart(2, "0")));
      for (let file = 0; file < 1000; file++) Deno.writeTextFileSync(name(folder, file), "x");
    }
    assertEquals(await countPath(root), 20_000);
    const items = readPath(root);
    const first = await items.next();
    assert(!first.done);
    // Nothing past the first file has been read, and later folders not listed yet.
    await Deno.remove(name(0, 999));
    await Deno.remove(join(root, "19"), { recursive: true });
    // The deleted file was listed before it went: it comes as an error in its place.
    const expected: string[] = [];
    for (let folder = 0; folder < 19; folder++) {
      for (let file = 0; file < 1000; file++) expected.push(name(folder, file));
    }
    expected.push(join(root, "19"));
    const keys = [first.value.key];
    const errors: string[] = [];
    for await (const item of items) {
      keys.push(item.key);
      if ("code" in item) errors.push(item.key);
    }
    assertEquals(errors, [name(0, 999), join(root, "19")]);
    assertEquals(keys, expected);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readPath() of a file not ending .eml reads it anyway", async () => {
  const root = await makeTree({ "statement.txt": "t" });
  try {
    const items = await collect(readPath(join(root, "statement.txt")));
    assertEquals(items.map((i) => i.text), ["t"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
