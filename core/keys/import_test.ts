/**
 * importMessage on messages and bags that `openssl` made: what is stored,
 * what is refused and why, and what the file looks like afterwards.
 */

import { strict as assert } from "node:assert";
import { join } from "node:path";
import { encode, oid, seq, Tag, tlv } from "../cms/der.ts";
import { Oid } from "../cms/oids.ts";
import { importMessage, type ImportOptions, MAX_CERTIFICATES } from "./import.ts";
import { CAPABILITIES_LABEL, readCapabilitiesBlock } from "./capabilities.ts";
import { KeyStore } from "./key_store.ts";
import { verifyMessage } from "../smime/verdict.ts";
import { loadPemBundle } from "./pem.ts";
import { freshPki, openssl } from "./test_util.ts";
import type { IssuedIdentity, TestPki } from "../../scripts/make_pki.ts";

const DAY = 86_400_000;
const pki: TestPki = await freshPki();
const work = await Deno.makeTempDir({ prefix: "smimepost-import-" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const trustAnchors = loadPemBundle(await Deno.readFile(pki.trustFile), pki.trustFile);
const encoder = new TextEncoder();
let counter = 0;

/** A fresh, empty key folder and the options to import into it. */
async function folder(extra: Partial<ImportOptions> = {}): Promise<ImportOptions> {
  const keysDir = await Deno.makeTempDir({ dir: work, prefix: "keys-" });
  return { keysDir, trustAnchors, dryRun: false, ...extra };
}

/** Writes `text` to a fresh file in the work folder; returns its path. */
async function file(name: string, data: string | Uint8Array): Promise<string> {
  const path = join(work, `${counter++}-${name}`);
  await Deno.writeFile(path, typeof data === "string" ? encoder.encode(data) : data);
  return path;
}

/** The leaf of a chain PEM (its first block). */
function leafPem(chainPem: string): string {
  return chainPem.slice(0, chainPem.indexOf("-----END CERTIFICATE-----") + 26);
}

const BODY = "Content-Type: text/plain\r\n\r\nPlease encrypt replies.\r\n";

/** Mail signed by `openssl cms -sign` as `signer`, with the From line `from`. */
async function signedMail(
  signer: IssuedIdentity,
  from: string,
  options: { detached?: boolean; certfile?: string; leafOnly?: boolean } = {},
): Promise<Uint8Array> {
  const cert = await file("signer.pem", leafPem(signer.chainPem));
  const key = await file("signer.key", signer.privateKeyPem);
  const body = await file("body.txt", BODY);
  const args = ["cms", "-sign", "-signer", cert, "-inkey", key, "-in", body, "-outform", "SMIME"];
  if (!options.detached) args.push("-nodetach");
  if (!options.leafOnly) args.push("-certfile", options.certfile ?? pki.intermediateFile);
  const run = await openssl(args);
  assert.ok(run.ok, run.out);
  return encoder.encode(`${from}\r\nTo: bob@example.com\r\nSubject: keys\r\n${run.out}`);
}

const alice = await pki.issue({ email: "alice@example.com", key: "RSA-2048" });

Deno.test("importMessage() stores the signer of opaque and detached openssl mail, then finds it unchanged", async () => {
  const options = await folder();
  const opaque = await signedMail(alice, "From: Alice <alice@example.com>");
  const [first] = await importMessage(opaque, "opaque.eml", options);
  assert.equal(first?.status, "imported", first?.reason);
  assert.equal(first?.address, "alice@example.com");
  assert.equal(first?.file, join(options.keysDir, "alice@example.com.crt"));
  const detached = await signedMail(alice, "From: alice@EXAMPLE.com", { detached: true });
  const [second] = await importMessage(detached, "detached.eml", options);
  assert.equal(second?.status, "unchanged", second?.reason);
  const stored = await Deno.readFile(first!.file!);
  const certs = loadPemBundle(stored, "stored");
  assert.deepEqual(certs, [alice.certificate, pki.intermediateDer], "leaf, then intermediate");
  // The stored file is what send encrypts to.
  const store = new KeyStore({ dir: options.keysDir, trustAnchors });
  const entry = await store.certificateFor("alice@example.com", "encrypt");
  assert.deepEqual(entry.certificate, alice.certificate);
});

Deno.test("importMessage() keeps the sender's SMIMECapabilities as a PEM block openssl reads", async () => {
  const options = await folder();
  const [outcome] = await importMessage(
    await signedMail(alice, "From: alice@example.com"),
    "caps.eml",
    options,
  );
  assert.deepEqual(outcome?.capabilities?.slice(0, 3), ["aes256-cbc", "aes192-cbc", "aes128-cbc"]);
  const stored = await Deno.readFile(outcome!.file!);
  const der = readCapabilitiesBlock(stored);
  assert.ok(der, `no ${CAPABILITIES_LABEL} block`);
  const parsed = await openssl(["asn1parse", "-inform", "DER", "-in", await file("caps.der", der)]);
  assert.ok(parsed.ok, parsed.out);
  assert.match(parsed.out, /^\s*0:d=0.*SEQUENCE/);
  assert.match(parsed.out, /OBJECT\s+:aes-256-cbc/);
  // A second import without capabilities (a bare certificate) keeps them.
  const crt = await file("alice.crt", alice.chainPem);
  const [again] = await importMessage(await Deno.readFile(crt), "alice.crt", options);
  assert.equal(again?.status, "unchanged", again?.reason);
  assert.deepEqual(readCapabilitiesBlock(await Deno.readFile(outcome!.file!)), der);
});

Deno.test("importMessage() refuses a broken signature and writes nothing", async () => {
  const options = await folder();
  const text = new TextDecoder().decode(
    await signedMail(alice, "From: alice@example.com", {
      detached: true,
    }),
  );
  const tampered = encoder.encode(text.replace("Please encrypt", "Please decrypt"));
  const [outcome] = await importMessage(tampered, "broken.eml", options);
  assert.equal(outcome?.status, "refused");
  assert.match(outcome!.reason!, /^signature BROKEN \(message digest mismatch/);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(options.keysDir)), []);
});

Deno.test("importMessage() refuses a look-alike self-signed signer (path not trusted)", async () => {
  const options = await folder();
  const forged = await pki.issue({ email: "alice@example.com", key: "RSA-2048", selfSigned: true });
  const [outcome] = await importMessage(
    await signedMail(forged, "From: alice@example.com"),
    "forged.eml",
    options,
  );
  assert.equal(outcome?.status, "refused");
  // Refused either by the path verdict or, should a path engine be fooled, by the leaf check.
  assert.match(outcome!.reason!, /NOT trusted|self-signed/);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(options.keysDir)), []);
});

