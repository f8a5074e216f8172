import { strict as assert } from "node:assert";
import { join } from "node:path";
import { certificateProblems, loadPemBundle } from "./mod.ts";
import { parseCertificate } from "./cert_info.ts";
import { freshPki, openssl, throwsWith } from "./test_util.ts";

const pki = await freshPki();
const now = new Date();
const DAY = 86_400_000;

async function leafOf(address: string): Promise<Uint8Array> {
  const file = join(pki.dir, `${address}.crt`);
  return loadPemBundle(await Deno.readFile(file), file)[0]!;
}

Deno.test("openssl verify accepts the generated certificates for S/MIME signing and encryption", async () => {
  const addresses = Object.entries(pki.identities).filter(([, f]) => f.certFile).map(([a]) => a)
    .filter((a) => !a.startsWith("expired"));
  for (const purpose of ["smimesign", "smimeencrypt"]) {
    // OpenSSL's smimeencrypt purpose wants keyEncipherment even on EC keys,
    // whose S/MIME certificates carry keyAgreement (RFC 8550 4.4.2).
    const files = addresses.filter((a) =>
      purpose === "smimesign" || pki.identities[a]!.keyType.startsWith("RSA")
    )
      .map((a) => join(pki.dir, `${a}.crt`));
    const args = ["verify", "-CAfile", pki.trustFile, "-untrusted", pki.intermediateFile];
    const result = await openssl([...args, "-purpose", purpose, ...files]);
    assert.ok(result.ok, result.out);
  }
  const expired = await openssl([
    "verify",
    "-CAfile",
    pki.trustFile,
    "-untrusted",
    pki.intermediateFile,
    join(pki.dir, "expired@example.com.crt"),
  ]);
  assert.ok(!expired.ok && /expired/.test(expired.out));
});

Deno.test("openssl reads the PKCS#12 and the encrypted PKCS#8 key with their passphrases", async () => {
  const p12 = await openssl([
    "pkcs12",
    "-in",
    pki.identities["frank@example.com"]!.p12File!,
    "-noout",
    "-passin",
    `pass:${pki.passphrases["frank@example.com"]}`,
  ]);
  assert.ok(p12.ok, p12.out);
  const pkcs8 = await openssl([
    "pkey",
    "-noout",
    "-in",
    join(pki.dir, "grace@example.com.pem"),
    "-passin",
    `pass:${pki.passphrases["grace@example.com"]}`,
  ]);
  assert.ok(pkcs8.ok, pkcs8.out);
});

Deno.test("certificateProblems() is empty for good certificates and names each problem otherwise", async () => {
  for (const address of ["alice@example.com", "bob@example.com", "carol@example.net"]) {
    const cert = await leafOf(address);
    assert.deepEqual(certificateProblems(cert, address, "sign", now), []);
    assert.deepEqual(certificateProblems(cert, address.toUpperCase(), "encrypt", now), []);
  }
  const alice = await leafOf("alice@example.com");
  assert.deepEqual(certificateProblems(alice, "alice@example.co", "sign", now), [
    'certificate is for alice@example.com, not "alice@example.co"',
  ]);
  assert.deepEqual(
    certificateProblems(alice, "alice@example.com", "sign", new Date(now.getTime() + 60 * DAY))
      .length,
    1,
  );
  const expired = await leafOf("expired@example.com");
  assert.match(
    certificateProblems(expired, "expired@example.com", "sign", now)[0]!,
    /^certificate expired on \d{4}-\d\d-\d\d$/,
  );
});

Deno.test("certificateProblems() refuses unsupported keys and too-weak RSA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-ed-" });
  try {
    const out = join(dir, "ed.der");
    const made = await openssl([
      "req",
      "-x509",
      "-newkey",
      "ed25519",
      "-nodes",
      "-keyout",
      join(dir, "k"),
      "-subj",
      "/CN=ed",
      "-addext",
      "subjectAltName=email:ed@example.com",
      "-outform",
      "DER",
      "-days",
      "2",
      "-out",
      out,
    ]);
    assert.ok(made.ok, made.out);
    const problems = certificateProblems(await Deno.readFile(out), "ed@example.com", "sign", now);
    assert.ok(problems.some((p) => /Ed25519 keys are not supported/.test(p)), problems.join());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const tiny = await pki.issue({ email: "tiny@example.com", key: "RSA-1024" });
  assert.deepEqual(certificateProblems(tiny.certificate, "tiny@example.com", "sign", now), []);
});

