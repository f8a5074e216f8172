import { strict as assert } from "node:assert";
import { latin1ToBytes } from "../bytes.ts";
import { parseCertificateDetails } from "../cms/certificate.ts";
import { CertPool } from "./pool.ts";
import { MAX_STEPS, type PathOptions, trustStore, validatePath } from "./path.ts";
import {
  excludeEmail,
  forge,
  type Forged,
  forgeHierarchy,
  NAME_CONSTRAINTS,
  permitEmail,
  UNKNOWN_EXTENSION,
} from "./test_forge.ts";

const now: PathOptions = { now: new Date(), purpose: "sign" };
const { root, inter, signer } = await forgeHierarchy();

function judge(leaf: Forged, intermediates: Forged[], anchors = [root], options = now) {
  const store = trustStore(anchors.map((a) => a.der), intermediates.map((c) => c.der));
  return validatePath(parseCertificateDetails(leaf.der), store, options);
}

function refused(result: ReturnType<typeof judge>, pattern: RegExp) {
  assert.ok(!result.ok, "expected no path");
  assert.match(result.reason, pattern);
}

Deno.test("validatePath() builds leaf -> intermediate -> root and returns the path", () => {
  const result = judge(signer, [inter]);
  assert.ok(result.ok);
  assert.deepEqual(result.path.map((c) => c.subject), [
    "O=forge,CN=alice",
    "O=forge,CN=Forge Intermediate",
    "O=forge,CN=Forge Root",
  ]);
  refused(judge(signer, []), /not among the intermediates/);
});

Deno.test("validatePath() ignores unrelated and duplicate certificates in the pool", async () => {
  const stranger = await forge({ subject: "CN=stranger", email: "s@x.example" });
  assert.ok(judge(signer, [stranger, inter, inter, signer, inter]).ok);
});

Deno.test("validatePath() refuses a self-signed look-alike sent with the real intermediate", async () => {
  const lookalike = await forge({ subject: "CN=alice,O=forge", email: "alice@corp.example" });
  refused(judge(lookalike, [inter]), /self-signed and not a trust anchor/);
  // Issued in the intermediate's name but signed by another key.
  const fakeInter = await forge({ subject: "CN=Forge Intermediate,O=forge", ca: true });
  const forged = await forge({ subject: "CN=alice,O=forge", issuer: fakeInter, email: "a@x.y" });
  refused(judge(forged, [inter]), /does not verify with the key/);
});

Deno.test("validatePath() judges validity now: an expired signer or CA is refused", async () => {
  const expired = await forge({
    subject: "CN=old,O=forge",
    issuer: inter,
    email: "old@corp.example",
    notBeforeDays: -400,
    notAfterDays: -10,
  });
  refused(judge(expired, [inter]), /certificate "O=forge,CN=old" expired on/);
  const oldCa = await forge({
    subject: "CN=Old CA,O=forge",
    ca: true,
    issuer: root,
    notBeforeDays: -400,
    notAfterDays: -1,
  });
  const leaf = await forge({ subject: "CN=l,O=forge", issuer: oldCa, email: "l@corp.example" });
  refused(judge(leaf, [oldCa]), /CA certificate "O=forge,CN=Old CA" expired/);
  const waived = judge(expired, [inter], [root], { ...now, leafJudged: true });
  assert.ok(waived.ok, "leafJudged leaves the end entity's dates to the caller");
});

Deno.test("validatePath() needs cA, keyCertSign and pathLen room on every issuer", async () => {
  const notCa = await forge({
    subject: "CN=bob,O=forge",
    issuer: inter,
    email: "bob@corp.example",
  });
  const underBob = await forge({ subject: "CN=x,O=forge", issuer: notCa, email: "x@corp.example" });
  refused(judge(underBob, [notCa, inter]), /not a CA certificate/);
  const noSign = await forge({ subject: "CN=NoSign", ca: true, issuer: root, keyUsage: 0x02 });
  const under = await forge({ subject: "CN=y", issuer: noSign, email: "y@corp.example" });
  refused(judge(under, [noSign]), /no keyCertSign/);
  const tight = await forge({ subject: "CN=Tight", ca: true, pathLen: 0, issuer: root });
  const sub = await forge({ subject: "CN=Sub", ca: true, issuer: tight });
  const deep = await forge({ subject: "CN=z", issuer: sub, email: "z@corp.example" });
  refused(judge(deep, [sub, tight]), /pathLenConstraint/);
  const shallow = await forge({ subject: "CN=w", issuer: tight, email: "w@corp.example" });
  assert.ok(judge(shallow, [tight]).ok);
});

