import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { isSmimeError } from "../errors.ts";
import { childrenOf, DerReader, parseTlv, Tag } from "./der.ts";
import { sign, verify } from "./mod.ts";
import { getTestPki, openssl, pemToDer, type TestPki, type TestUser } from "./test_pki.ts";
import type { DigestName, RsaSignaturePadding } from "./types.ts";

const content = new TextEncoder().encode(
  "Content-Type: text/plain; charset=utf-8\r\n\r\nÜberweisung 1.000,00 EUR\r\n.\r\nEnde\r\n",
);
let fileNo = 0;

async function tempFile(pki: TestPki, bytes: Uint8Array): Promise<string> {
  const path = `${pki.dir}/t${fileNo++}.bin`;
  await Deno.writeFile(path, bytes);
  return path;
}

function identity(pki: TestPki, user: TestUser) {
  return { certificate: user.certificate, chain: [pki.intermediate], privateKey: user.privateKey };
}

/** `openssl cms -verify` of our output; returns the content it printed. */
async function opensslVerify(
  pki: TestPki,
  der: Uint8Array,
  detached: boolean,
): Promise<Uint8Array> {
  const args = ["cms", "-verify", "-inform", "DER", "-in", await tempFile(pki, der)];
  if (detached) args.push("-content", await tempFile(pki, content));
  return await openssl([...args, "-CAfile", pki.rootPem, "-binary", "-purpose", "any"]);
}

const matrix: [string, RsaSignaturePadding, DigestName][] = [
  ["rsa2048", "pkcs1", "SHA-256"],
  ["rsa3072", "pkcs1", "SHA-512"],
  ["rsa2048", "pss", "SHA-256"],
  ["rsa3072", "pss", "SHA-384"],
  ["p256", "pkcs1", "SHA-256"],
  ["p384", "pkcs1", "SHA-384"],
  ["p256", "pkcs1", "SHA-512"],
];

for (const [name, rsaPadding, digest] of matrix) {
  for (const detached of [false, true]) {
    const label = `${name} ${name.startsWith("rsa") ? rsaPadding : "ecdsa"} ${digest} ${
      detached ? "detached" : "opaque"
    }`;
    Deno.test(`sign() ${label}: openssl cms -verify accepts it`, async () => {
      const pki = await getTestPki();
      const der = await sign(content, identity(pki, pki.users[name]!), {
        detached,
        digest,
        rsaPadding,
      });
      assertEquals(await opensslVerify(pki, der, detached), content);
      const ours = await verify(der, { detachedContent: content, trustAnchors: [pki.root] });
      assertEquals(ours.detached, detached);
      assertEquals(ours.signers.length, 1);
      assertEquals(ours.signers[0]!.signatureValid, true);
      assertEquals(ours.signers[0]!.chain, "trusted");
      assertEquals(ours.signers[0]!.digestAlgorithm, digest);
    });
  }
}

Deno.test("sign() writes signed attributes in DER order and version 1 structures", async () => {
  const pki = await getTestPki();
  const der = await sign(content, identity(pki, pki.users.rsa2048!), { detached: true });
  const signedData = new DerReader(new DerReader(parseTlv(der)).rest()[1]!).next(Tag.sequence);
  const parts = childrenOf(signedData);
  assertEquals(parts[0]!.value, new Uint8Array([1]));
  const signerInfo = childrenOf(parts.at(-1)!)[0]!;
  const fields = childrenOf(signerInfo);
  assertEquals(fields[0]!.value, new Uint8Array([1]));
  const attrs = fields.find((f) => f.tag === 0xa0)!;
  const encoded = childrenOf(attrs).map((a) => a.raw);
  assertEquals(encoded.length, 4);
  for (let i = 1; i < encoded.length; i++) {
    const [a, b] = [encoded[i - 1]!, encoded[i]!];
    const n = Math.min(a.length, b.length);
    let cmp = 0;
    for (let j = 0; j < n && cmp === 0; j++) cmp = a[j]! - b[j]!;
    assert(cmp < 0 || (cmp === 0 && a.length <= b.length), `attribute ${i} out of DER order`);
  }
});

