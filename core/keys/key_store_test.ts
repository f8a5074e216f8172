import { strict as assert } from "node:assert";
import { bytesToLatin1 } from "../bytes.ts";
import { createPrivateKey } from "node:crypto";
import { join } from "node:path";
import { KeyStore, loadPemBundle, normaliseAddress } from "./mod.ts";
import type { KeyStoreOptions } from "./types.ts";
import { freshPki, openssl, rejectsWith } from "./test_util.ts";
import { makePkcs12, writeTestFile } from "../../scripts/make_pki.ts";

const pki = await freshPki();
const trustAnchors = loadPemBundle(await Deno.readFile(pki.trustFile), pki.trustFile);
const messages: string[] = [];
const secrets = Object.values(pki.passphrases);

function passphrases(file: string): Promise<string | undefined> {
  const hit = Object.entries(pki.passphrases).find(([address]) => file.includes(address));
  return Promise.resolve(hit?.[1]);
}

function store(extra: Partial<KeyStoreOptions> = {}): KeyStore {
  return new KeyStore({ dir: pki.dir, trustAnchors, passphrase: passphrases, ...extra });
}

async function refused(promise: Promise<unknown>, code: Parameters<typeof rejectsWith>[1]) {
  const err = await rejectsWith(promise, code);
  messages.push(err.message);
  return err;
}

