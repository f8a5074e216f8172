import { strict as assert } from "node:assert";
import { join } from "node:path";
import { KeyFolder } from "./files.ts";
import { rejectsWith } from "./test_util.ts";

Deno.test("KeyFolder.find() finds files case-insensitively and refuses a folder of that name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-keyfolder-" });
  try {
    await Deno.writeTextFile(join(dir, "Alice@Example.com.crt"), "x");
    await Deno.mkdir(join(dir, "zed@example.com.pem"));
    const folder = new KeyFolder(dir);
    assert.equal(
      await folder.find("alice@example.com", ["crt"]),
      join(dir, "Alice@Example.com.crt"),
    );
    assert.equal(await folder.find("nobody@example.com", ["crt"]), undefined);
    // A folder named like the key file is "unreadable" (E_INPUT), not "no key" (E_KEY_NOT_FOUND).
    const err = await rejectsWith(folder.find("zed@example.com", ["pem", "key"]), "E_INPUT");
    assert.match(err.message, /zed@example\.com\.pem: it is a folder/);
    assert.deepEqual([...(await folder.names()).keys()], ["alice@example.com.crt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KeyFolder on a file says it is not a folder (E_INPUT)", async () => {
  const file = await Deno.makeTempFile({ prefix: "smimepost-keyfolder-" });
  try {
    const err = await rejectsWith(new KeyFolder(file).find("a@b.example", ["crt"]), "E_INPUT");
    assert.equal(err.message, `Cannot read key folder ${file}: it is not a folder`);
  } finally {
    await Deno.remove(file);
  }
});
