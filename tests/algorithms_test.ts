/**
 * Algorithms per recipient, end to end: the copies a message to RSA
 * recipients with and without recorded SMIMECapabilities and to an EC
 * recipient turns into, opened by the clients that have to open them: NSS
 * `cmsutil` (Thunderbird's library) and `openssl cms`.
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { openssl, testPki } from "./support/helpers.ts";
import { cmsutilDecode, nssAvailable, nssDatabase } from "./support/nss.ts";
import { runCli } from "../scripts/run_cli.ts";
import { startSink } from "../core/sink/mod.ts";
import type { StoredMessage } from "../core/sink/mod.ts";
import { KeyStore, loadPemBundle } from "../core/keys/mod.ts";
import { parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import { announce, capabilitiesBlock } from "../core/keys/test_util.ts";

const ALICE = "alice@example.com"; // RSA-2048 sender, announces GCM + OAEP
const BOB = "bob@example.com"; // RSA-3072, no recorded capabilities
const DAVE = "dave@example.org"; // RSA-2048, announces GCM + OAEP
const CAROL = "carol@example.net"; // EC P-256, no recorded capabilities
const ERIN = "erin@example.com"; // EC P-384

const ignore = !nssAvailable();

/**
 * A key folder copied from the test PKI, with alice's and dave's files
 * recording the capabilities smimepost itself announces.
 */
async function announcedFolder(): Promise<string> {
  const pki = await testPki();
  const dir = await Deno.makeTempDir({ prefix: "smimepost-algorithms-" });
  for (const address of [ALICE, BOB, DAVE, CAROL, ERIN]) {
    await Deno.copyFile(`${pki}/${address}.crt`, `${dir}/${address}.crt`);
    await Deno.copyFile(`${pki}/${address}.pem`, `${dir}/${address}.pem`);
    await Deno.chmod(`${dir}/${address}.pem`, 0o600);
  }
  await Deno.copyFile(`${pki}/trust.pem`, `${dir}/trust.pem`);
  const block = capabilitiesBlock(await announce(["cbc256", "cbc128", "gcm256", "oaep256", "rsa"]));
  for (const address of [ALICE, DAVE]) {
    await Deno.writeTextFile(`${dir}/${address}.crt`, block, { append: true });
  }
  return dir;
}

/** Runs `fn` with a fresh key folder, removed afterwards. */
async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await announcedFolder();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** `openssl cms -decrypt` of an S/MIME message with `address`'s key. */
async function opensslOpens(dir: string, address: string, message: Uint8Array) {
  const run = await openssl([
    "cms",
    "-decrypt",
    "-binary",
    "-recip",
    `${dir}/${address}.crt`,
    "-inkey",
    `${dir}/${address}.pem`,
  ], message);
  assertEquals(run.code, 0, `openssl cms -decrypt for ${address}: ${run.stderr}`);
  return run.stdout;
}

/** The DER CMS object of an S/MIME message, as openssl reads it. */
async function cmsDer(message: Uint8Array): Promise<Uint8Array> {
  const run = await openssl(["cms", "-cmsout", "-inform", "SMIME", "-outform", "DER"], message);
  assertEquals(run.code, 0, run.stderr);
  return run.stdout;
}

/** openssl's dump of the CMS object: RecipientInfo kinds and algorithms. */
async function cmsDump(message: Uint8Array): Promise<string> {
  const run = await openssl(["cms", "-cmsout", "-print", "-inform", "SMIME"], message);
  assertEquals(run.code, 0, run.stderr);
  return text(run.stdout);
}

function header(message: Uint8Array, name: string): string | undefined {
  const head = text(message).split("\r\n\r\n")[0]!;
  return new RegExp(`^${name}: (.*)$`, "im").exec(head)?.[1];
}

const MESSAGE = `From: Alice <${ALICE}>\nTo: Bob <${BOB}>, ${DAVE}\nCc: Carol <${CAROL}>\n` +
  `Subject: Statement\n\nYour statement is ready.\n`;

Deno.test({
  name: "send: RSA and EC recipients get separate copies, opened by NSS cmsutil and openssl",
  ignore,
  async fn() {
    await withFolder(async (dir) => {
      await Deno.writeTextFile(`${dir}/m.eml`, MESSAGE);
      const sink = await startSink({ port: 0 });
      let received: StoredMessage[];
      try {
        const run = await runCli(
          ["send", "m.eml", "--sign", "--encrypt", "--send_smtp", "--keys", dir],
          {
            cwd: dir,
            env: { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) },
          },
        );
        assertEquals(run.code, 0, run.stderr);
        received = [...sink.received];
      } finally {
        await sink.close();
      }
      assertEquals(received.map((m) => m.rcptTo), [[BOB, DAVE], [CAROL]]);
      const [rsaCopy, ecCopy] = received.map((m) => m.data) as [Uint8Array, Uint8Array];
      for (const name of ["To", "Cc", "From", "Subject", "Message-ID"]) {
        assertEquals(header(rsaCopy, name), header(ecCopy, name), name);
      }

      // The RSA copy: CBC (bob announced nothing), no key agreement,
      // OAEP for dave and alice who announced it, PKCS#1 v1.5 for bob.
      const dump = await cmsDump(rsaCopy);
      assertMatch(dump, /contentEncryptionAlgorithm:\s+algorithm: aes-256-cbc/);
      assert(
        !/d\.kari|originatorKey|dhSinglePass/.test(dump),
        "an EC RecipientInfo in the RSA copy",
      );
      assertEquals(dump.match(/algorithm: rsaesOaep/g)?.length, 2, dump);
      assertEquals(dump.match(/algorithm: rsaEncryption/g)?.length, 1, dump);

      const db = await nssDatabase(`${dir}/nss-bob`, `${dir}/${BOB}.crt`, `${dir}/${BOB}.pem`);
      const nss = await cmsutilDecode(db, await cmsDer(rsaCopy), dir);
      assertEquals(nss.code, 0, `cmsutil -D: ${nss.stderr}`);
      const inner = await opensslOpens(dir, BOB, rsaCopy);
      assertEquals(text(nss.stdout), text(inner), "NSS and openssl recover the same entity");
      assertEquals(text(await opensslOpens(dir, DAVE, rsaCopy)), text(inner));
      assertEquals(text(await opensslOpens(dir, ALICE, rsaCopy)), text(inner));

      // The EC copy: openssl opens it for carol and for the sender.
      assertMatch(await cmsDump(ecCopy), /dhSinglePass-stdDH-sha256kdf-scheme/);
      assertEquals(text(await opensslOpens(dir, CAROL, ecCopy)), text(inner));
      assertEquals(text(await opensslOpens(dir, ALICE, ecCopy)), text(inner));

      // What both copies carry is alice's signature over the message.
      const verified = await openssl([
        "cms",
        "-verify",
        "-CAfile",
        `${dir}/trust.pem`,
        "-purpose",
        "smimesign",
      ], inner);
      assertEquals(verified.code, 0, verified.stderr);
      assertMatch(text(verified.stdout), /Your statement is ready\./);
    });
  },
});