Deno.test("validatePath() applies the signing rules to the end entity and EKU to CAs", async () => {
  const server = await forge({
    subject: "CN=srv",
    issuer: inter,
    email: "srv@corp.example",
    eku: ["1.3.6.1.5.5.7.3.1"],
  });
  refused(judge(server, [inter]), /extendedKeyUsage does not include emailProtection/);
  const encryptOnly = await forge({
    subject: "CN=enc",
    issuer: inter,
    email: "enc@corp.example",
    keyUsage: 0x04, // keyEncipherment alone
  });
  refused(judge(encryptOnly, [inter]), /does not allow signing/);
  assert.ok(judge(encryptOnly, [inter], [root], { ...now, purpose: "encrypt" }).ok);
  const tlsCa = await forge({
    subject: "CN=TLS CA",
    ca: true,
    issuer: root,
    eku: ["1.3.6.1.5.5.7.3.1"],
  });
  const leaf = await forge({ subject: "CN=t", issuer: tlsCa, email: "t@corp.example" });
  refused(judge(leaf, [tlsCa]), /restricted to other uses/);
});

Deno.test("validatePath() refuses unknown critical extensions anywhere on the path", async () => {
  const leaf = await forge({
    subject: "CN=crit",
    issuer: inter,
    email: "crit@corp.example",
    extra: [UNKNOWN_EXTENSION],
  });
  refused(judge(leaf, [inter]), /unknown critical extension 1\.3\.6\.1\.4\.1\.99999\.1/);
  const [id, , value] = UNKNOWN_EXTENSION;
  const relaxed = await forge({
    subject: "CN=ok",
    issuer: inter,
    email: "ok@corp.example",
    extra: [[id, false, value]],
  });
  assert.ok(judge(relaxed, [inter]).ok, "a non-critical unknown extension is fine");
  const critCa = await forge({
    subject: "CN=Crit CA",
    ca: true,
    issuer: root,
    extra: [UNKNOWN_EXTENSION],
  });
  const under = await forge({ subject: "CN=u", issuer: critCa, email: "u@corp.example" });
  refused(judge(under, [critCa]), /CA certificate "CN=Crit CA" has an unknown critical/);
});

Deno.test("validatePath() keeps rfc822Name name constraints", async () => {
  const corpCa = await forge({
    subject: "CN=Corp CA",
    ca: true,
    issuer: root,
    extra: [[NAME_CONSTRAINTS, true, permitEmail("corp.example", ".corp.example")]],
  });
  const ok = await forge({ subject: "CN=a", issuer: corpCa, email: "a@corp.example" });
  const sub = await forge({ subject: "CN=b", issuer: corpCa, email: "b@eu.corp.example" });
  const evil = await forge({ subject: "CN=c", issuer: corpCa, email: "c@evil.example" });
  const suffix = await forge({ subject: "CN=d", issuer: corpCa, email: "d@notcorp.example" });
  assert.ok(judge(ok, [corpCa]).ok);
  assert.ok(judge(sub, [corpCa]).ok);
  refused(judge(evil, [corpCa]), /c@evil\.example is outside the names "CN=Corp CA" may certify/);
  refused(judge(suffix, [corpCa]), /outside the names/);
  const banned = await forge({
    subject: "CN=Ban CA",
    ca: true,
    issuer: root,
    extra: [[NAME_CONSTRAINTS, true, excludeEmail("ceo@corp.example")]],
  });
  const ceo = await forge({ subject: "CN=e", issuer: banned, email: "ceo@corp.example" });
  refused(judge(ceo, [banned]), /excluded by the name constraints/);
});