/**
 * A throw-away CA nobody trusts, named like the test PKI's intermediate,
 * made by openssl in `dir` as ca.pem and ca.key.
 */
async function rogueCa(dir: string): Promise<string> {
  const p = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const ca = await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-subj",
    "/CN=smimepost Test Intermediate/O=smimepost test",
    "-days",
    "30",
    "-addext",
    "basicConstraints=critical,CA:true",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  assert.ok(ca.ok, ca.out);
  return p("ca.pem");
}

/** A leaf for `email` under a throw-away CA that nobody trusts, made by openssl. */
async function rogueIdentity(email: string): Promise<IssuedIdentity> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "rogue-" });
  const p = (name: string) => join(dir, name);
  await rogueCa(dir);
  const req = await openssl([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    p("leaf.key"),
    "-out",
    p("leaf.csr"),
    "-subj",
    "/CN=alice/O=smimepost test",
  ]);
  assert.ok(req.ok, req.out);
  await Deno.writeTextFile(
    p("ext"),
    `subjectAltName=email:${email}\n` +
      "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n",
  );
  const leaf = await openssl([
    "x509",
    "-req",
    "-in",
    p("leaf.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-set_serial",
    "7",
    "-days",
    "20",
    "-extfile",
    p("ext"),
    "-out",
    p("leaf.pem"),
  ]);
  assert.ok(leaf.ok, leaf.out);
  const chainPem = await Deno.readTextFile(p("leaf.pem"));
  return {
    certificate: loadPemBundle(encoder.encode(chainPem), "leaf")[0]!,
    chainPem,
    privateKey: new Uint8Array(),
    privateKeyPem: await Deno.readTextFile(p("leaf.key")),
  };
}

Deno.test("importMessage() refuses a signer under an untrusted CA named like ours, sent with our real intermediate", async () => {
  const options = await folder();
  const rogue = await rogueIdentity("alice@example.com");
  const [outcome] = await importMessage(
    await signedMail(rogue, "From: alice@example.com"),
    "rogue.eml",
    options,
  );
  assert.equal(outcome?.status, "refused");
  assert.match(outcome!.reason!, /NOT trusted|no path to a trust anchor/);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(options.keysDir)), []);
});

