/**
 * The CLI as a user runs it: `deno run` with exactly the compile task's
 * permissions. Every refusal asserts its exit code, an empty stdout and one
 * line naming the file, address or option.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { openssl, testPki } from "./support/helpers.ts";

const encoder = new TextEncoder();

/** A scratch folder with the message `text` in it as `name`. */
async function scratch(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-cli-" });
  for (const [name, content] of Object.entries(files)) {
    await Deno.writeFile(
      `${dir}/${name}`,
      typeof content === "string" ? encoder.encode(content) : content,
    );
  }
  return dir;
}

const MESSAGE = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n" +
  "Cc: carol@example.net\nBcc: dave@example.org\nSubject: Statement\n\nHello Bob,\nbye\n";
const NO_BCC = MESSAGE.replace("Bcc: dave@example.org\n", "");

async function cli(args: string[], files: Record<string, string | Uint8Array> = {}) {
  const keys = await testPki();
  const dir = await scratch(files);
  try {
    return await runCli([...args, "--keys", keys], { cwd: dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts a refusal: the exit code, nothing on stdout, one line naming `names`. */
function assertRefused(run: CliRun, code: number, ...names: string[]): void {
  assertEquals(run.code, code, `exit ${run.code}; stderr: ${run.stderr}`);
  assertEquals(run.stdout.length, 0, "stdout must be empty on a refusal");
  const lines = run.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one line expected, got: ${run.stderr}`);
  for (const name of names) assertIncludes(run.stderr, name);
  assert(!run.stderr.includes("    at "), "no stack trace");
}

Deno.test("send --sign --encrypt writes a message openssl decrypts and verifies", async () => {
  const pki = await testPki();
  // bob is RSA, carol EC: one stream holds one copy only with --single-copy.
  const run = await cli([
    "send",
    "m.eml",
    "--sign",
    "--encrypt",
    "--single-copy",
    "--trust",
    `${pki}/trust.pem`,
  ], { "m.eml": NO_BCC });
  assertEquals(run.code, 0, run.stderr);
  assertMatch(run.text, /^From: Alice <alice@example\.com>\r\n/);
  assertIncludes(run.text, "smime-type=enveloped-data");
  const inner = await openssl([
    "cms",
    "-decrypt",
    "-recip",
    `${pki}/carol@example.net.crt`,
    "-inkey",
    `${pki}/carol@example.net.pem`,
  ], run.stdout);
  assertEquals(inner.code, 0, inner.stderr);
  const verified = await openssl(
    ["cms", "-verify", "-CAfile", `${pki}/trust.pem`, "-purpose", "smimesign"],
    inner.stdout,
  );
  assertEquals(verified.code, 0, verified.stderr);
  assertIncludes(new TextDecoder().decode(verified.stdout), "Hello Bob,");
});

Deno.test("send reads the message from stdin and signs it (old flags, no subcommand)", async () => {
  const pki = await testPki();
  const run = await runCli(["-", "--sign", "--keys", pki], { stdin: encoder.encode(NO_BCC) });
  assertEquals(run.code, 0, run.stderr);
  assertIncludes(run.text, "smime-type=signed-data");
  const verified = await openssl(
    ["cms", "-verify", "-CAfile", `${pki}/trust.pem`, "-purpose", "smimesign"],
    run.stdout,
  );
  assertEquals(verified.code, 0, verified.stderr);
});

Deno.test("send --sign_detached (old spelling) writes multipart/signed with the right micalg", async (t) => {
  for (
    const [flags, micalg] of [[["--sign_detached"], "sha-256"], [
      ["--sign-detached", "--digest", "sha384"],
      "sha-384",
    ]] as const
  ) {
    await t.step(flags.join(" "), async () => {
      const run = await cli(["send", "m.eml", ...flags], { "m.eml": NO_BCC });
      assertEquals(run.code, 0, run.stderr);
      assertIncludes(run.text, 'multipart/signed; protocol="application/pkcs7-signature"');
      assertIncludes(run.text, `micalg=${micalg}`);
    });
  }
});

Deno.test("send never writes Bcc into the output headers", async () => {
  const run = await cli(["send", "m.eml", "--sign"], { "m.eml": MESSAGE });
  assertEquals(run.code, 0, run.stderr);
  assert(!/^Bcc:/im.test(run.text), "Bcc leaked into the output");
});

Deno.test("send --encrypt with Bcc to one stream is refused unless --bcc-shared", async () => {
  const refused = await cli(["send", "m.eml", "--encrypt"], { "m.eml": MESSAGE });
  assertRefused(refused, 64, "m.eml", "dave@example.org", "--bcc-shared");
  const shared = await cli(["send", "m.eml", "--encrypt", "--bcc-shared", "--single-copy"], {
    "m.eml": MESSAGE,
  });
  assertEquals(shared.code, 0, shared.stderr);
});

Deno.test("send -o writes the file and nothing to stdout", async () => {
  const keys = await testPki();
  const dir = await scratch({ "m.eml": NO_BCC });
  try {
    const run = await runCli(["send", "m.eml", "--sign", "--keys", keys, "-o", "out.eml"], {
      cwd: dir,
    });
    assertEquals(run.code, 0, run.stderr);
    assertEquals(run.stdout.length, 0);
    assertIncludes(await Deno.readTextFile(`${dir}/out.eml`), "smime-type=signed-data");
    assertEquals((await Deno.stat(`${dir}/out.eml`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const refusals: {
  name: string;
  file: string | Uint8Array;
  args?: string[];
  code: number;
  names: string[];
}[] = [
  { name: "an empty file", file: "", code: 65, names: ["m.eml", "empty"] },
  {
    name: "something that is not a message",
    file: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    code: 65,
    names: ["m.eml"],
  },
  {
    name: "no From",
    file: "To: bob@example.com\nSubject: x\n\nhi\n",
    code: 65,
    names: ["m.eml", "From"],
  },
  {
    name: "no recipients",
    file: "From: alice@example.com\nSubject: x\n\nhi\n",
    code: 65,
    names: ["m.eml", "recipients"],
  },
  {
    name: "CR inside an address",
    file: 'From: alice@example.com\nTo: "bob\rRCPT TO:<evil@x>"@example.com\n\nhi\n',
    code: 65,
    names: ["m.eml"],
  },
  {
    name: "a header line over 998 characters",
    file: `From: alice@example.com\nTo: bob@example.com\nSubject: ${"x".repeat(1000)}\n\nhi\n`,
    code: 65,
    names: ["m.eml", "Subject"],
  },
  {
    name: "a recipient without a certificate",
    file: NO_BCC.replace("Cc: carol@example.net", "Cc: nobody@example.net"),
    args: ["--encrypt"],
    code: 67,
    names: ["nobody@example.net"],
  },
  {
    name: "two recipients without certificates, named together",
    file: NO_BCC.replace("Cc: carol@example.net", "Cc: nobody@example.net, nemo@example.net"),
    args: ["--encrypt"],
    code: 67,
    names: ["nobody@example.net", "nemo@example.net"],
  },
  {
    name: "an expired recipient certificate",
    file: NO_BCC.replace("Cc: carol@example.net", "Cc: expired@example.com"),
    args: ["--encrypt"],
    code: 65,
    names: ["expired@example.com", "expired"],
  },
  {
    name: "a certificate for another address",
    file: NO_BCC.replace("Cc: carol@example.net", "Cc: wrongaddr@example.com"),
    args: ["--encrypt"],
    code: 65,
    names: ["wrongaddr@example.com"],
  },
  {
    name: "a signer without a key",
    file: NO_BCC.replace("From: Alice <alice@example.com>", "From: nokey@example.com"),
    args: ["--sign"],
    code: 67,
    names: ["nokey@example.com"],
  },
];

for (const refusal of refusals) {
  Deno.test(`send refuses ${refusal.name} (exit ${refusal.code}, stdout empty)`, async () => {
    const run = await cli(["send", "m.eml", ...(refusal.args ?? ["--sign"])], {
      "m.eml": refusal.file,
    });
    assertRefused(run, refusal.code, ...refusal.names);
  });
}

Deno.test("send refuses a missing file with exit 66", async () => {
  assertRefused(await cli(["send", "missing.eml", "--sign"]), 66, "missing.eml");
});

Deno.test("send refuses an unknown option with exit 64", async () => {
  const run = await cli(["send", "m.eml", "--sing"], { "m.eml": NO_BCC });
  assertEquals(run.code, 64);
  assertEquals(run.stdout.length, 0);
  assertIncludes(run.stderr, "--sing");
});

Deno.test("send with a wrong passphrase exits 77 and never prints the passphrase", async () => {
  const pki = await testPki();
  const message = NO_BCC.replace("From: Alice <alice@example.com>", "From: grace@example.com");
  const dir = await scratch({ "m.eml": message });
  try {
    const secret = "wrong-Pass-7f3a9c";
    const run = await runCli(["send", "m.eml", "--sign", "--keys", pki], {
      cwd: dir,
      env: { SMIMEPOST_PASSPHRASE: secret },
    });
    assertRefused(run, 77, "grace@example.com");
    assert(!run.stderr.includes(secret), "passphrase leaked");
    const ok = await runCli(["send", "m.eml", "--sign", "--keys", pki], {
      cwd: dir,
      env: { SMIMEPOST_PASSPHRASE: "grace-test-passphrase" },
    });
    assertEquals(ok.code, 0, ok.stderr);
    assert(
      !ok.text.includes("grace-test-passphrase") && !ok.stderr.includes("grace-test-passphrase"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify reports signer, intact signature and trusted chain; a flipped byte fails", async (t) => {
  const pki = await testPki();
  const trust = ["--keys", pki, "--trust", `${pki}/trust.pem`];
  const dir = await scratch({ "m.eml": NO_BCC });
  try {
    for (const flag of ["--sign", "--sign-detached"]) {
      await t.step(flag, async () => {
        const sealed = await runCli(["send", "m.eml", flag, ...trust, "-o", "s.eml"], { cwd: dir });
        assertEquals(sealed.code, 0, sealed.stderr);
        const ok = await runCli(["verify", "s.eml", ...trust], { cwd: dir });
        assertEquals(ok.code, 0, ok.stderr);
        assertIncludes(ok.text, "alice@example.com");
        assertIncludes(ok.text, "signature: intact");
        assertIncludes(ok.text, "chain: trusted");

        const bytes = await Deno.readFile(`${dir}/s.eml`);
        const text = new TextDecoder().decode(bytes);
        // flip one byte of the signed content: the opaque body's base64, or the first part's text
        const at = flag === "--sign"
          ? text.indexOf("\r\n\r\n", text.indexOf("smime.p7m")) + 40
          : text.indexOf("Hello Bob");
        bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
        await Deno.writeFile(`${dir}/bad.eml`, bytes);
        const bad = await runCli(["verify", "bad.eml", ...trust], { cwd: dir });
        assertEquals(bad.code, 65, bad.text + bad.stderr);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify and decrypt accept what openssl cms -sign / -encrypt produce", async () => {
  const pki = await testPki();
  const dir = await scratch({ "m.eml": NO_BCC.replaceAll("\n", "\r\n") });
  try {
    const signed = await openssl([
      "cms",
      "-sign",
      "-in",
      `${dir}/m.eml`,
      "-signer",
      `${pki}/alice@example.com.crt`,
      "-inkey",
      `${pki}/alice@example.com.pem`,
      "-certfile",
      `${pki}/intermediate.crt`,
      "-md",
      "sha256",
      "-out",
      `${dir}/signed.eml`,
    ]);
    assertEquals(signed.code, 0, signed.stderr);
    const verified = await runCli([
      "verify",
      "signed.eml",
      "--keys",
      pki,
      "--trust",
      `${pki}/trust.pem`,
    ], { cwd: dir });
    assertEquals(verified.code, 0, verified.text + verified.stderr);
    assertIncludes(verified.text, "chain: trusted");

    const encrypted = await openssl([
      "cms",
      "-encrypt",
      "-aes256",
      "-in",
      `${dir}/m.eml`,
      "-out",
      `${dir}/enc.eml`,
      `${pki}/bob@example.com.crt`,
    ]);
    assertEquals(encrypted.code, 0, encrypted.stderr);
    const decrypted = await runCli([
      "decrypt",
      "enc.eml",
      "--keys",
      pki,
      "--key",
      `${pki}/bob@example.com.pem`,
    ], { cwd: dir });
    assertEquals(decrypted.code, 0, decrypted.stderr);
    assertIncludes(decrypted.text, "Hello Bob,");
    // The plaintext, written to a file, is its owner's alone.
    const toFile = await runCli([
      "decrypt",
      "enc.eml",
      "--key",
      `${pki}/bob@example.com.pem`,
      "-o",
      "plain.eml",
    ], { cwd: dir });
    assertEquals(toFile.code, 0, toFile.stderr);
    assertIncludes(await Deno.readTextFile(`${dir}/plain.eml`), "Hello Bob,");
    assertEquals((await Deno.stat(`${dir}/plain.eml`)).mode! & 0o777, 0o600);

    const wrongKey = await runCli([
      "decrypt",
      "enc.eml",
      "--keys",
      pki,
      "--key",
      `${pki}/alice@example.com.pem`,
    ], { cwd: dir });
    assertRefused(wrongKey, 65, "enc.eml");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("show prints the MIME tree with the S/MIME layers", async () => {
  const pki = await testPki();
  const dir = await scratch({ "m.eml": NO_BCC });
  try {
    await runCli(["send", "m.eml", "--sign-detached", "--keys", pki, "-o", "s.eml"], { cwd: dir });
    const run = await runCli(["show", "s.eml"], { cwd: dir });
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.text, /Content-Type: multipart\/signed/);
    assertMatch(run.text, /\n {2}Content-Type: text\/plain/);
    assertMatch(run.text, /signed-data/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keys check lists every file and names the problems", async () => {
  const run = await cli(["keys", "check"]);
  assertEquals(run.code, 65);
  assertMatch(run.text, /ok\s+\S*alice@example\.com\.crt/);
  assertMatch(run.text, /PROBLEM\s+\S*expired@example\.com\.crt/);
  assertMatch(run.text, /PROBLEM\s+\S*wrongaddr@example\.com\.crt/);
  // Which address each certificate serves, and what send never looks up.
  assertMatch(
    run.text,
    /^ok\s+\S*alice@example\.com\.crt: .*; serves alice@example\.com for signing and encryption$/m,
  );
  assertMatch(run.text, /trust\.pem: .*\n\s+warning: a CA certificate: never looked up by address/);
  // The folder by its full path, not ".".
  assertMatch(run.stderr, /^smimepost: problems found in the key folder \/\S+$/m);
});

Deno.test("decrypt --key with the private key alone: RSA and EC, several recipients, several keys, PKCS#12", async (t) => {
  const pki = await testPki();
  const dir = await scratch({ "m.eml": NO_BCC.replaceAll("\n", "\r\n") });
  try {
    // Keys without a certificate beside them.
    for (const [from, to] of [["bob@example.com", "bob"], ["carol@example.net", "carol"]]) {
      await Deno.copyFile(`${pki}/${from}.pem`, `${dir}/${to}.pem`);
      await Deno.chmod(`${dir}/${to}.pem`, 0o600);
    }
    const p12 = await openssl([
      "pkcs12",
      "-export",
      "-nocerts",
      "-inkey",
      `${dir}/bob.pem`,
      "-passout",
      "pass:p12-test-passphrase",
      "-out",
      `${dir}/bob.p12`,
    ]);
    assertEquals(p12.code, 0, p12.stderr);
    await Deno.chmod(`${dir}/bob.p12`, 0o600);
    const crt = (address: string) => `${pki}/${address}.crt`;
    const encrypt = async (out: string, args: string[]) => {
      const run = await openssl(["cms", "-encrypt", "-in", `${dir}/m.eml`, "-out", out, ...args]);
      assertEquals(run.code, 0, run.stderr);
    };
    const oaep = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"];
    await encrypt(`${dir}/v15.eml`, [
      "-aes256",
      crt("alice@example.com"),
      crt("bob@example.com"),
      crt("carol@example.net"),
      crt("dave@example.org"),
    ]);
    await encrypt(`${dir}/oaep-keyid.eml`, [
      "-aes256",
      "-keyid",
      "-recip",
      crt("alice@example.com"),
      "-recip",
      crt("bob@example.com"),
      ...oaep,
      "-recip",
      crt("dave@example.org"),
    ]);
    const decrypt = (args: string[], env?: Record<string, string>) =>
      runCli(["decrypt", ...args], { cwd: dir, env });
    for (
      const args of [
        ["v15.eml", "--key", "bob.pem"],
        ["v15.eml", "--key", "carol.pem"],
        ["oaep-keyid.eml", "--key", "bob.pem"],
        ["oaep-keyid.eml", "--key", "carol.pem", "--key", "bob.pem"],
      ]
    ) {
      await t.step(`decrypt ${args.join(" ")}`, async () => {
        const run = await decrypt(args);
        assertEquals(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
        assertIncludes(run.text, "Hello Bob,");
      });
    }
    await t.step("decrypt v15.eml --key bob.p12", async () => {
      const fromP12 = await decrypt(["v15.eml", "--key", "bob.p12"], {
        SMIMEPOST_PASSPHRASE: "p12-test-passphrase",
      });
      assertEquals(fromP12.code, 0, fromP12.stderr);
      assertIncludes(fromP12.text, "Hello Bob,");
    });

    // No key opens it: one line naming the message and each key, alike for v1.5 and OAEP.
    await t.step("no key opens it: the same one line for v1.5 and OAEP", async () => {
      await encrypt(`${dir}/gcm-v15.eml`, ["-aes-256-gcm", crt("dave@example.org")]);
      await encrypt(`${dir}/gcm-oaep.eml`, [
        "-aes-256-gcm",
        "-recip",
        crt("dave@example.org"),
        ...oaep,
      ]);
      const refusals = [];
      for (const message of ["gcm-v15.eml", "gcm-oaep.eml"]) {
        const run = await decrypt([message, "--key", "bob.pem", "--key", "carol.pem"]);
        assertRefused(run, 65, message, "bob.pem", "carol.pem");
        refusals.push(run.stderr.replace(message, "MESSAGE"));
      }
      assertEquals(refusals[0], refusals[1]);
    });

    await t.step("a message that is only signed is refused", async () => {
      const signed = await openssl([
        "cms",
        "-sign",
        "-in",
        `${dir}/m.eml`,
        "-signer",
        crt("alice@example.com"),
        "-inkey",
        `${pki}/alice@example.com.pem`,
        "-out",
        `${dir}/signed.eml`,
      ]);
      assertEquals(signed.code, 0, signed.stderr);
      assertRefused(
        await decrypt(["signed.eml", "--key", "bob.pem"]),
        65,
        "signed.eml: not encrypted",
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decrypt and verify --keys open mail whose header fields name no recipient: the From's key", async () => {
  const pki = await testPki();
  const undisclosed = "From: alice@example.com\nTo: undisclosed-recipients:;\n" +
    "Bcc: bob@example.com\nSubject: x\n\nHello Bob,\nbye\n";
  const dir = await scratch({ "m.eml": undisclosed });
  try {
    const sent = await runCli([
      "send",
      "m.eml",
      "--sign",
      "--encrypt",
      "--keys",
      pki,
      "--trust",
      `${pki}/trust.pem`,
      "-o",
      "sealed.eml",
    ], { cwd: dir });
    assertEquals(sent.code, 0, sent.stderr);
    const decrypted = await runCli(["decrypt", "sealed.eml", "--keys", pki], { cwd: dir });
    assertEquals(decrypted.code, 0, decrypted.stderr);
    assertIncludes(decrypted.text, "smime-type=signed-data");
    const verified = await runCli(
      ["verify", "sealed.eml", "--keys", pki, "--trust", `${pki}/trust.pem`],
      { cwd: dir },
    );
    assertEquals(verified.code, 0, verified.stderr);
    assertMatch(verified.text, /TRUSTED\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decrypt --keys finds a Bcc recipient's key by the certificate a RecipientInfo names, loading no other key", async (t) => {
  const pki = await testPki();
  const dir = await scratch({
    "m.eml": MESSAGE.replace("Bcc: dave@example.org", "Bcc: carol@example.net")
      .replace("Cc: carol@example.net\n", ""),
  });
  try {
    // The reader's folder: carol's own files; a certificate and encrypted key that are
    // not for this message, named to come first (a key loaded for it would want a
    // passphrase: none is given); a damaged certificate file.
    const folder = `${dir}/carol-keys`;
    await Deno.mkdir(folder);
    const copies = [
      ["carol@example.net.crt", "carol@example.net.crt"],
      ["carol@example.net.pem", "carol@example.net.pem"],
      ["grace@example.com.crt", "agrace@example.com.crt"],
      ["grace@example.com.pem", "agrace@example.com.pem"],
    ];
    for (const [from, to] of copies) await Deno.copyFile(`${pki}/${from}`, `${folder}/${to}`);
    for (const key of ["carol@example.net.pem", "agrace@example.com.pem"]) {
      await Deno.chmod(`${folder}/${key}`, 0o600);
    }
    await Deno.writeTextFile(`${folder}/broken@example.com.crt`, "not a certificate\n");
    const sent = await runCli([
      "send",
      "m.eml",
      "--encrypt",
      "--bcc-shared",
      "--single-copy",
      "--keys",
      pki,
      "-o",
      "shared.eml",
    ], { cwd: dir });
    assertEquals(sent.code, 0, sent.stderr);
    // openssl, by subject key identifier (in a KeyAgreeRecipientInfo for carol's EC key)
    // and without any header naming her.
    const keyid = await openssl([
      "cms",
      "-encrypt",
      "-aes256",
      "-keyid",
      "-in",
      `${dir}/m.eml`,
      "-out",
      `${dir}/keyid.eml`,
      `${pki}/bob@example.com.crt`,
      `${pki}/carol@example.net.crt`,
    ]);
    assertEquals(keyid.code, 0, keyid.stderr);
    for (const message of ["shared.eml", "keyid.eml"]) {
      await t.step(`decrypt ${message} --keys carol-keys`, async () => {
        const run = await runCli(["decrypt", message, "--keys", folder, "--json"], {
          cwd: dir,
          env: { HOME: dir },
        });
        assertEquals(run.code, 0, run.stderr);
        assertEquals(JSON.parse(run.text).decrypted_with, "carol@example.net");
      });
    }
    await t.step("a message for no one in the folder is still refused, 67", async () => {
      await Deno.remove(`${folder}/carol@example.net.crt`);
      const run = await runCli(["decrypt", "shared.eml", "--keys", folder], {
        cwd: dir,
        env: { HOME: dir },
      });
      assertRefused(run, 67, "no private key for any of its recipients");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verify reads each message of an mbox (send's own output); show and decrypt refuse one, 64", async () => {
  const pki = await testPki();
  const trust = `${pki}/trust.pem`;
  const fromLine = "From alice@example.com Sat Dec  5 10:00:00 2026\n";
  const head = "From: alice@example.com\nTo: bob@example.com\n";
  // The first message's signed part holds a line starting "From ", quoted in the mbox.
  const dir = await scratch({
    "in.mbox": `${fromLine}${head}Subject: one\n\n>From here on\n\n` +
      `${fromLine}${head}Subject: two\n\nsecond\n`,
  });
  try {
    const sent = await runCli(
      ["send", "--mbox", "in.mbox", "--sign-detached", "--keys", pki, "--trust", trust],
      { cwd: dir },
    );
    assertEquals(sent.code, 0, sent.stderr);
    await Deno.writeFile(`${dir}/out.mbox`, sent.stdout);
    const sealed = new TextDecoder().decode(sent.stdout);
    assertIncludes(sealed, "\n>From here on");
    await Deno.writeTextFile(`${dir}/altered.mbox`, sealed.replace("\nsecond", "\nsecond!"));
    const verify = (file: string) =>
      runCli(["verify", file, "--keys", pki, "--trust", trust], { cwd: dir });

    const intact = await verify("out.mbox");
    assertEquals(intact.code, 0, intact.stderr);
    assertIncludes(intact.text, "out.mbox message 1: TRUSTED\n");
    assertIncludes(intact.text, "out.mbox message 2: TRUSTED\n");

    const altered = await verify("altered.mbox");
    assertEquals(altered.code, 65, altered.stderr);
    assertIncludes(altered.text, "altered.mbox message 1: TRUSTED\n");
    assertMatch(altered.text, /altered\.mbox message 2: NOT trusted: .*content altered/);

    for (const command of ["show", "decrypt"]) {
      assertRefused(
        await runCli([command, "out.mbox", "--keys", pki], { cwd: dir }),
        64,
        `out.mbox is an mbox of 2 messages; ${command} takes one message`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