Deno.test("sign() uses the given signingTime and verify() reports it", async () => {
  const pki = await getTestPki();
  const when = new Date("2031-05-06T07:08:09Z");
  const der = await sign(content, identity(pki, pki.users.p256!), {
    detached: false,
    signingTime: when,
  });
  const result = await verify(der, {});
  assertEquals(result.signers[0]!.signingTime, when);
  assertEquals(result.signers[0]!.chain, "unchecked");
  assertEquals(result.signers[0]!.emailAddresses, ["p256@example.com"]);
});

Deno.test("sign() refuses a key that is not the certificate's", async () => {
  const pki = await getTestPki();
  const err = await assertRejects(() =>
    sign(content, {
      certificate: pki.users.rsa2048!.certificate,
      chain: [],
      privateKey: pki.users.rsa3072!.privateKey,
    }, { detached: true })
  );
  assert(isSmimeError(err, "E_KEY_MISMATCH"), String(err));
});

/** A self-signed RSA identity of `bits`, made by openssl in the PKI's folder. */
async function rsaIdentity(pki: TestPki, bits: number) {
  const key = `${pki.dir}/pss${bits}.key`;
  await openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    `rsa_keygen_bits:${bits}`,
    "-out",
    key,
  ]);
  const pem = await openssl(
    ["req", "-x509", "-new", "-key", key, "-subj", `/CN=pss${bits}`, "-days", "2"],
  );
  const pkcs8 = await openssl(["pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER"]);
  return {
    certificate: pemToDer(new TextDecoder().decode(pem)),
    chain: [],
    privateKey: pkcs8,
    certFile: await tempFile(pki, pem),
  };
}

// RFC 8017 9.1.1: a salt as long as SHA-512 needs emLen >= 64 + 64 + 2 = 130
// octets, emLen = ceil((modBits - 1) / 8): 1034 bits at least.
Deno.test("sign() refuses RSASSA-PSS with SHA-512 for RSA-1024 and RSA-1033, and signs with RSA-1034", async () => {
  const pki = await getTestPki();
  for (const bits of [1024, 1033]) {
    const signer = await rsaIdentity(pki, bits);
    const err = await assertRejects(() =>
      sign(content, signer, { detached: false, digest: "SHA-512", rsaPadding: "pss" })
    );
    assert(isSmimeError(err, "E_UNSUPPORTED"), String(err));
    assertEquals(
      err.message,
      `Cannot sign as CN=pss${bits}: RSA-${bits} is too small for RSASSA-PSS with SHA-512 ` +
        "(needs 1034 bits); use SHA-384 or SHA-256, or a larger key",
    );
    // The same key signs with SHA-384 and PKCS#1 v1.5 with SHA-512.
    await sign(content, signer, { detached: false, digest: "SHA-384", rsaPadding: "pss" });
    await sign(content, signer, { detached: false, digest: "SHA-512", rsaPadding: "pkcs1" });
  }
  const signer = await rsaIdentity(pki, 1034);
  const der = await sign(content, signer, {
    detached: false,
    digest: "SHA-512",
    rsaPadding: "pss",
  });
  const args = ["cms", "-verify", "-inform", "DER", "-in", await tempFile(pki, der)];
  const out = await openssl([...args, "-CAfile", signer.certFile, "-binary", "-purpose", "any"]);
  assertEquals(out, content);
});

const opensslSignCases: [string, string, string[]][] = [
  ["RSA opaque -nodetach", "rsa2048", ["-nodetach"]],
  ["RSA detached", "rsa3072", []],
  ["RSA opaque streamed (BER)", "rsa2048", ["-nodetach", "-stream"]],
  ["RSA-PSS opaque", "rsa3072", ["-nodetach", "-keyopt", "rsa_padding_mode:pss"]],
  ["RSA-PSS detached", "rsa2048", ["-keyopt", "rsa_padding_mode:pss"]],
  ["EC P-256 detached", "p256", []],
  ["EC P-384 opaque streamed (BER)", "p384", ["-nodetach", "-stream"]],
];