Deno.test("importMessage() refuses mail whose From is not the signer's, or names two mailboxes", async () => {
  const options = await folder();
  const cases: [string, RegExp][] = [
    ["From: mallory@example.com", /From mallory@example\.com is not the signer's address/],
    ["From: alice@example.com, bob@example.com", /From header holds 2 mailboxes/],
    ["From: alice@example.com\r\nFrom: alice@example.com", /2 From headers/],
    ["X-From: alice@example.com", /no From header/],
  ];
  for (const [from, reason] of cases) {
    const [outcome] = await importMessage(await signedMail(alice, from), "from.eml", options);
    assert.equal(outcome?.status, "refused", from);
    assert.match(outcome!.reason!, reason);
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(options.keysDir)), []);
});

/** A whole message signed by `openssl cms -sign`: its From is only inside the signed content. */
async function wholeMessageSigned(signer: IssuedIdentity, from: string): Promise<Uint8Array> {
  const cert = await file("signer.pem", leafPem(signer.chainPem));
  const key = await file("signer.key", signer.privateKeyPem);
  const message = await file(
    "whole.eml",
    `${from}\r\nTo: bob@example.com\r\nSubject: keys\r\n${BODY}`,
  );
  const run = await openssl([
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
  ]);
  assert.ok(run.ok, run.out);
  assert.doesNotMatch(run.out.slice(0, run.out.indexOf("\n\n")), /^From:/im);
  return encoder.encode(run.out);
}

Deno.test("importMessage() takes the author from the signed content when the outside has no From, as verify does", async () => {
  const options = await folder();
  const signed = await wholeMessageSigned(alice, "From: Alice <alice@example.com>");
  const verdict = await verifyMessage(signed, "whole.eml", { trustAnchors });
  assert.equal(verdict.trusted, true, verdict.problems.join("; "));
  const [outcome] = await importMessage(signed, "whole.eml", options);
  assert.equal(outcome?.status, "imported", outcome?.reason);
  assert.equal(outcome?.address, "alice@example.com");

  const forged = await wholeMessageSigned(alice, "From: mallory@example.com");
  const [refused] = await importMessage(forged, "forged.eml", await folder());
  assert.equal(refused?.status, "refused");
  assert.match(refused!.reason!, /From mallory@example\.com is not the signer's address/);
});

Deno.test("importMessage() accepts an encoded-word display name on the single From mailbox", async () => {
  const options = await folder();
  const from = "From: =?utf-8?q?M=C3=BCller=2C_Alice?= <alice@example.com>";
  const [outcome] = await importMessage(await signedMail(alice, from), "ew.eml", options);
  assert.equal(outcome?.status, "imported", outcome?.reason);
});

Deno.test("importMessage() never replaces a newer certificate with an older one, and updates to a newer", async () => {
  const options = await folder();
  const now = Date.now();
  const older = await pki.issue({
    email: "alice@example.com",
    key: "RSA-2048",
    notBefore: new Date(now - 10 * DAY),
  });
  const newer = await pki.issue({
    email: "alice@example.com",
    key: "RSA-2048",
    notBefore: new Date(now - 2 * DAY),
  });
  const [first] = await importMessage(await signedMail(newer, "From: alice@example.com"), "n", {
    ...options,
  });
  assert.equal(first?.status, "imported", first?.reason);
  const before = await Deno.readFile(first!.file!);
  const [refused] = await importMessage(await signedMail(older, "From: alice@example.com"), "o", {
    ...options,
  });
  assert.equal(refused?.status, "refused");
  assert.match(refused!.reason!, /not newer than the valid certificate/);
  assert.deepEqual(await Deno.readFile(first!.file!), before, "file untouched");

  const other = await folder();
  await importMessage(await signedMail(older, "From: alice@example.com"), "o", other);
  const [updated] = await importMessage(await signedMail(newer, "From: alice@example.com"), "n", {
    ...other,
  });
  assert.equal(updated?.status, "updated", updated?.reason);
  assert.deepEqual(loadPemBundle(await Deno.readFile(updated!.file!), "f")[0], newer.certificate);
});

Deno.test("importMessage() with dryRun decides but writes nothing", async () => {
  const options = await folder({ dryRun: true });
  const [outcome] = await importMessage(
    await signedMail(alice, "From: alice@example.com"),
    "dry.eml",
    options,
  );
  assert.equal(outcome?.status, "imported", outcome?.reason);
  assert.equal(outcome?.dryRun, true);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(options.keysDir)), []);
});

