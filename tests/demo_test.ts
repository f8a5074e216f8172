/**
 * The README's first command, `deno task demo`, must keep doing what it
 * says: every step of the walk-through exits as expected and openssl agrees.
 */
import { assert, assertEquals, assertIncludes } from "./support/assert.ts";

Deno.test("deno task demo: every step does what it should", async () => {
  // Exactly the task's command line, from deno.json.
  const root = new URL("../", import.meta.url).pathname;
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const [deno, ...args] = (config.tasks.demo as string).split(" ");
  assertEquals(deno, "deno");
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertIncludes(text, "demo: all steps did what they should");
  assertIncludes(text, "openssl cms -decrypt: ok; openssl cms -verify: ok");
  // Its files stay where it says they are.
  const work = /the demo's files are in (\S+) /.exec(text)?.[1];
  assert(work, text);
  try {
    for (const file of ["sealed.eml", "inner.eml", "signed.eml", "keys/trust.pem"]) {
      assert((await Deno.stat(`${work}/${file}`)).isFile, `${work}/${file}`);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
