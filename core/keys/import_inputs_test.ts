import { strict as assert } from "node:assert";
import { join } from "node:path";
import { readImportInputs } from "./import_inputs.ts";

Deno.test("readImportInputs() walks folders sorted and recursive, skips hidden and unknown files, splits mbox", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-import-inputs-" });
  try {
    await Deno.mkdir(join(dir, "b/sub"), { recursive: true });
    const files: Record<string, string> = {
      "b/sub/z.p7b": "bag",
      "b/a.eml": "From: x@y.z\r\n\r\nhi\r\n",
      "b/.hidden.eml": "no",
      "b/notes.txt": "no",
      "b/in.mbox":
        "From a Thu Jan  1 00:00:00 2026\nA: 1\n\none\n\nFrom a Thu Jan  1 00:00:00 2026\nA: 2\n\ntwo\n",
      "big.crt": "x".repeat(2048),
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    const inputs = await Array.fromAsync(
      readImportInputs([join(dir, "b"), join(dir, "big.crt"), join(dir, "missing.eml")], 1024),
    );
    const seen = inputs.map((i) => `${i.source.slice(dir.length + 1)} ${i.error?.code ?? "ok"}`);
    assert.deepEqual(seen, [
      "b/a.eml ok",
      "b/in.mbox message 1 ok",
      "b/in.mbox message 2 ok",
      "b/sub/z.p7b ok",
      "big.crt E_MESSAGE",
      "missing.eml E_INPUT",
    ]);
    assert.equal(new TextDecoder().decode(inputs[2]!.bytes), "A: 2\n\ntwo\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
