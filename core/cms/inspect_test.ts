import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/support/assert.ts";
import { isSmimeError } from "../errors.ts";
import { encode, int, oid, parseTlv, readOid, readTime, seq, setOf, time } from "./der.ts";
import { decrypt, encrypt, inspect, sign, verify } from "./mod.ts";
import { getTestPki, openssl } from "./test_pki.ts";

const content = new TextEncoder().encode("Content-Type: text/plain\r\n\r\nhello\r\n");

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function garbage(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function isCmsError(err: unknown): boolean {
  return isSmimeError(err, "E_CMS");
}

Deno.test("inspect() describes SignedData: detached, digests, signer issuer and serial", async () => {
  const pki = await getTestPki();
  const user = pki.users.rsa2048!;
  const der = await sign(content, {
    certificate: user.certificate,
    chain: [pki.intermediate],
    privateKey: user.privateKey,
  }, { detached: true, digest: "SHA-384", rsaPadding: "pss" });
  const info = inspect(der);
  assert(info.kind === "signed-data");
  assertEquals(info.detached, true);
  assertEquals(info.digestAlgorithms, ["SHA-384"]);
  assertEquals(info.certificateCount, 2);
  const serial = new TextDecoder().decode(
    await openssl(["x509", "-in", user.certPem, "-noout", "-serial"]),
  ).trim().replace("serial=", "");
  assertEquals(info.signers, [{
    issuer: "CN=Test Intermediate CA,O=smimepost test",
    serialNumber: serial,
    digestAlgorithm: "SHA-384",
    signatureAlgorithm: "RSA-PSS",
  }]);
});

Deno.test("inspect() describes EnvelopedData recipients of both kinds", async () => {
  const pki = await getTestPki();
  const { der } = await encrypt(content, [
    pki.users.rsa3072!.certificate,
    pki.users.p384!.certificate,
  ], {
    cipher: "aes-128-cbc",
  });
  const info = inspect(der);
  assert(info.kind === "enveloped-data");
  assertEquals(info.contentCipher, "aes-128-cbc");
  assertEquals(info.recipients.map((r) => r.keyEncryption), ["RSAES-PKCS1-v1_5", "ECDH"]);
  assert(info.recipients.every((r) => r.issuer === "CN=Test Intermediate CA,O=smimepost test"));
});

Deno.test("inspect() of another content type is E_UNSUPPORTED", () => {
  const data = encode(seq(oid("1.2.840.113549.1.7.1"), encode(seq())));
  assert(isSmimeError(assertThrows(() => inspect(data)), "E_UNSUPPORTED"));
});

Deno.test("garbage and hostile encodings are E_CMS, never a crash or a hang", async () => {
  const pki = await getTestPki();
  const key = { certificate: pki.users.p256!.certificate, privateKey: pki.users.p256!.privateKey };
  const samples = [
    new Uint8Array(0),
    new Uint8Array([0x30]),
    new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
    new Uint8Array([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    new Uint8Array(20000).map((_, i) => (i % 2 === 0 ? 0x30 : 0x80)), // deep indefinite nesting
    new Uint8Array([0x30, 0x80, 0x06, 0x01, 0x2a]), // no end-of-contents
    new TextEncoder().encode("-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n"),
    ...[1, 2, 3, 4, 5].map((seed) => garbage(300, seed)),
  ];
  for (const bytes of samples) {
    assert(isCmsError(assertThrows(() => inspect(bytes))), `inspect ${bytes.slice(0, 4)}`);
    assert(isCmsError(await assertRejects(() => verify(bytes, { detachedContent: content }))));
    assert(isCmsError(await assertRejects(() => decrypt(bytes, key))));
  }
});

Deno.test("every truncation of a signed and an enveloped message is E_CMS", async () => {
  const pki = await getTestPki();
  const user = pki.users.p256!;
  const signed = await sign(content, {
    certificate: user.certificate,
    chain: [pki.intermediate],
    privateKey: user.privateKey,
  }, { detached: false });
  const { der: enveloped } = await encrypt(content, [user.certificate], { cipher: "aes-256-gcm" });
  const key = { certificate: user.certificate, privateKey: user.privateKey };
  for (const der of [signed, enveloped]) {
    for (let n = 0; n < der.length; n++) {
      assert(isCmsError(assertThrows(() => inspect(der.subarray(0, n)))), `inspect prefix ${n}`);
    }
    for (let n = 0; n < der.length; n += 97) {
      const prefix = der.subarray(0, n);
      const err = der === signed
        ? await assertRejects(() => verify(prefix, {}))
        : await assertRejects(() => decrypt(prefix, key));
      assert(isCmsError(err), `prefix ${n}: ${err}`);
    }
  }
});

Deno.test("der: SET OF sorts by encoding, times follow RFC 5652 11.3, OIDs round-trip", () => {
  const sorted = setOf([int(300), int(2), seq(), int(1)]);
  assertEquals(sorted.parts.map((p) => Array.from(p as Uint8Array)), [
    [0x02, 0x01, 0x01],
    [0x02, 0x01, 0x02],
    [0x02, 0x02, 0x01, 0x2c],
    [0x30, 0x00],
  ]);
  const utc = time(new Date("2049-12-31T23:59:59Z"));
  assertEquals(utc[0], 0x17);
  const generalized = time(new Date("2050-01-01T00:00:00Z"));
  assertEquals(generalized[0], 0x18);
  assertEquals(readTime(parseTlv(utc)), new Date("2049-12-31T23:59:59Z"));
  assertEquals(readTime(parseTlv(generalized)), new Date("2050-01-01T00:00:00Z"));
  for (const dotted of ["1.2.840.113549.1.9.16.1.23", "2.16.840.1.101.3.4.1.46", "2.999.1"]) {
    assertEquals(readOid(parseTlv(oid(dotted))), dotted);
  }
});
