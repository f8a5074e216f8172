/**
 * OpenSSL trust settings in a trust bundle: `openssl x509 -trustout`
 * writes `TRUSTED CERTIFICATE` blocks (as p11-kit's openssl-bundle does), and
 * `verify --trust` follows them as `openssl cms -verify -purpose smimesign`
 * does. openssl judges every case beside us.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import { openssl, testPki } from "./support/helpers.ts";

const MESSAGE = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n" +
  "Subject: Statement\n\nHello Bob,\nbye\n";

/** `openssl x509 -trustout` of `cert` with `settings` (e.g. -addreject emailProtection). */
async function trustout(cert: string, out: string, settings: string[]): Promise<void> {
  const run = await openssl(["x509", "-in", cert, "-trustout", ...settings, "-out", out]);
  assertEquals(run.code, 0, run.stderr);
}

async function concat(out: string, ...files: string[]): Promise<void> {
  const texts = await Promise.all(files.map((f) => Deno.readTextFile(f)));
  await Deno.writeTextFile(out, texts.join(""));
}

Deno.test("verify --trust follows the trust settings of TRUSTED CERTIFICATE anchors, as openssl does", async (t) => {
  const pki = await testPki();
  const dir = await Deno.makeTempDir({ prefix: "smimepost-trusted-cert-" });
  try {
    await Deno.mkdir(`${dir}/keys`);
    await Deno.writeTextFile(`${dir}/m.eml`, MESSAGE);
    const sealed = await runCli(
      ["send", "m.eml", "--sign", "--keys", pki, "--trust", `${pki}/trust.pem`, "-o", "s.eml"],
      { cwd: dir },
    );
    assertEquals(sealed.code, 0, sealed.stderr);
    // An unrelated anchor keeps a bundle from being empty once the root is left out.
    const other = await openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/other.key`,
      "-subj",
      "/CN=Other Root",
      "-days",
      "2",
      "-out",
      `${dir}/other.pem`,
    ]);
    assertEquals(other.code, 0, other.stderr);
    const root = `${pki}/trust.pem`;
    await trustout(root, `${dir}/root_email.pem`, ["-addtrust", "emailProtection"]);
    await trustout(root, `${dir}/root_any.pem`, ["-addtrust", "anyExtendedKeyUsage"]);
    await trustout(root, `${dir}/root_bare.pem`, []);
    await trustout(root, `${dir}/root_reject.pem`, ["-addreject", "emailProtection"]);
    await trustout(root, `${dir}/root_tls.pem`, ["-addtrust", "serverAuth"]);
    await concat(`${dir}/reject.pem`, `${dir}/other.pem`, `${dir}/root_reject.pem`);
    await concat(`${dir}/tls.pem`, `${dir}/root_tls.pem`, `${dir}/other.pem`);
    await concat(`${dir}/plain.pem`, `${dir}/other.pem`, root);

    const cases: [string, string, boolean][] = [
      ["plain bundle", root, true],
      ["plain bundle, two anchors", `${dir}/plain.pem`, true],
      ["trust emailProtection", `${dir}/root_email.pem`, true],
      ["trust anyExtendedKeyUsage", `${dir}/root_any.pem`, true],
      ["TRUSTED CERTIFICATE without trust settings", `${dir}/root_bare.pem`, true],
      ["reject emailProtection", `${dir}/reject.pem`, false],
      ["trust serverAuth only", `${dir}/tls.pem`, false],
    ];
    for (const [name, bundle, trusted] of cases) {
      await t.step(name, async () => {
        const judge = await openssl([
          "cms",
          "-verify",
          "-in",
          `${dir}/s.eml`,
          "-CAfile",
          bundle,
          "-purpose",
          "smimesign",
          "-out",
          "/dev/null",
        ]);
        assertEquals(judge.code === 0, trusted, `openssl: ${judge.stderr}`);
        const run = await runCli(["verify", "s.eml", "--keys", "keys", "--trust", bundle], {
          cwd: dir,
        });
        assertEquals(run.code, trusted ? 0 : 65, run.text + run.stderr);
        const last = run.text.trim().split("\n").at(-1) ?? "";
        if (trusted) {
          assertMatch(last, /: TRUSTED$/);
          assert(!run.stderr.includes("not an anchor"), run.stderr);
        } else {
          assertIncludes(last, "NOT trusted");
          const warnings = run.stderr.split("\n").filter((l) => l.includes("not an anchor"));
          assertEquals(warnings.length, 1, run.stderr);
          assertEquals(
            warnings[0],
            `smimepost: warning: trust bundle ${bundle}: O=smimepost test,CN=smimepost Test Root ` +
              `is marked not trusted for e-mail (${
                name.startsWith("reject") ? "reject emailProtection" : "trusted for serverAuth only"
              }); not an anchor`,
          );
        }
      });
    }

    await t.step("a bundle left without an anchor is refused like an empty one", async () => {
      const run = await runCli(
        ["verify", "s.eml", "--keys", "keys", "--trust", `${dir}/root_reject.pem`],
        { cwd: dir },
      );
      assertEquals(run.code, 65, run.text + run.stderr);
      assertEquals(run.text, "");
      assertIncludes(
        run.stderr,
        `${dir}/root_reject.pem: no certificate in it is trusted for e-mail`,
      );
    });

    await t.step("send --sign --encrypt refuses the reject bundle too", async () => {
      const run = await runCli(
        [
          "send",
          "m.eml",
          "--sign",
          "--encrypt",
          "--keys",
          pki,
          "--trust",
          `${dir}/root_reject.pem`,
        ],
        { cwd: dir },
      );
      assertEquals(run.code, 65, run.stderr);
    });

    await t.step("a key folder's TRUSTED CERTIFICATE files are plain certificates", async () => {
      await Deno.mkdir(`${dir}/own`);
      await Deno.copyFile(`${pki}/alice@example.com.pem`, `${dir}/own/alice@example.com.pem`);
      await Deno.chmod(`${dir}/own/alice@example.com.pem`, 0o600);
      const chain = await Deno.readTextFile(`${pki}/alice@example.com.crt`);
      const blocks = chain.match(
        /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g,
      )!;
      const parts = [];
      for (const [i, block] of blocks.entries()) {
        await Deno.writeTextFile(`${dir}/part${i}.pem`, block);
        await trustout(`${dir}/part${i}.pem`, `${dir}/part${i}.t.pem`, [
          "-addreject",
          "emailProtection",
        ]);
        parts.push(`${dir}/part${i}.t.pem`);
      }
      await concat(`${dir}/own/alice@example.com.crt`, ...parts);
      const run = await runCli(
        ["send", "m.eml", "--sign", "--keys", "own", "--trust", root, "-o", "own.eml"],
        { cwd: dir },
      );
      assertEquals(run.code, 0, run.stderr);
      const check = await runCli(["verify", "own.eml", "--keys", "keys", "--trust", root], {
        cwd: dir,
      });
      assertEquals(check.code, 0, check.text + check.stderr);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
