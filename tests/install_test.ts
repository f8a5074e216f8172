/**
 * `deno task install` puts a `smimepost` on PATH that works from any folder,
 * as the old tool was used: from the key folder, far from the checkout.
 */
import { assertEquals, assertMatch } from "./support/assert.ts";
import { install } from "../scripts/install.ts";
import { openssl, testPki } from "./support/helpers.ts";

const MESSAGE = "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\n" +
  "Subject: Statement\r\n\r\nHello Bob,\r\n";

Deno.test("the installed smimepost runs from a folder outside the checkout", async () => {
  const root = await Deno.makeTempDir({ prefix: "smimepost-install-" });
  const work = await Deno.makeTempDir({ prefix: "smimepost-elsewhere-" });
  try {
    assertEquals(await install(root), 0);
    const smimepost = `${root}/bin/smimepost`;
    const run = async (args: string[]) => {
      const out = await new Deno.Command(smimepost, {
        args,
        cwd: work,
        env: { PATH: `${root}/bin:${Deno.env.get("PATH")}` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
    };
    const version = await run(["--version"]);
    assertEquals([version.code, version.stderr], [0, ""]);
    assertMatch(version.stdout, /^smimepost \d+\.\d+\.\d+\n/);

    // The old tool's way: the key folder is the working folder.
    const pki = await testPki();
    for await (const entry of Deno.readDir(pki)) {
      if (entry.isFile) await Deno.copyFile(`${pki}/${entry.name}`, `${work}/${entry.name}`);
    }
    await Deno.writeTextFile(`${work}/m.eml`, MESSAGE);
    const sent = await run(["send", "m.eml", "--sign", "-o", "signed.eml"]);
    assertEquals(sent.code, 0, sent.stderr);
    assertEquals(/Task|deno\.json/.test(sent.stderr), false, sent.stderr);
    const verified = await openssl([
      "cms",
      "-verify",
      "-in",
      `${work}/signed.eml`,
      "-CAfile",
      `${pki}/trust.pem`,
      "-out",
      "/dev/null",
    ]);
    assertEquals(verified.code, 0, verified.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
});