/** A folder with extra identities for one test. */
async function folder(name: string): Promise<string> {
  const dir = join(pki.dir, "..", name);
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

Deno.test("signerFor() loads RSA, EC, PKCS#12 and encrypted PKCS#8 identities that match", async () => {
  const keys = store();
  const expected: Record<string, string> = {
    "alice@example.com": "RSA-2048",
    "bob@example.com": "RSA-3072",
    "carol@example.net": "EC P-256",
    "erin@example.com": "EC P-384",
    "dave@example.org": "RSA-2048",
    "frank@example.com": "RSA-2048",
    "grace@example.com": "RSA-2048",
  };
  for (const [address, algorithm] of Object.entries(expected)) {
    const signer = await keys.signerFor(address);
    assert.equal(signer.keyAlgorithm, algorithm, address);
    assert.equal(signer.chain.length, 1, address);
    assert.deepEqual(signer.warnings, [], address);
    assert.equal(signer.identity.certificate, signer.certificate);
    const key = createPrivateKey({
      key: signer.identity.privateKey as never,
      format: "der",
      type: "pkcs8",
    });
    assert.equal(key.asymmetricKeyType, algorithm.startsWith("RSA") ? "rsa" : "ec");
    const encrypt = await keys.certificateFor(address, "encrypt");
    assert.deepEqual(encrypt.certificate, signer.certificate);
  }
});

Deno.test("certificateFor() matches the address case-insensitively and caches the entry", async () => {
  const keys = store();
  const first = await keys.certificateFor("Alice <ALICE@Example.COM>", "encrypt");
  assert.equal(first.address, "alice@example.com");
  assert.equal(await keys.certificateFor("Alice <ALICE@Example.COM>", "encrypt"), first);
  const again = await keys.certificateFor("alice@example.com", "encrypt");
  assert.deepEqual(again.certificate, first.certificate);
});

Deno.test("certificateFor() warns that the chain is unchecked without --trust", async () => {
  const entry = await store({ trustAnchors: undefined }).certificateFor(
    "bob@example.com",
    "encrypt",
  );
  assert.deepEqual(entry.warnings, [
    "chain not checked (no trust bundle: --trust, SMIMEPOST_TRUST or trust in the config file)",
  ]);
});

Deno.test("signerFor() reads PKCS#1, SEC1, legacy-encrypted, 3DES PKCS#8 and DER keys made by openssl", async () => {
  const dir = await folder("traditional");
  const cases: [string, string, string[]][] = [
    ["alice@example.com", "alice@example.com", ["rsa", "-traditional"]],
    ["carol@example.net", "carol@example.net", ["ec"]],
    ["dave@example.org", "dave@example.org", [
      "rsa",
      "-traditional",
      "-aes256",
      "-passout",
      "pass:legacy-pw",
    ]],
    ["bob@example.com", "bob@example.com", [
      "pkcs8",
      "-topk8",
      "-v1",
      "PBE-SHA1-3DES",
      "-passout",
      "pass:legacy-pw",
    ]],
    ["erin@example.com", "erin@example.com", ["pkey", "-outform", "DER"]],
  ];
  for (const [address, source, args] of cases) {
    const src = join(pki.dir, source);
    const out = join(dir, `${address}.${args.includes("DER") ? "key" : "pem"}`);
    const result = await openssl([...args, "-in", `${src}.pem`, "-out", out]);
    assert.ok(result.ok, result.out);
    await Deno.chmod(out, 0o600);
    await Deno.copyFile(`${src}.crt`, join(dir, `${address}.crt`));
  }
  const text = await Deno.readTextFile(join(dir, "alice@example.com.pem"));
  assert.match(text, /BEGIN RSA PRIVATE KEY/);
  assert.match(await Deno.readTextFile(join(dir, "carol@example.net.pem")), /BEGIN EC PRIVATE KEY/);
  assert.match(
    await Deno.readTextFile(join(dir, "dave@example.org.pem")),
    /Proc-Type: 4,ENCRYPTED/,
  );
  const keys = new KeyStore({ dir, trustAnchors, passphrase: () => Promise.resolve("legacy-pw") });
  for (const [address] of cases) {
    const signer = await keys.signerFor(address);
    assert.ok(signer.identity.privateKey.length > 100, address);
  }
});

Deno.test("certificateFor() refuses a missing address with E_CERT_NOT_FOUND naming what it looked for", async () => {
  const err = await refused(
    store().certificateFor("nobody@example.com", "sign"),
    "E_CERT_NOT_FOUND",
  );
  assert.match(err.message, /nobody@example\.com\.crt.*nobody@example\.com\.p12/);
});

Deno.test("normaliseAddress() refuses names that could leave the key folder", () => {
  assert.equal(normaliseAddress(" Bob@Example.com "), "bob@example.com");
  for (const bad of ["../etc/passwd@x", "a/b@example.com", "no-at-sign", "a@b@c", ""]) {
    assert.throws(
      () => normaliseAddress(bad),
      (e: Error & { code?: string }) => e.code === "E_CERT_NOT_FOUND",
    );
  }
});

Deno.test("certificateFor() refuses expired and wrong-address certificates, naming address and file", async () => {
  const expired = await refused(
    store().certificateFor("expired@example.com", "encrypt"),
    "E_CERT_INVALID",
  );
  assert.match(
    expired.message,
    /^Cannot encrypt to "expired@example\.com": certificate expired on \d{4}-\d\d-\d\d \(.*expired@example\.com\.crt\)$/,
  );
  const wrong = await refused(store().signerFor("wrongaddr@example.com"), "E_CERT_INVALID");
  assert.match(wrong.message, /someone@else\.example, not "wrongaddr@example\.com"/);
});

Deno.test("certificateFor() refuses a not-yet-valid certificate", async () => {
  const past = new Date(Date.now() - 5 * 86_400_000);
  const err = await refused(
    store({ now: past, trustAnchors: undefined }).certificateFor("alice@example.com", "sign"),
    "E_CERT_INVALID",
  );
  assert.match(err.message, /not valid before/);
});

Deno.test("allowInvalid lets an expired certificate through with a warning", async () => {
  const entry = await store({ allowInvalid: true }).signerFor("expired@example.com");
  assert.ok(
    entry.warnings.some((w) =>
      /^certificate expired on .*, allowed by --allow-invalid-cert$/.test(w)
    ),
  );
});

Deno.test("certificateFor() applies keyUsage, extendedKeyUsage, CA and key-size rules", async () => {
  const dir = await folder("usage");
  const { digitalSignature, keyEncipherment, nonRepudiation } = await import("@peculiar/x509").then(
    (m) => m.KeyUsageFlags,
  );
  const specs = {
    "signonly@example.com": { keyUsage: digitalSignature },
    "enconly@example.com": { keyUsage: keyEncipherment },
    "nronly@example.com": { keyUsage: nonRepudiation },
    "server@example.com": { extKeyUsage: ["1.3.6.1.5.5.7.3.1"] },
    "anyeku@example.com": { extKeyUsage: ["2.5.29.37.0"] },
    "ca@example.com": { ca: true },
    "weak@example.com": { key: "RSA-1024" as const },
    "self@example.com": { selfSigned: true },
  };
  const selfCert: Uint8Array[] = [];
  for (const [address, spec] of Object.entries(specs)) {
    const id = await pki.issue({ email: address, key: "RSA-2048", ...spec });
    if (address.startsWith("self")) selfCert.push(id.certificate);
    await writeTestFile(join(dir, `${address}.crt`), id.chainPem);
    await writeTestFile(join(dir, `${address}.pem`), id.privateKeyPem, true);
  }
  const keys = new KeyStore({ dir, trustAnchors });
  await keys.signerFor("signonly@example.com");
  await refused(keys.certificateFor("signonly@example.com", "encrypt"), "E_CERT_INVALID");
  await keys.certificateFor("enconly@example.com", "encrypt");
  await refused(keys.signerFor("enconly@example.com"), "E_CERT_INVALID");
  await keys.signerFor("nronly@example.com"); // RFC 8550 4.4.2
  const eku = await refused(keys.certificateFor("server@example.com", "encrypt"), "E_CERT_INVALID");
  assert.match(eku.message, /emailProtection/);
  // OpenSSL and NSS both refuse a signer whose only extendedKeyUsage is anyExtendedKeyUsage.
  const any = await refused(keys.signerFor("anyeku@example.com"), "E_CERT_INVALID");
  assert.match(any.message, /emailProtection/);
  const ca = await refused(keys.certificateFor("ca@example.com", "encrypt"), "E_CERT_INVALID");
  assert.match(ca.message, /CA certificate/);
  const weak = await keys.signerFor("weak@example.com");
  assert.ok(weak.warnings.some((w) => /RSA-1024 key is weak/.test(w)));
  await refused(keys.signerFor("self@example.com"), "E_CERT_INVALID");
  const lax = await new KeyStore({ dir, allowInvalid: true }).signerFor("self@example.com");
  assert.ok(lax.warnings.some((w) => /self-signed, allowed by --allow-invalid-cert/.test(w)));
  const anchored = new KeyStore({ dir, trustAnchors: [...trustAnchors, ...selfCert] });
  assert.deepEqual((await anchored.signerFor("self@example.com")).warnings, []);
});

Deno.test("certificateFor() checks the chain: trusted with trust.pem, E_CHAIN with an unrelated root", async () => {
  await store().certificateFor("carol@example.net", "encrypt");
  const other = await pki.issue({
    email: "",
    key: "EC P-256",
    selfSigned: true,
    ca: true,
    keyUsage: null,
  });
  const err = await refused(
    store({ trustAnchors: [other.certificate] }).certificateFor("carol@example.net", "encrypt"),
    "E_CHAIN",
  );
  assert.match(err.message, /chain not trusted: .*Test Root/);
  // The intermediate may come from the trust bundle instead of the .crt file.
  const dir = await folder("leafonly");
  const leaf = loadPemBundle(await Deno.readFile(join(pki.dir, "bob@example.com.crt")), "bob")[0]!;
  await writeTestFile(join(dir, "bob@example.com.crt"), leaf); // DER where PEM is usual
  const bundle = [pki.intermediateDer, ...trustAnchors];
  const entry = await new KeyStore({ dir, trustAnchors: bundle }).certificateFor(
    "bob@example.com",
    "encrypt",
  );
  // An anchor that is not a root goes with the leaf: recipients may hold only the root.
  assert.deepEqual(entry.chain, [pki.intermediateDer]);
  await refused(
    new KeyStore({ dir, trustAnchors }).certificateFor("bob@example.com", "encrypt"),
    "E_CHAIN",
  );
});

Deno.test("signerFor() refuses a key that does not match the certificate, naming both files", async () => {
  const dir = await folder("mismatch");
  await Deno.copyFile(join(pki.dir, "alice@example.com.crt"), join(dir, "alice@example.com.crt"));
  await Deno.copyFile(join(pki.dir, "dave@example.org.pem"), join(dir, "alice@example.com.pem"));
  const err = await refused(new KeyStore({ dir }).signerFor("alice@example.com"), "E_KEY_MISMATCH");
  assert.match(
    err.message,
    /alice@example\.com\.pem does not match certificate .*alice@example\.com\.crt/,
  );
  await Deno.remove(join(dir, "alice@example.com.pem"));
  await refused(new KeyStore({ dir }).signerFor("alice@example.com"), "E_KEY_NOT_FOUND");
});

Deno.test("passphrases: wrong or missing gives E_PASSPHRASE naming the file, never the passphrase", async () => {
  const wrong = (file: string) => Promise.resolve(`wrong-secret-for-${file.length}`);
  for (const address of ["grace@example.com", "frank@example.com"]) {
    const err = await refused(store({ passphrase: wrong }).signerFor(address), "E_PASSPHRASE");
    assert.match(err.message, new RegExp(`wrong passphrase for key file .*${address}`));
    assert.ok(!err.message.includes("wrong-secret"));
    const none = await refused(store({ passphrase: undefined }).signerFor(address), "E_PASSPHRASE");
    assert.match(none.message, /is encrypted; set SMIMEPOST_PASSPHRASE, use --passphrase-file/);
  }
});

Deno.test("signerFor() refuses a PKCS#12 without a key; certificateFor() still encrypts to it", async () => {
  const dir = await folder("nokey");
  const cert = loadPemBundle(await Deno.readFile(join(pki.dir, "dave@example.org.crt")), "dave");
  await writeTestFile(
    join(dir, "dave@example.org.p12"),
    await makePkcs12(undefined, cert, { password: "p" }),
  );
  const keys = new KeyStore({ dir, trustAnchors, passphrase: () => Promise.resolve("p") });
  await keys.certificateFor("dave@example.org", "encrypt");
  await refused(keys.signerFor("dave@example.org"), "E_KEY_NOT_FOUND");
});

Deno.test("PKCS#12 from openssl: 3DES and legacy RC2 (40 and 128-bit) open", async () => {
  const dir = await folder("openssl-p12");
  const p12 = (address: string) => join(dir, `${address}.p12`);
  const base = (address: string) => {
    const src = join(pki.dir, address);
    return ["pkcs12", "-export", "-inkey", `${src}.pem`, "-in", `${src}.crt`];
  };
  const tdes = await openssl([
    ...base("alice@example.com"),
    "-passout",
    "pass:p12-pw",
    "-keypbe",
    "PBE-SHA1-3DES",
    "-certpbe",
    "PBE-SHA1-3DES",
    "-macalg",
    "sha1",
    "-out",
    p12("alice@example.com"),
  ]);
  assert.ok(tdes.ok, tdes.out);
  const keys = new KeyStore({ dir, trustAnchors, passphrase: () => Promise.resolve("p12-pw") });
  assert.equal((await keys.signerFor("alice@example.com")).chain.length, 1);

  // OpenSSL 1.x / Windows style: RC2-40 certificate bag, 3DES key bag, SHA-1 MAC.
  const legacy = ["-passout", "pass:p12-pw", "-out", p12("bob@example.com")];
  let rc2 = await openssl([...base("bob@example.com"), "-legacy", ...legacy]);
  if (!rc2.ok) {
    rc2 = await openssl([
      ...base("bob@example.com"),
      ...["-certpbe", "PBE-SHA1-RC2-40", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
      ...["-provider", "legacy", "-provider", "default", ...legacy],
    ]);
  }
  const rc2128 = await openssl([
    ...base("dave@example.org"),
    ...["-certpbe", "PBE-SHA1-RC2-128", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
    ...["-provider", "legacy", "-provider", "default", "-passout", "pass:p12-pw"],
    ...["-out", p12("dave@example.org")],
  ]);
  if (!rc2.ok || !rc2128.ok) {
    console.warn(`openssl cannot write RC2 PKCS#12 here; RC2 part skipped: ${rc2.out}`);
    return;
  }
  for (const [file, bits] of [[p12("bob@example.com"), "40"], [p12("dave@example.org"), "128"]]) {
    const info = await openssl([
      ...["pkcs12", "-in", file!, "-info", "-noout", "-passin", "pass:p12-pw"],
      ...["-provider", "legacy", "-provider", "default"],
    ]);
    assert.match(info.out, new RegExp(`pbeWithSHA1And${bits}BitRC2-CBC`), info.out);
  }
  for (const address of ["bob@example.com", "dave@example.org"]) {
    const fresh = new KeyStore({ dir, trustAnchors, passphrase: () => Promise.resolve("p12-pw") });
    const signer = await fresh.signerFor(address);
    assert.equal(signer.chain.length, 1, address);
    assert.deepEqual(signer.warnings, [], address);
    const fromPem = await store().signerFor(address);
    assert.deepEqual(signer.certificate, fromPem.certificate, address);
    assert.deepEqual(signer.identity.privateKey, fromPem.identity.privateKey, address);
    const recipient = await fresh.recipientKeyFromFile(p12(address));
    assert.deepEqual(recipient.certificate, fromPem.certificate, address);
    assert.deepEqual(recipient.privateKey, fromPem.identity.privateKey, address);
  }
  const wrong = new KeyStore({ dir, passphrase: () => Promise.resolve("wrong-secret") });
  await refused(wrong.recipientKeyFromFile(p12("bob@example.com")), "E_PASSPHRASE");
});

Deno.test("key files readable by others are refused unless allowInsecurePermissions", async () => {
  const dir = await folder("perms");
  await Deno.copyFile(join(pki.dir, "carol@example.net.crt"), join(dir, "carol@example.net.crt"));
  await writeTestFile(
    join(dir, "carol@example.net.pem"),
    await Deno.readFile(join(pki.dir, "carol@example.net.pem")),
  );
  await Deno.chmod(join(dir, "carol@example.net.pem"), 0o644);
  const err = await refused(
    new KeyStore({ dir }).signerFor("carol@example.net"),
    "E_KEY_PERMISSIONS",
  );
  assert.match(
    err.message,
    /^permissions 0644 for .*carol@example\.net\.pem are too open; chmod 600 it, or pass --allow-insecure-key-permissions$/,
  );
  const lax = await new KeyStore({ dir, allowInsecurePermissions: true }).signerFor(
    "carol@example.net",
  );
  assert.ok(
    lax.warnings.some((w) => /too open, allowed by --allow-insecure-key-permissions/.test(w)),
  );
});

Deno.test("truncated and unreadable certificate files give E_CERT_INVALID and E_INPUT", async () => {
  const dir = await folder("broken");
  const pem = await Deno.readTextFile(join(pki.dir, "alice@example.com.crt"));
  await writeTestFile(join(dir, "alice@example.com.crt"), pem.slice(0, 500));
  const err = await refused(
    new KeyStore({ dir }).certificateFor("alice@example.com", "sign"),
    "E_CERT_INVALID",
  );
  assert.match(err.message, /alice@example\.com\.crt: PEM block is truncated/);
  await writeTestFile(join(dir, "bob@example.com.crt"), pem.replace(/^[A-Za-z0-9+/]{20}/m, "!!!!"));
  await refused(new KeyStore({ dir }).certificateFor("bob@example.com", "sign"), "E_CERT_INVALID");
  await Deno.mkdir(join(dir, "target"));
  await Deno.symlink(join(dir, "target"), join(dir, "erin@example.com.crt"));
  await refused(new KeyStore({ dir }).certificateFor("erin@example.com", "sign"), "E_INPUT");
});

Deno.test("recipientKeysFor() and recipientKeyFromFile() give matching certificate and key", async () => {
  const keys = store();
  const expired = await keys.recipientKeysFor("expired@example.com"); // old mail stays readable
  assert.ok(expired.privateKey.length > 0);
  const fromPem = await keys.recipientKeyFromFile(join(pki.dir, "bob@example.com.pem"));
  assert.deepEqual(
    fromPem.certificate,
    (await keys.certificateFor("bob@example.com", "encrypt")).certificate,
  );
  const fromP12 = await keys.recipientKeyFromFile(join(pki.dir, "frank@example.com.p12"));
  assert.equal(fromP12.file, join(pki.dir, "frank@example.com.p12"));
  const dir = await folder("lonekey");
  await writeTestFile(
    join(dir, "k.pem"),
    await Deno.readFile(join(pki.dir, "bob@example.com.pem")),
    true,
  );
  await refused(
    keys.recipientKeyFromFile(join(dir, "k.pem"), join(pki.dir, "alice@example.com.crt")),
    "E_KEY_MISMATCH",
  );
});

Deno.test("recipientKeyFromFile() without a certificate gives the key alone (PEM and PKCS#12)", async () => {
  const keys = store();
  const fromPem = await keys.recipientKeyFromFile(join(pki.dir, "bob@example.com.pem"));
  const dir = await folder("keyalone");
  await writeTestFile(
    join(dir, "k.pem"),
    await Deno.readFile(join(pki.dir, "bob@example.com.pem")),
    true,
  );
  const lone = await keys.recipientKeyFromFile(join(dir, "k.pem"));
  assert.equal(lone.certificate, undefined);
  assert.deepEqual(lone.privateKey, fromPem.privateKey);
  assert.equal(lone.file, join(dir, "k.pem"));
  // A PKCS#12 file with the key and no certificate, and one with somebody else's.
  const alice = (await keys.certificateFor("alice@example.com", "encrypt")).certificate;
  await writeTestFile(
    join(dir, "othercert.p12"),
    await makePkcs12(fromPem.privateKey, [alice], { password: "p" }),
    true,
  );
  const b64 = btoa(bytesToLatin1(fromPem.privateKey)).replace(/.{64}/g, "$&\n");
  const plainPem = `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
  await writeTestFile(join(dir, "plain.pem"), new TextEncoder().encode(plainPem), true);
  const exported = await openssl([
    "pkcs12",
    "-export",
    "-nocerts",
    "-inkey",
    join(dir, "plain.pem"),
    "-passout",
    "pass:p",
    "-out",
    join(dir, "nocert.p12"),
  ]);
  assert.ok(exported.ok, exported.out);
  await Deno.chmod(join(dir, "nocert.p12"), 0o600);
  for (const name of ["nocert.p12", "othercert.p12"]) {
    const fromP12 = await new KeyStore({ dir, passphrase: () => Promise.resolve("p") })
      .recipientKeyFromFile(join(dir, name));
    assert.equal(fromP12.certificate, undefined, name);
    assert.deepEqual(fromP12.privateKey, fromPem.privateKey, name);
  }
});

Deno.test("check() reports every file: good ones ok, problems named, encrypted keys without passphrase warned", async () => {
  const reports = await store({ passphrase: undefined }).check();
  const byName = new Map(reports.map((r) => [r.file.slice(pki.dir.length + 1), r]));
  assert.equal(byName.get("alice@example.com.crt")?.ok, true);
  assert.match(byName.get("alice@example.com.pem")?.summary ?? "", /key matches certificate/);
  assert.equal(byName.get("expired@example.com.crt")?.ok, false);
  assert.equal(byName.get("wrongaddr@example.com.crt")?.ok, false);
  assert.equal(byName.get("trust.pem")?.kind, "certificate");
  assert.equal(byName.get("frank@example.com.p12")?.kind, "pkcs12");
  assert.match(
    byName.get("grace@example.com.pem")?.warnings[0] ?? "",
    /encrypted; contents not checked/,
  );
  const withPass = await store().check();
  assert.ok(withPass.find((r) => r.file.endsWith("frank@example.com.p12"))?.ok);
});

Deno.test("no error message contains a passphrase or key material", () => {
  assert.ok(messages.length > 20);
  for (const message of messages) {
    for (const secret of [...secrets, "legacy-pw", "p12-pw", "wrong-secret", "PRIVATE KEY"]) {
      assert.ok(!message.includes(secret), message);
    }
    assert.ok(!message.includes("\n"), message);
  }
});

Deno.test("signerFor(): a signature carries the chain to the signer's issuer, not the file's other certificates", async () => {
  const dir = await folder("sentchain");
  const der = (file: string) => Deno.readFile(join(pki.dir, file));
  const [alice] = loadPemBundle(await der("alice@example.com.crt"), "alice");
  const [bob] = loadPemBundle(await der("bob@example.com.crt"), "bob");
  await Deno.copyFile(join(pki.dir, "alice@example.com.pem"), join(dir, "alice@example.com.pem"));
  await Deno.chmod(join(dir, "alice@example.com.pem"), 0o600);
  // A DER export holds the leaf alone; the intermediate is elsewhere in the folder.
  await writeTestFile(join(dir, "alice@example.com.crt"), alice!);
  await writeTestFile(join(dir, "intermediate.crt"), pki.intermediateDer);
  const options = { dir, passphrase: passphrases };
  for (const anchors of [trustAnchors, undefined]) {
    const signer = await new KeyStore({ ...options, trustAnchors: anchors }).signerFor(
      "alice@example.com",
    );
    assert.deepEqual(signer.identity.chain, [pki.intermediateDer], `anchors: ${!!anchors}`);
  }
  // Someone else's certificate in the signer's file (a p12 export, a pasted bundle) stays home.
  const pem = (d: Uint8Array) =>
    `-----BEGIN CERTIFICATE-----\n${btoa(bytesToLatin1(d))}\n-----END CERTIFICATE-----\n`;
  await Deno.writeTextFile(
    join(dir, "alice@example.com.crt"),
    pem(alice!) + pem(bob!) + pem(pki.intermediateDer),
  );
  await Deno.remove(join(dir, "intermediate.crt"));
  for (const anchors of [trustAnchors, undefined]) {
    const signer = await new KeyStore({ ...options, trustAnchors: anchors }).signerFor(
      "alice@example.com",
    );
    assert.deepEqual(signer.identity.chain, [pki.intermediateDer], `anchors: ${!!anchors}`);
  }
});

Deno.test("a renewed certificate added after the expired one is the one used, to sign and to encrypt", async () => {
  const dir = await folder("renewed");
  const day = 86_400_000;
  const old = await pki.issue({
    email: "renew@example.com",
    key: "RSA-2048",
    notBefore: new Date(Date.now() - 400 * day),
    notAfter: new Date(Date.now() - 30 * day),
  });
  const renewed = await pki.issue({ email: "renew@example.com", key: "RSA-2048" });
  // The old certificate first, as when the new one is appended to its file.
  await Deno.writeTextFile(join(dir, "renew@example.com.crt"), old.chainPem + renewed.chainPem);
  await Deno.writeTextFile(join(dir, "renew@example.com.pem"), renewed.privateKeyPem, {
    mode: 0o600,
  });
  const keys = new KeyStore({ dir, trustAnchors });
  const signer = await keys.signerFor("renew@example.com");
  assert.deepEqual(signer.certificate, renewed.certificate);
  assert.deepEqual(signer.identity.chain, [pki.intermediateDer]);
  const recipient = await keys.certificateFor("renew@example.com", "encrypt");
  assert.deepEqual(recipient.certificate, renewed.certificate);
});
