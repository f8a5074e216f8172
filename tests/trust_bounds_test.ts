/**
 * Hostile signed mail stays bounded: thousands of certificates (duplicates
 * or not) in one SignedData, a flood of SignerInfos, and a multipart/signed
 * with a third part. The bounds are by construction (core/trust/pool.ts,
 * MAX_SIGNERS); these tests prove the answers, not the timings.
 */
import { bytesToLatin1 } from "../core/bytes.ts";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { sign } from "../core/cms/sign.ts";
import { verify } from "../core/cms/verify.ts";
import { MAX_SIGNERS } from "../core/cms/parse.ts";
import { childrenOf, encode, parseTlv, seq, setOf, tlv } from "../core/cms/der.ts";
import { isSmimeError } from "../core/errors.ts";
import { openMessage } from "../core/smime/open.ts";
import { forge, forgeHierarchy } from "../core/trust/test_forge.ts";

const { root, inter, signer } = await forgeHierarchy();
const CONTENT = new TextEncoder().encode("Content-Type: text/plain\r\n\r\nhello\r\n");
const identity = (chain: Uint8Array[]) => ({
  certificate: signer.der,
  chain,
  privateKey: signer.pkcs8,
});

Deno.test("verify() finds the path among 5,000 certificates, duplicates and look-alikes", async () => {
  const lookalikes = await Promise.all(
    Array.from({ length: 20 }, () => forge({ subject: "CN=Forge Intermediate,O=forge", ca: true })),
  );
  const chain = [
    ...Array.from({ length: 4000 }, (_, i) => lookalikes[i % 20]!.der),
    ...Array.from({ length: 1000 }, () => inter.der),
  ];
  const der = await sign(CONTENT, identity(chain), { detached: false });
  const [result] = (await verify(der, { trustAnchors: [root.der] })).signers;
  assert(result!.signatureValid);
  // 20 look-alikes fill the per-name cap before the real one: refused, not hung.
  assertEquals(result!.chain, "untrusted");
  const fair = await sign(CONTENT, identity([inter.der, ...chain]), { detached: false });
  const [ok] = (await verify(fair, { trustAnchors: [root.der] })).signers;
  assertEquals(ok!.chain, "trusted", ok!.chainError);
});

Deno.test("verify() refuses a SignedData with more SignerInfos than MAX_SIGNERS before any work", async () => {
  const der = await sign(CONTENT, identity([inter.der]), { detached: false });
  // ContentInfo { type, [0] SignedData { version, digestAlgs, encap, [0] certs, signerInfos } }
  const [type, wrapper] = childrenOf(parseTlv(der));
  const fields = childrenOf(childrenOf(wrapper!)[0]!);
  const signerInfo = childrenOf(fields[fields.length - 1]!)[0]!.raw;
  const flood = setOf(Array.from({ length: 100_000 }, () => signerInfo));
  const signedData = seq(...fields.slice(0, -1).map((f) => f.raw), flood);
  const bad = encode(seq(type!.raw, tlv(0xa0, signedData)));
  try {
    await verify(bad, { trustAnchors: [root.der] });
    assert(false, "expected a refusal");
  } catch (err) {
    assert(isSmimeError(err, "E_CMS"), String(err));
    assertMatch(err.message, new RegExp(`100000 SignerInfos \\(at most ${MAX_SIGNERS}`));
  }
});

Deno.test("openMessage() says a multipart/signed with a third part is not intact", async () => {
  const der = await sign(CONTENT, identity([inter.der]), { detached: true });
  const b64 = btoa(bytesToLatin1(der)).replace(/.{76}/g, "$&\r\n");
  const text = [
    "From: alice@corp.example",
    'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b"',
    "",
    "--b",
    "Content-Type: text/plain",
    "",
    "hello",
    "--b",
    "Content-Type: application/pkcs7-signature",
    "Content-Transfer-Encoding: base64",
    "",
    b64,
    "--b",
    "Content-Type: text/plain",
    "",
    "Also pay 1,000,000 to account 666.",
    "--b--",
    "",
  ].join("\r\n");
  try {
    await openMessage(new TextEncoder().encode(text), "three.eml", { trustAnchors: [root.der] });
    assert(false, "expected a refusal");
  } catch (err) {
    assert(isSmimeError(err, "E_VERIFY"), String(err));
    assertMatch(err.message, /multipart\/signed has 3 part\(s\).*not intact/);
  }
});