Deno.test("importMessage() stores bare certificates only when trusted and fit for encryption", async () => {
  const options = await folder();
  const bob = await pki.issue({ email: "bob@example.com", key: "EC P-256" });
  const bag = (await new Deno.Command("openssl", {
    args: ["crl2pkcs7", "-nocrl", "-certfile", await file("bob2.pem", bob.chainPem)],
    stdout: "piped",
  }).output()).stdout;
  const [fromBag] = await importMessage(bag, "bob.p7b", options);
  assert.equal(fromBag?.status, "imported", fromBag?.reason);
  assert.equal(fromBag?.keyAlgorithm, "EC P-256");
  assert.deepEqual(loadPemBundle(await Deno.readFile(fromBag!.file!), "f"), [
    bob.certificate,
    pki.intermediateDer,
  ]);

  const signOnly = await pki.issue({ email: "sig@example.com", key: "RSA-2048", keyUsage: 1 }); // digitalSignature only
  const [refusedUsage] = await importMessage(encoder.encode(signOnly.chainPem), "sig.crt", options);
  assert.equal(refusedUsage?.status, "refused");
  assert.match(refusedUsage!.reason!, /keyUsage does not allow encryption/);

  const lone = leafPem((await pki.issue({ email: "lone@example.com", key: "RSA-2048" })).chainPem);
  const [noPath] = await importMessage(encoder.encode(lone), "lone.crt", options);
  assert.equal(noPath?.status, "refused");
  assert.match(noPath!.reason!, /chain not trusted/);
  const names = (await Array.fromAsync(Deno.readDir(options.keysDir))).map((e) => e.name);
  assert.deepEqual(names, ["bob@example.com.crt"]);
});

/**
 * A fresh key folder holding `caFile` (if any) as intermediate.crt, and the
 * options that import into it with the folder's CA certificates, as the
 * CLI builds them.
 */
async function folderWith(caFile?: string): Promise<ImportOptions> {
  const options = await folder();
  if (caFile) await Deno.copyFile(caFile, join(options.keysDir, "intermediate.crt"));
  const trust = await new KeyStore({ dir: options.keysDir, trustAnchors }).trustStore();
  return { ...options, intermediates: trust?.intermediates[0] };
}

Deno.test("importMessage() finds the intermediate of a leaf-only certificate or signature in the key folder, and stores the path", async () => {
  const options = await folderWith(pki.intermediateFile);
  const carol = await pki.issue({ email: "carol@example.com", key: "RSA-2048" });
  const [bare] = await importMessage(carol.certificate, "carol.cer", options);
  assert.equal(bare?.status, "imported", bare?.reason);
  const stored = loadPemBundle(await Deno.readFile(bare!.file!), "f");
  assert.deepEqual(stored, [carol.certificate, pki.intermediateDer]);

  const mail = await signedMail(alice, "From: alice@example.com", { leafOnly: true });
  const [signed] = await importMessage(mail, "nochain.eml", options);
  assert.equal(signed?.status, "imported", signed?.reason);
  const storedSigner = loadPemBundle(await Deno.readFile(signed!.file!), "f");
  assert.deepEqual(storedSigner, [alice.certificate, pki.intermediateDer]);
});

Deno.test("importMessage() lets an intermediate imported earlier in the run serve a later leaf-only certificate", async () => {
  const options = await folderWith();
  const dave = await pki.issue({ email: "dave@example.com", key: "RSA-2048" });
  const erin = await pki.issue({ email: "erin@example.com", key: "EC P-256" });
  const [first] = await importMessage(encoder.encode(dave.chainPem), "dave.pem", options);
  assert.equal(first?.status, "imported", first?.reason);
  const [second] = await importMessage(erin.certificate, "erin.cer", options);
  assert.equal(second?.status, "imported", second?.reason);
  const stored = loadPemBundle(await Deno.readFile(second!.file!), "f");
  assert.deepEqual(stored, [erin.certificate, pki.intermediateDer]);
});

