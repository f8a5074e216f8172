import { assert, assertEquals } from "../tests/support/assert.ts";
import { bytesEqual } from "./bytes.ts";
import { isSmimeError } from "./errors.ts";
import { readInput, writeFileAtomic } from "./io.ts";

Deno.test("writeFileAtomic: a source that fails part way leaves neither the file nor a temporary one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-write-" });
  try {
    const failing = {
      size: 3 << 20,
      *pieces() {
        yield new Uint8Array(1 << 20).fill(65);
        throw new Error("made up: the source broke");
      },
    };
    let thrown: unknown;
    await writeFileAtomic(`${dir}/out.eml`, failing).catch((err) => thrown = err);
    assert(isSmimeError(thrown, "E_OUTPUT"), String(thrown));
    const left = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assertEquals(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readInput() reads a file whole, its exact bytes, empty or past a read slice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-read-" });
  try {
    for (const size of [0, 1, (1 << 20) + 7, 3 << 20]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 7) & 255);
      await Deno.writeFile(`${dir}/m.eml`, bytes);
      const read = await readInput(`${dir}/m.eml`);
      assert(bytesEqual(read.bytes, bytes), `size ${size}`);
      assertEquals(read.source, `${dir}/m.eml`);
    }
    const missing = await readInput(`${dir}/nothing.eml`).catch((err) => err);
    assert(isSmimeError(missing, "E_INPUT") && missing.message.includes("no such file"));
    const folder = await readInput(dir).catch((err) => err);
    assert(isSmimeError(folder, "E_INPUT") && folder.message.includes("is a folder"), folder);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
