/**
 * `smimepost keys import` against signers nobody here wrote: OpenSSL
 * (`openssl cms -sign`), NSS (`cmsutil -S`, Thunderbird's library) and
 * GnuPG (`gpgsm --sign`). What it imports, `send --encrypt` then encrypts
 * to, and `openssl cms -decrypt` opens. Also the exit codes, --json,
 * --dry-run and mbox input, through the CLI as a user runs it.
 */
import { bytesToLatin1 } from "../core/bytes.ts";
import { join } from "node:path";
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import { loadPemBundle } from "../core/keys/pem.ts";
import { type IssuedIdentity, makeTestPki } from "../scripts/make_pki.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const work = await Deno.makeTempDir({ prefix: "smimepost-import-cli-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const pki = await makeTestPki(join(work, "pki"));
const BODY = "Content-Type: text/plain\r\n\r\nPlease encrypt your replies.\r\n";

/** Runs a program; fails the test with its stderr when it fails. */
async function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  assert(out.success, `${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return out.stdout;
}

/** Writes a file in the work folder; returns its path. */
async function put(name: string, data: string | Uint8Array): Promise<string> {
  const path = join(work, name);
  await Deno.writeFile(path, typeof data === "string" ? encoder.encode(data) : data);
  return path;
}

/** Leaf PEM, key PEM, and a PKCS#12 (3DES, SHA-1 MAC: what gpgsm 2.2 and NSS read). */
async function identityFiles(name: string, id: IssuedIdentity) {
  const cert = await put(`${name}.crt`, id.chainPem.slice(0, id.chainPem.indexOf("-----END") + 26));
  const key = await put(`${name}.key`, id.privateKeyPem);
  const p12 = join(work, `${name}.p12`);
  await run("openssl", [
    "pkcs12",
    "-export",
    "-name",
    name,
    "-inkey",
    key,
    "-in",
    cert,
    "-passout",
    "pass:pw",
    "-keypbe",
    "PBE-SHA1-3DES",
    "-certpbe",
    "PBE-SHA1-3DES",
    "-macalg",
    "sha1",
    "-out",
    p12,
  ]); // deno-fmt-ignore
  return { cert, key, p12 };
}

function base64Lines(der: Uint8Array): string {
  return btoa(bytesToLatin1(der)).replace(/.{76}/g, "$&\r\n");
}

function headers(from: string): string {
  return `From: ${from}\r\nTo: bob@example.com\r\nSubject: my key\r\nMIME-Version: 1.0\r\n`;
}

/** Opaque signed-data mail around a DER SignedData. */
function opaqueMail(from: string, der: Uint8Array): string {
  return headers(from) +
    "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n" +
    "Content-Transfer-Encoding: base64\r\n\r\n" + base64Lines(der) + "\r\n";
}

/** Detached multipart/signed mail around BODY and a DER signature. */
function detachedMail(from: string, signature: Uint8Array): string {
  const b = "----=_sig_boundary";
  return headers(from) +
    `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; ` +
    `micalg=sha-256; boundary="${b}"\r\n\r\n--${b}\r\n${BODY}\r\n--${b}\r\n` +
    "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n" +
    "Content-Transfer-Encoding: base64\r\n\r\n" + base64Lines(signature) + `\r\n--${b}--\r\n`;
}

async function opensslSigned(from: string, id: IssuedIdentity): Promise<string> {
  const { cert, key } = await identityFiles("osl", id);
  const body = await put("osl-body.txt", BODY);
  const out = await run("openssl", [
    "cms",
    "-sign",
    "-nodetach",
    "-signer",
    cert,
    "-inkey",
    key,
    "-in",
    body,
    "-certfile",
    pki.intermediateFile,
    "-outform",
    "DER",
  ]); // deno-fmt-ignore
  return opaqueMail(from, out);
}

async function nssSigned(from: string, id: IssuedIdentity): Promise<string> {
  const { p12 } = await identityFiles("nss", id);
  const db = `sql:${await Deno.makeTempDir({ dir: work, prefix: "nssdb-" })}`;
  await run("certutil", ["-N", "-d", db, "--empty-password"]);
  await run("pk12util", ["-i", p12, "-d", db, "-W", "pw"]);
  await run("certutil", ["-A", "-d", db, "-n", "root", "-t", "C,C,C", "-i", pki.rootFile]);
  await run("certutil", ["-A", "-d", db, "-n", "int", "-t", ",,", "-i", pki.intermediateFile]);
  const body = await put("nss-body.txt", BODY);
  const out = join(work, "nss.p7m");
  // -G signingTime, -P SMIMECapabilities, the chain up to the root included.
  await run("cmsutil", [
    "-S",
    "-d",
    db,
    "-N",
    "nss",
    "-G",
    "-P",
    "-H",
    "SHA256",
    "-i",
    body,
    "-o",
    out,
  ]);
  return opaqueMail(from, await Deno.readFile(out));
}

async function gpgsmSigned(from: string, id: IssuedIdentity): Promise<string> {
  const { p12 } = await identityFiles("gpg", id);
  const home = await Deno.makeTempDir({ dir: work, prefix: "gnupg-" });
  await Deno.chmod(home, 0o700);
  await Deno.writeTextFile(join(home, "gpgsm.conf"), "disable-crl-checks\n");
  await Deno.writeTextFile(join(home, "gpg-agent.conf"), "allow-loopback-pinentry\n");
  const env = { GNUPGHOME: home };
  const gpgsm = (args: string[], stdin?: string) =>
    run("gpgsm", ["--batch", "--pinentry-mode", "loopback", ...args], { env, stdin });
  try {
    await gpgsm(["--passphrase-fd", "0", "--import", p12], "pw\n");
    await gpgsm(["--import", pki.rootFile, pki.intermediateFile]);
    const listing = decoder.decode(await gpgsm(["--with-colons", "--list-keys", "Test Root"]));
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
    assert(fingerprint, `no root fingerprint in: ${listing}`);
    await Deno.writeTextFile(join(home, "trustlist.txt"), `${fingerprint} S\n`);
    const body = await put("gpg-body.txt", BODY);
    const signature = await gpgsm([
      "--passphrase-fd",
      "0",
      "--disable-crl-checks",
      "--include-certs",
      "-1",
      "-u",
      "gpg@example.com",
      "--detach-sign",
      "-o",
      "-",
      body,
    ], "pw\n"); // deno-fmt-ignore
    return detachedMail(from, signature);
  } finally {
    await new Deno.Command("gpgconf", { args: ["--kill", "gpg-agent"], env }).output();
  }
}

Deno.test("keys import takes signers of openssl, NSS cmsutil and gpgsm; send --encrypt to each opens with openssl", async () => {
  const ids = {
    osl: await pki.issue({ email: "osl@example.com", key: "RSA-2048" }),
    nss: await pki.issue({ email: "nss@example.com", key: "RSA-2048" }),
    gpg: await pki.issue({ email: "gpg@example.com", key: "RSA-2048" }),
  };
  const inputs = [
    await put("osl.eml", await opensslSigned("osl@example.com", ids.osl)),
    await put("nss.eml", await nssSigned("NSS User <nss@example.com>", ids.nss)),
    await put("gpg.eml", await gpgsmSigned('"G, P" <gpg@example.com>', ids.gpg)),
  ];
  const keys = await Deno.makeTempDir({ dir: work, prefix: "keys-" });
  const imported = await runCli([
    "keys",
    "import",
    ...inputs,
    "--keys",
    keys,
    "--trust",
    pki.trustFile,
    "--json",
  ]); // deno-fmt-ignore
  assertEquals(imported.code, 0, imported.stderr + imported.text);
  const lines = imported.text.trimEnd().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => `${l.status} ${l.address}`), [
    "imported osl@example.com",
    "imported nss@example.com",
    "imported gpg@example.com",
  ]);
  for (const line of lines) assert(line.capabilities?.length > 0, `${line.source}: capabilities`);

  for (const [name, id] of Object.entries(ids)) {
    const message = await put(
      `to-${name}.eml`,
      `From: sender@example.com\r\nTo: ${name}@example.com\r\nSubject: s\r\n\r\nsecret ${name}\r\n`,
    );
    const sealed = await runCli([
      "send",
      message,
      "--encrypt",
      "--no-encrypt-to-self",
      "--keys",
      keys,
      "--trust",
      pki.trustFile,
    ]); // deno-fmt-ignore
    assertEquals(sealed.code, 0, sealed.stderr);
    const { cert, key } = await identityFiles(`${name}-recipient`, id);
    const plain = await run("openssl", [
      "cms",
      "-decrypt",
      "-in",
      await put(`sealed-${name}.eml`, sealed.stdout),
      "-recip",
      cert,
      "-inkey",
      key,
    ]); // deno-fmt-ignore
    assertIncludes(decoder.decode(plain), `secret ${name}`);
  }
});

Deno.test("keys import: one line per input, exit 3 for some refused, 65 for all, 66 missing, 64 without --trust; --dry-run writes nothing", async () => {
  const id = await pki.issue({ email: "mbox@example.com", key: "RSA-2048" });
  const good = await opensslSigned("mbox@example.com", id);
  const forged = good.replace("From: mbox@example.com", "From: mallory@example.com");
  const mbox = await put(
    "two.mbox",
    `From a@b Thu Jan  1 00:00:00 2026\n${good}\nFrom a@b Thu Jan  1 00:00:00 2026\n${forged}\n`,
  );
  const keys = await Deno.makeTempDir({ dir: work, prefix: "keys-" });
  const flags = ["--keys", keys, "--trust", pki.trustFile];

  const dry = await runCli(["keys", "import", mbox, "--dry-run", ...flags]);
  assertEquals(dry.code, 3, dry.stderr);
  assertEquals(Array.from(Deno.readDirSync(keys)).length, 0, "--dry-run wrote a file");

  const partial = await runCli(["keys", "import", mbox, ...flags]);
  assertEquals(partial.code, 3, partial.stderr);
  const [first, second] = partial.text.trimEnd().split("\n");
  assertMatch(
    first!,
    /^.*two\.mbox message 1: imported mbox@example\.com -> .*mbox@example\.com\.crt \(RSA-2048, valid until \d{4}-\d\d-\d\d, capabilities aes256-cbc/,
  );
  assertMatch(
    second!,
    /two\.mbox message 2: refused: From mallory@example\.com is not the signer's address/,
  );

  const refused = await runCli(["keys", "import", await put("forged.eml", forged), ...flags]);
  assertEquals(refused.code, 65, refused.stderr);
  const missing = await runCli(["keys", "import", join(work, "nope.eml"), ...flags]);
  assertEquals(missing.code, 66, missing.stderr);
  assertMatch(missing.text, /nope\.eml: refused: Cannot read .*nope\.eml: no such file/);
  const untrusted = await runCli(["keys", "import", mbox, "--keys", keys]);
  assertEquals(untrusted.code, 64, untrusted.stderr);
  assertIncludes(untrusted.stderr, "--trust");
});

Deno.test("keys import: a leaf-only .cer imports through the intermediate in the key folder, and the file written carries it", async () => {
  const id = await pki.issue({ email: "partner@example.com", key: "RSA-2048" });
  const keys = await Deno.makeTempDir({ dir: work, prefix: "keys-" });
  await Deno.copyFile(pki.intermediateFile, join(keys, "intermediate.crt"));
  const cer = await put("partner.cer", id.certificate);
  const result = await runCli(["keys", "import", cer, "--keys", keys, "--trust", pki.trustFile]);
  assertEquals(result.code, 0, result.text + result.stderr);
  assertMatch(result.text, /partner\.cer: imported partner@example\.com -> /);
  const stored = loadPemBundle(await Deno.readFile(join(keys, "partner@example.com.crt")), "f");
  assertEquals(stored, [id.certificate, pki.intermediateDer]);
});

Deno.test("keys import: mail that `openssl cms -sign` made of a whole message imports under the signed content's From, as verify trusts it", async () => {
  const id = await pki.issue({ email: "whole@example.com", key: "RSA-2048" });
  const { cert, key } = await identityFiles("whole", id);
  const message = await put("whole-in.eml", headers("whole@example.com") + BODY);
  const signed = await run("openssl", [
    "cms",
    "-sign",
    "-nodetach",
    "-signer",
    cert,
    "-inkey",
    key,
    "-certfile",
    pki.intermediateFile,
    "-in",
    message,
  ]); // deno-fmt-ignore
  const file = await put("whole.eml", signed);
  const verified = await runCli(["verify", file, "--trust", pki.trustFile]);
  assertEquals(verified.code, 0, verified.text + verified.stderr);
  const keys = await Deno.makeTempDir({ dir: work, prefix: "keys-" });
  const result = await runCli(["keys", "import", file, "--keys", keys, "--trust", pki.trustFile]);
  assertEquals(result.code, 0, result.text + result.stderr);
  assertMatch(result.text, /whole\.eml: imported whole@example\.com -> /);
});