Deno.test("loadPemBundle() reads PEM bundles and DER, and refuses truncated or garbage files", async () => {
  const pem = await Deno.readFile(join(pki.dir, "alice@example.com.crt"));
  const certs = loadPemBundle(pem, "alice.crt");
  assert.equal(certs.length, 2);
  assert.deepEqual(loadPemBundle(certs[0]!, "alice.der"), [certs[0]]);
  throwsWith(() => loadPemBundle(pem.slice(0, 600), "cut.crt"), "E_CERT_INVALID");
  throwsWith(() => loadPemBundle(certs[0]!.slice(0, 300), "cut.der"), "E_CERT_INVALID");
  throwsWith(
    () => loadPemBundle(new TextEncoder().encode("hello\n"), "junk.crt"),
    "E_CERT_INVALID",
  );
  const err = throwsWith(
    () => loadPemBundle(new TextEncoder().encode("x"), "keys/junk.crt"),
    "E_CERT_INVALID",
  );
  assert.match(err.message, /keys\/junk\.crt/);
});

Deno.test("parseCertificate() reads the key-check fields and refuses damaged certificates by file name", async () => {
  const alice = parseCertificate(await leafOf("alice@example.com"), "alice.crt");
  assert.equal(alice.issuerText, "O=smimepost test,CN=smimepost Test Intermediate");
  assert.deepEqual(alice.emails, ["alice@example.com"]);
  assert.equal(alice.isCa, false);
  assert.ok(alice.keyUsage?.has("digitalSignature"));
  assert.deepEqual(alice.extKeyUsage, ["1.3.6.1.5.5.7.3.4"]);
  assert.ok(alice.notBefore < now && now < alice.notAfter);
  const root = parseCertificate(pki.rootDer, "root.crt");
  assert.ok(root.isCa && root.isSelfIssued && root.keyUsage?.has("keyCertSign"));
  // Every truncation and a run of byte changes: a certificate or E_CERT_INVALID, never a crash.
  const der = pki.intermediateDer;
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const damaged = [
    ...Array.from({ length: der.length }, (_, i) => der.slice(0, i)),
    ...Array.from({ length: 3000 }, () => {
      const m = der.slice();
      m[rnd(m.length)] = [0x00, 0x80, 0x84, 0xff, 0x30, 0x1f, rnd(256)][rnd(7)]!;
      return m;
    }),
  ];
  for (const bytes of damaged) {
    try {
      parseCertificate(bytes, "keys/bad.crt");
    } catch (err) {
      const e = throwsWith(() => {
        throw err;
      }, "E_CERT_INVALID");
      assert.equal(e.message, "Cannot read keys/bad.crt: not a valid X.509 certificate");
    }
  }
});

Deno.test("certificateProblems() refuses unknown critical and repeated extensions, for send and keys check", async () => {
  const { forge, forgeHierarchy, UNKNOWN_EXTENSION } = await import("../trust/test_forge.ts");
  const { inter } = await forgeHierarchy();
  const critical = await forge({
    subject: "CN=crit",
    issuer: inter,
    email: "crit@corp.example",
    extra: [UNKNOWN_EXTENSION],
  });
  assert.deepEqual(certificateProblems(critical.der, "crit@corp.example", "encrypt", now), [
    "certificate has an unknown critical extension 1.3.6.1.4.1.99999.1",
  ]);
  const [id, , value] = UNKNOWN_EXTENSION;
  const twice = await forge({
    subject: "CN=twice",
    issuer: inter,
    email: "twice@corp.example",
    extra: [[id, false, value], [id, false, value]],
  });
  assert.deepEqual(certificateProblems(twice.der, "twice@corp.example", "sign", now), [
    `certificate repeats extension ${id}`,
  ]);
});

Deno.test("loadPemBundle() says a PKCS#7 bundle saved as a certificate file is one, PEM or DER", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-p7crt-" });
  try {
    const pki = await freshPki();
    const cert = join(pki.dir, "alice@example.com.crt");
    const made = await openssl([
      "crl2pkcs7",
      "-nocrl",
      "-certfile",
      cert,
      "-out",
      join(dir, "p7.crt"),
    ]);
    assert.ok(made.ok, made.out);
    const der = await openssl(
      ["pkcs7", "-in", join(dir, "p7.crt"), "-outform", "DER", "-out", join(dir, "p7.cer")],
    );
    assert.ok(der.ok, der.out);
    for (const name of ["p7.crt", "p7.cer"]) {
      const bytes = await Deno.readFile(join(dir, name));
      const err = throwsWith(() => loadPemBundle(bytes, name), "E_CERT_INVALID");
      assert.match(err.message, /: it is a PKCS#7 certificate bundle, not a certificate file; /);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