Deno.test("importMessage() refuses a leaf-only certificate or signature when the key folder's CA of its issuer's name has another key", async () => {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "lookalike-" });
  const options = await folderWith(await rogueCa(dir));
  const frank = await pki.issue({ email: "frank@example.com", key: "RSA-2048" });
  const [bare] = await importMessage(frank.certificate, "frank.cer", options);
  assert.equal(bare?.status, "refused");
  assert.match(bare!.reason!, /chain not trusted/);
  const mail = await signedMail(alice, "From: alice@example.com", { leafOnly: true });
  const [signed] = await importMessage(mail, "nochain.eml", options);
  assert.equal(signed?.status, "refused");
  assert.match(signed!.reason!, /NOT trusted/);
  const names = (await Array.fromAsync(Deno.readDir(options.keysDir))).map((e) => e.name);
  assert.deepEqual(names, ["intermediate.crt"]);
});

/** A degenerate SignedData (a .p7b) holding `certs`, built by hand. */
function p7b(certs: Uint8Array[]): Uint8Array {
  const signedData = seq(
    tlv(Tag.integer, new Uint8Array([1])),
    tlv(Tag.set),
    seq(oid(Oid.data)),
    tlv(0xa0, ...certs),
    tlv(Tag.set),
  );
  return encode(seq(oid(Oid.signedData), tlv(0xa0, signedData)));
}

Deno.test("importMessage() refuses a bag of 5,000 distinct certificates unread, and reads 5,000 copies of one once", async () => {
  const options = await folder();
  // Variants of one certificate with another serial: distinct bytes, same length.
  const serialAt = alice.certificate.indexOf(Tag.integer, 13);
  assert.equal(serialAt, 13, "serialNumber after the [0] version");
  const many = Array.from({ length: 5000 }, (_, i) => {
    const der = alice.certificate.slice();
    der[serialAt + 2] = i & 0xff;
    der[serialAt + 3] = i >> 8;
    return der;
  });
  const [outcome] = await importMessage(p7b(many), "many.p7b", options);
  assert.equal(outcome?.status, "refused");
  assert.match(outcome!.reason!, new RegExp(`more than ${MAX_CERTIFICATES} distinct certificates`));
  assert.deepEqual(await Array.fromAsync(Deno.readDir(options.keysDir)), []);

  const copies = [...Array.from({ length: 5000 }, () => alice.certificate), pki.intermediateDer];
  const outcomes = await importMessage(p7b(copies), "copies.p7b", options);
  assert.deepEqual(outcomes.map((o) => o.status), ["imported"], outcomes[0]?.reason);
});

Deno.test("importMessage() opens mail signed inside an encrypted layer with the recipient's key", async () => {
  const options = await folder();
  const bob = await pki.issue({ email: "bob@example.com", key: "RSA-2048" });
  const signed = await signedMail(alice, "From: alice@example.com");
  const inner = signed.subarray(new TextDecoder().decode(signed).indexOf("MIME-Version"));
  const run = await openssl([
    "cms",
    "-encrypt",
    "-aes256",
    "-in",
    await file("inner.eml", inner),
    await file("bob.pem", leafPem(bob.chainPem)),
  ]);
  assert.ok(run.ok, run.out);
  const mail = encoder.encode(`From: alice@example.com\r\nTo: bob@example.com\r\n${run.out}`);
  const [locked] = await importMessage(mail, "enc.eml", options);
  assert.equal(locked?.status, "refused");
  const [opened] = await importMessage(mail, "enc.eml", {
    ...options,
    decryptionKeys: () => () =>
      Promise.resolve([{ certificate: bob.certificate, privateKey: bob.privateKey, file: "bob" }]),
  });
  assert.equal(opened?.status, "imported", opened?.reason);
  assert.equal(opened?.address, "alice@example.com");
});

Deno.test("importMessage() run twice at once for one address leaves one whole file", async () => {
  const options = await folder();
  const a = await signedMail(alice, "From: alice@example.com");
  const newer = await pki.issue({ email: "alice@example.com", key: "RSA-2048" });
  const b = await signedMail(newer, "From: alice@example.com");
  const results = await Promise.all([
    importMessage(a, "a.eml", options),
    importMessage(b, "b.eml", options),
    importMessage(a, "a2.eml", options),
  ]);
  const statuses = results.map((r) => r[0]?.status).sort();
  assert.ok(statuses.includes("imported"), statuses.join());
  const stored = loadPemBundle(
    await Deno.readFile(join(options.keysDir, "alice@example.com.crt")),
    "f",
  );
  assert.equal(stored.length, 2);
  const names = (await Array.fromAsync(Deno.readDir(options.keysDir))).map((e) => e.name);
  assert.deepEqual(names, ["alice@example.com.crt"], "no temporary file left");
});
