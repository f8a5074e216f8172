/**
 * The README's first command, `deno task demo`, must keep doing what it
 * says: every step of the walk-through exits as expected and openssl agrees.
 */
import { assertEquals, assertIncludes } from "./support/assert.ts";

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
});