Deno.test("sealMessage() uses AES-GCM only for a copy whose recipients and sender all announced it", async () => {
  await withFolder(async (dir) => {
    const keys = new KeyStore({
      dir,
      trustAnchors: loadPemBundle(await Deno.readFile(`${dir}/trust.pem`), "trust.pem"),
    });
    const seal = async (to: string) =>
      (await sealMessage(
        parseMessage(new TextEncoder().encode(`From: ${ALICE}\nTo: ${to}\n\nhi\n`), "g.eml"),
        keys,
        { sign: false, detached: false, encrypt: true },
      )).copies;
    const [gcm] = await seal(DAVE);
    assertMatch(header(gcm!.bytes, "Content-Type") ?? "", /smime-type=authEnveloped-data/);
    assertMatch(await cmsDump(gcm!.bytes), /algorithm: aes-256-gcm/);
    assertMatch(text(await opensslOpens(dir, DAVE, gcm!.bytes)), /^hi\r?\n$/m);
    assertMatch(text(await opensslOpens(dir, ALICE, gcm!.bytes)), /hi/);

    const [mixed] = await seal(`${DAVE}, ${BOB}`);
    assertMatch(header(mixed!.bytes, "Content-Type") ?? "", /smime-type=enveloped-data/);
    assertMatch(await cmsDump(mixed!.bytes), /algorithm: aes-256-cbc/);
  });
});

Deno.test({
  name: "sealMessage() from an EC sender: the RSA copy leaves the sender out, so NSS opens it",
  ignore,
  async fn() {
    await withFolder(async (dir) => {
      const keys = new KeyStore({ dir });
      const message = `From: ${CAROL}\nTo: ${BOB}, ${ERIN}\n\nhi\n`;
      const result = await sealMessage(
        parseMessage(new TextEncoder().encode(message), "ec.eml"),
        keys,
        { sign: true, detached: false, encrypt: true },
      );
      assertEquals(result.copies.map((c) => c.recipients), [[BOB], [ERIN]]);
      assert(
        result.warnings.some((w) => /copy to bob@example\.com to the sender's EC/.test(w)),
        result.warnings.join("\n"),
      );
      const [rsaCopy, ecCopy] = result.copies.map((c) => c.bytes) as [Uint8Array, Uint8Array];
      const db = await nssDatabase(`${dir}/nss-bob`, `${dir}/${BOB}.crt`, `${dir}/${BOB}.pem`);
      const nss = await cmsutilDecode(db, await cmsDer(rsaCopy), dir);
      assertEquals(nss.code, 0, `cmsutil -D: ${nss.stderr}`);
      await opensslOpens(dir, ERIN, ecCopy);
      await opensslOpens(dir, CAROL, ecCopy);
    });
  },
});

Deno.test({
  name:
    "send to stdout refuses RSA + EC recipients (exit 64) unless --single-copy, whose copy NSS rejects",
  ignore,
  async fn() {
    await withFolder(async (dir) => {
      const message = `From: ${ALICE}\nTo: ${BOB}, ${CAROL}\n\nhi\n`;
      await Deno.writeTextFile(`${dir}/m.eml`, message);
      const refused = await runCli(["send", "m.eml", "--encrypt", "--keys", dir], { cwd: dir });
      assertEquals(refused.code, 64, refused.stderr);
      assertEquals(refused.stdout.length, 0);
      assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);
      assertMatch(refused.stderr, /m\.eml: EC recipients \(carol@example\.net\).*--single-copy/);

      const single = await runCli(
        ["send", "m.eml", "--encrypt", "--single-copy", "--keys", dir],
        { cwd: dir },
      );
      assertEquals(single.code, 0, single.stderr);
      await opensslOpens(dir, BOB, single.stdout);
      await opensslOpens(dir, CAROL, single.stdout);
      // Why the copies are split by default: one EC RecipientInfo, and NSS
      // 3.87 opens the message for nobody (FIELD.md).
      const db = await nssDatabase(`${dir}/nss-bob`, `${dir}/${BOB}.crt`, `${dir}/${BOB}.pem`);
      const nss = await cmsutilDecode(db, await cmsDer(single.stdout), dir);
      assert(nss.code !== 0, "NSS opened a message with an EC RecipientInfo");
    });
  },
});
