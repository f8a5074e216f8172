import { strict as assert } from "node:assert";
import { bytesToLatin1, concatBytes } from "../bytes.ts";
import { contextTag, encode, oid, seq, Tag, tlv } from "../cms/der.ts";
import { Oid } from "../cms/oids.ts";
import { forge } from "../trust/test_forge.ts";
import { loadPemBundle } from "./pem.ts";
import { throwsWith } from "./test_util.ts";
import { emailTrustOf, loadTrustBundle } from "./trust_bundle.ts";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const encoder = new TextEncoder();

/** X509_CERT_AUX with the given trust and reject lists (undefined: absent). */
function aux(lists: { trust?: string[]; reject?: string[]; alias?: string }): Uint8Array {
  const parts = [];
  if (lists.trust) parts.push(seq(...lists.trust.map(oid)));
  if (lists.reject) parts.push(tlv(contextTag(0, true), ...lists.reject.map(oid)));
  if (lists.alias) parts.push(tlv(Tag.utf8String, encoder.encode(lists.alias)));
  return encode(seq(...parts));
}

function trustedPem(der: Uint8Array, settings?: Uint8Array): string {
  const b64 = btoa(bytesToLatin1(settings ? concatBytes([der, settings]) : der));
  return `-----BEGIN TRUSTED CERTIFICATE-----\n${
    b64.replace(/.{64}/g, "$&\n")
  }\n-----END TRUSTED CERTIFICATE-----\n`;
}

Deno.test("emailTrustOf() follows OpenSSL's rules for the e-mail purpose", () => {
  const cases: [string, Uint8Array | undefined, boolean][] = [
    ["no trust settings", undefined, true],
    ["settings without lists (alias only)", aux({ alias: "root" }), true],
    ["reject emailProtection", aux({ reject: [Oid.emailProtection] }), false],
    ["reject anyExtendedKeyUsage", aux({ reject: [Oid.anyExtendedKeyUsage] }), false],
    ["reject serverAuth only", aux({ reject: [SERVER_AUTH] }), true],
    ["trust serverAuth only", aux({ trust: [SERVER_AUTH] }), false],
    ["an empty trust list", aux({ trust: [] }), false],
    ["trust emailProtection", aux({ trust: [SERVER_AUTH, Oid.emailProtection] }), true],
    ["trust anyExtendedKeyUsage", aux({ trust: [Oid.anyExtendedKeyUsage] }), true],
    ["an unknown purpose", aux({ trust: ["1.2.3.4"] }), false],
    [
      "trust emailProtection, reject it too",
      aux({ trust: [Oid.emailProtection], reject: [Oid.emailProtection] }),
      false,
    ],
  ];
  for (const [name, settings, isAnchor] of cases) {
    assert.equal(emailTrustOf(settings).isAnchor, isAnchor, name);
  }
});

Deno.test("emailTrustOf() takes damaged or oversized trust settings for no anchor", () => {
  const good = aux({ trust: [Oid.emailProtection] });
  const damaged: [string, Uint8Array][] = [
    ["truncated", good.subarray(0, good.length - 1)],
    ["trailing bytes", concatBytes([good, new Uint8Array([0])])],
    ["not a SEQUENCE", encode(tlv(Tag.set, oid(Oid.emailProtection)))],
    ["a trust list of non-OIDs", encode(seq(seq(tlv(Tag.utf8String, encoder.encode("x")))))],
    [
      "an unknown field",
      encode(seq(seq(oid(Oid.emailProtection)), tlv(Tag.integer, new Uint8Array([1])))),
    ],
    ["fields out of order", encode(seq(tlv(contextTag(0, true)), seq(oid(Oid.emailProtection))))],
    [
      "oversized",
      encode(seq(seq(...Array.from({ length: 3000 }, () => oid(Oid.emailProtection))))),
    ],
    [
      "SEQUENCEs for OIDs",
      Array.from({ length: 60 }).reduce<Uint8Array>((d) => encode(seq(d)), good),
    ],
  ];
  for (const [name, settings] of damaged) {
    const trust = emailTrustOf(settings);
    assert.equal(trust.isAnchor, false, name);
    assert.match(trust.isAnchor ? "" : trust.reason, /damaged trust settings/, name);
  }
});

Deno.test("loadTrustBundle() leaves out an anchor OpenSSL refuses for e-mail, with a warning naming file and subject", async () => {
  const [refused, tlsOnly, kept] = await Promise.all(
    ["CN=Distrusted Root", "CN=TLS Root", "CN=Mail Root"].map((subject) =>
      forge({ subject, ca: true })
    ),
  );
  const bundle = encoder.encode(
    trustedPem(refused!.der, aux({ reject: [Oid.emailProtection] })) +
      trustedPem(tlsOnly!.der, aux({ trust: [SERVER_AUTH] })) +
      trustedPem(kept!.der, aux({ trust: [Oid.emailProtection] })) +
      trustedPem(kept!.der) + kept!.certPem,
  );
  const { anchors, warnings } = loadTrustBundle(bundle, "bundle.pem");
  assert.deepEqual(anchors, [kept!.der, kept!.der, kept!.der]);
  assert.deepEqual(warnings, [
    "trust bundle bundle.pem: CN=Distrusted Root is marked not trusted for e-mail " +
    "(reject emailProtection); not an anchor",
    "trust bundle bundle.pem: CN=TLS Root is marked not trusted for e-mail " +
    "(trusted for serverAuth only); not an anchor",
  ]);
  // The same file read as certificates (a recipient's .crt): every one, as before.
  assert.equal(loadPemBundle(bundle, "bundle.pem").length, 5);
});

Deno.test("loadTrustBundle() refuses a bundle left without an anchor, as an empty one", async () => {
  const root = await forge({ subject: "CN=Distrusted Root", ca: true });
  const bundle = encoder.encode(trustedPem(root.der, aux({ reject: [Oid.emailProtection] })));
  const err = throwsWith(() => loadTrustBundle(bundle, "bundle.pem"), "E_CERT_INVALID");
  assert.match(err.message, /bundle\.pem: no certificate in it is trusted for e-mail/);
  assert.match(err.message, /CN=Distrusted Root/);
  throwsWith(() => loadTrustBundle(new Uint8Array(), "empty.pem"), "E_CERT_INVALID");
});

Deno.test("emailTrustOf() names at most four purposes of a long trust list", () => {
  const trust = emailTrustOf(aux({ trust: Array.from({ length: 500 }, (_, i) => `1.2.3.${i}`) }));
  assert.equal(
    trust.isAnchor ? "" : trust.reason,
    "is marked not trusted for e-mail (trusted for 1.2.3.0, 1.2.3.1, 1.2.3.2, 1.2.3.3, 496 more only)",
  );
});