for (const [label, name, extra] of opensslSignCases) {
  Deno.test(`verify() accepts openssl cms -sign, ${label}`, async () => {
    const pki = await getTestPki();
    const user = pki.users[name]!;
    const der = await openssl([
      "cms",
      "-sign",
      "-in",
      await tempFile(pki, content),
      "-signer",
      user.certPem,
      "-inkey",
      user.keyPem,
      "-certfile",
      pki.intermediatePem,
      "-outform",
      "DER",
      "-binary",
      "-md",
      "sha256",
      ...extra,
    ]);
    const detached = !extra.includes("-nodetach");
    const result = await verify(der, {
      detachedContent: detached ? content : undefined,
      trustAnchors: [pki.root],
    });
    assertEquals(result.content, content);
    assertEquals(result.detached, detached);
    const signer = result.signers[0]!;
    assertEquals(signer.signatureValid, true, signer.signatureError);
    assertEquals(signer.chain, "trusted", signer.chainError);
    assertEquals(signer.emailAddresses, [user.email]);
    assertEquals(
      signer.signatureAlgorithm,
      extra.includes("rsa_padding_mode:pss")
        ? "RSA-PSS"
        : name.startsWith("rsa")
        ? "RSASSA-PKCS1-v1_5"
        : "ECDSA",
    );
  });
}

Deno.test("verify() reports a flipped content byte as an invalid signature", async () => {
  const pki = await getTestPki();
  const der = await sign(content, identity(pki, pki.users.rsa2048!), { detached: true });
  const altered = content.slice();
  altered[40]! ^= 1;
  const result = await verify(der, { detachedContent: altered });
  assertEquals(result.signers[0]!.signatureValid, false);
  assert(result.signers[0]!.signatureError?.includes("digest"));
});

Deno.test("verify() reports a flipped opaque-content byte and a flipped signature byte", async () => {
  const pki = await getTestPki();
  for (const name of ["rsa2048", "p256"]) {
    const der = await sign(content, identity(pki, pki.users[name]!), { detached: false });
    const at = indexOf(der, content) + 10;
    const inContent = der.slice();
    inContent[at]! ^= 0x20;
    assertEquals((await verify(inContent, {})).signers[0]!.signatureValid, false);
    // The signature value is the last OCTET STRING: flip a byte near the end.
    const inSignature = der.slice();
    inSignature[der.length - 5]! ^= 1;
    const result = await verify(inSignature, {});
    assertEquals(result.signers[0]!.signatureValid, false, name);
    assert(result.signers[0]!.signatureError);
  }
});

Deno.test("verify() reports an untrusted chain and a missing intermediate", async () => {
  const pki = await getTestPki();
  const outsider = pki.users.outsider!;
  const der = await sign(content, { ...identity(pki, outsider), chain: [] }, { detached: false });
  const result = await verify(der, { trustAnchors: [pki.root] });
  assertEquals(result.signers[0]!.signatureValid, true);
  assertEquals(result.signers[0]!.chain, "untrusted");
  assert(result.signers[0]!.chainError);

  const noChain = await sign(content, { ...identity(pki, pki.users.p384!), chain: [] }, {
    detached: false,
  });
  assertEquals(
    (await verify(noChain, { trustAnchors: [pki.root] })).signers[0]!.chain,
    "untrusted",
  );
  const withExtra = await verify(noChain, {
    trustAnchors: [pki.root],
    extraCertificates: [pki.intermediate],
  });
  assertEquals(withExtra.signers[0]!.chain, "trusted");
});

Deno.test("verify() of a detached signature without content is E_VERIFY", async () => {
  const pki = await getTestPki();
  const der = await sign(content, identity(pki, pki.users.p256!), { detached: true });
  const err = await assertRejects(() => verify(der, {}));
  assert(isSmimeError(err, "E_VERIFY"), String(err));
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