Deno.test("validatePath() ends on cross-issued cycles and floods of certificates", async () => {
  // X and Y certify each other; neither reaches the anchor.
  const x = await forge({ subject: "CN=X CA", ca: true });
  const y = await forge({ subject: "CN=Y CA", ca: true, issuer: x });
  const xByY = await forge({ subject: "CN=X CA", ca: true, issuer: y, keys: x.keys });
  const leaf = await forge({ subject: "CN=v", issuer: x, email: "v@corp.example" });
  refused(judge(leaf, [xByY, y, x]), /not among|self-signed|gave up/);
  // Thousands of certificates in the intermediate's name: linear, capped, refused.
  const pool = new CertPool([inter.der]);
  const flood = await Promise.all(
    Array.from({ length: 40 }, () => forge({ subject: "CN=Forge Intermediate,O=forge", ca: true })),
  );
  const many = new CertPool(flood.flatMap((f) => Array(100).fill(f.der)));
  assert.ok(many.size <= 16, "candidates per name are capped");
  const store = { anchors: new CertPool([root.der]), intermediates: [many, pool] };
  const result = validatePath(parseCertificateDetails(signer.der), store, now);
  assert.ok(result.ok, "the real intermediate is still found after the flood");
  assert.ok(MAX_STEPS >= 32);
});

/**
 * An openssl-made root of `caKey` ("rsa:8192") and a leaf it signs with
 * openssl's `extra` options, judged now: the result for the leaf, and for
 * the leaf with a flipped bit in its signature.
 */
async function judgeOpensslSigned(
  caKey: string,
  extra: string[],
): Promise<{ leaf: ReturnType<typeof validatePath>; forged: ReturnType<typeof validatePath> }> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-opensslca-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  };
  try {
    await run([
      "req",
      "-x509",
      "-newkey",
      caKey,
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-subj",
      "/CN=OpenSSL Root",
      "-days",
      "30",
      "-addext",
      "basicConstraints=critical,CA:true",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "subjectAltName=email:leaf@corp.example\nkeyUsage=digitalSignature\nextendedKeyUsage=emailProtection\n",
    );
    await run([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=leaf",
    ]);
    await run([
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "10",
      ...extra,
      "-extfile",
      "leaf.ext",
      "-out",
      "leaf.crt",
    ]);
    const der = async (name: string) => {
      const pem = await Deno.readTextFile(`${dir}/${name}`);
      const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
      return latin1ToBytes(atob(b64));
    };
    const ca = await der("ca.crt");
    const leaf = await der("leaf.crt");
    const store = trustStore([ca]);
    const at = { ...now, now: new Date(Date.now() + 1000) }; // openssl dates them from now
    const forged = leaf.slice();
    forged[forged.length - 10]! ^= 1; // the signature's last bytes
    return {
      leaf: validatePath(parseCertificateDetails(leaf), store, at),
      forged: validatePath(parseCertificateDetails(forged), store, at),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The leaf validates; the forged one does not verify. */
async function checkOpensslSigned(caKey: string, extra: string[]): Promise<void> {
  const { leaf, forged } = await judgeOpensslSigned(caKey, extra);
  assert.ok(leaf.ok, leaf.ok ? "" : leaf.reason);
  assert.ok(!forged.ok && /does not verify/.test(forged.reason));
}

Deno.test("validatePath() checks signatures of RSA CAs over 4096 bits (openssl-made RSA-8192 root)", async () => {
  await checkOpensslSigned("rsa:8192", ["-sha256"]);
});

for (
  const [what, extra] of [
    ["SHA-256, salt as long as the hash", ["-sha256", "-sigopt", "rsa_padding_mode:pss"]],
    [
      "SHA-384, salt 20",
      ["-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20"],
    ],
  ] as const
) {
  Deno.test(`validatePath() checks RSASSA-PSS certificate signatures (${what}), as ADCS and eID CAs make them`, async () => {
    await checkOpensslSigned("rsa:2048", [...extra]);
  });
}

Deno.test("validatePath() names MD5 when a certificate is signed with it, instead of 'does not verify'", async () => {
  const { leaf } = await judgeOpensslSigned("rsa:2048", ["-md5"]);
  assert.ok(!leaf.ok && /"CN=leaf" is signed with MD5, which is not accepted/.test(leaf.reason));
});
