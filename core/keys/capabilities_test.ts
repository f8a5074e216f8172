import { strict as assert } from "node:assert";
import { join } from "node:path";
import { parseSmimeCapabilities, splitCapabilities } from "./capabilities.ts";
import { KeyStore, loadPemBundle } from "./mod.ts";
import { announce, capabilitiesBlock, freshPki } from "./test_util.ts";
import { writeTestFile } from "../../scripts/make_pki.ts";
import { AsnError } from "../cms/der.ts";

const pki = await freshPki();
const trustAnchors = loadPemBundle(await Deno.readFile(pki.trustFile), pki.trustFile);
const daveCrt = await Deno.readTextFile(join(pki.dir, "dave@example.org.crt"));

/** A key folder holding dave's certificate file with `extra` appended. */
async function folderWith(name: string, extra: string): Promise<string> {
  const dir = join(pki.dir, "..", name);
  await Deno.mkdir(dir, { recursive: true });
  await writeTestFile(join(dir, "dave@example.org.crt"), daveCrt + extra);
  return dir;
}

Deno.test("parseSmimeCapabilities() reads what openssl encodes, in order, parameters kept", async () => {
  const der = await announce(["gcm256", "oaep256", "cbc256", "des3", "oaepbare", "rsa"]);
  const caps = parseSmimeCapabilities(der);
  assert.deepEqual(caps.map((c) => c.oid), [
    "2.16.840.1.101.3.4.1.46",
    "1.2.840.113549.1.1.7",
    "2.16.840.1.101.3.4.1.42",
    "1.2.840.113549.3.7",
    "1.2.840.113549.1.1.7",
    "1.2.840.113549.1.1.1",
  ]);
  assert.equal(caps[0]!.parameters, undefined);
  assert.equal(caps[1]!.parameters![0], 0x30, "OAEP parameters: the whole SEQUENCE");
  assert.equal(caps[4]!.parameters, undefined);
  assert.deepEqual([...caps[5]!.parameters!], [0x05, 0x00]);
});

Deno.test("parseSmimeCapabilities() refuses damaged, oversized and wrongly shaped DER", async () => {
  const good = await announce(["cbc256"]);
  const bad: Uint8Array[] = [
    good.subarray(0, good.length - 1), // truncated
    new Uint8Array([0x31, 0x00]), // a SET
    new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]), // an INTEGER, not a SEQUENCE
    new Uint8Array([0x30, 0x04, 0x30, 0x02, 0x05, 0x00]), // no OID
    new Uint8Array([...good, 0x00]), // trailing byte
    // one capability with two parameters
    new Uint8Array([0x30, 0x11, 0x30, 0x0f, 0x06, 0x09, ...good.subarray(6, 15), 5, 0, 5, 0]),
  ];
  for (const der of bad) assert.throws(() => parseSmimeCapabilities(der), AsnError);
  const many = await announce(Array(129).fill("cbc128"));
  assert.throws(() => parseSmimeCapabilities(many), /more than 128/);
  assert.throws(() => parseSmimeCapabilities(new Uint8Array(20_000)), /over 16384 bytes/);
});

Deno.test("splitCapabilities() takes the block out and leaves the certificates readable", async () => {
  const bytes = new TextEncoder().encode(daveCrt + capabilitiesBlock(await announce(["gcm128"])));
  const split = splitCapabilities(bytes);
  assert.deepEqual(split.capabilities?.map((c) => c.oid), ["2.16.840.1.101.3.4.1.6"]);
  assert.equal(split.warning, undefined);
  assert.equal(new TextDecoder().decode(split.rest).trimEnd(), daveCrt.trimEnd());
  const absent = splitCapabilities(new TextEncoder().encode(daveCrt));
  assert.equal(absent.capabilities, undefined);
  assert.equal(absent.warning, undefined);
});

Deno.test("certificateFor() exposes recorded capabilities in preference order, nothing without a block", async () => {
  const der = await announce(["gcm256", "gcm128", "oaep256", "cbc256"]);
  const dir = await folderWith("announced", capabilitiesBlock(der));
  const entry = await new KeyStore({ dir, trustAnchors }).certificateFor(
    "dave@example.org",
    "encrypt",
  );
  assert.deepEqual(entry.capabilities?.map((c) => c.oid), [
    "2.16.840.1.101.3.4.1.46",
    "2.16.840.1.101.3.4.1.6",
    "1.2.840.113549.1.1.7",
    "2.16.840.1.101.3.4.1.42",
  ]);
  assert.deepEqual(entry.warnings, []);
  assert.equal(entry.chain.length, 1, "the intermediate is still read");
  const plain = await new KeyStore({ dir: pki.dir, trustAnchors }).certificateFor(
    "dave@example.org",
    "encrypt",
  );
  assert.equal(plain.capabilities, undefined);
  assert.equal("capabilities" in plain, false);
});

Deno.test("a damaged capabilities block is a warning and counts as absent; the certificate still works", async () => {
  const good = capabilitiesBlock(await announce(["gcm256"]));
  const cases: Record<string, string> = {
    "bad base64": "-----BEGIN SMIME CAPABILITIES-----\nMI*A\n-----END SMIME CAPABILITIES-----\n",
    "bad DER": "-----BEGIN SMIME CAPABILITIES-----\nMAUwAwYB\n-----END SMIME CAPABILITIES-----\n",
    "truncated": "-----BEGIN SMIME CAPABILITIES-----\nMAUwAwYB\n",
    "more than one block": good + good,
    "empty": "-----BEGIN SMIME CAPABILITIES-----\n-----END SMIME CAPABILITIES-----\n",
  };
  for (const [why, block] of Object.entries(cases)) {
    const dir = await folderWith(`damaged-${why.replaceAll(" ", "-")}`, block);
    const keys = new KeyStore({ dir, trustAnchors });
    const entry = await keys.certificateFor("dave@example.org", "encrypt");
    assert.equal(entry.capabilities, undefined, why);
    assert.equal(entry.warnings.length, 1, why);
    assert.match(entry.warnings[0]!, /^recorded SMIMECapabilities ignored \(.+\); default/, why);
    const signing = await keys.certificateFor("dave@example.org", "sign");
    assert.deepEqual(signing.warnings, [], `${why}: only encryption cares`);
    const [report] = (await keys.check()).filter((r) => r.file.endsWith("dave@example.org.crt"));
    assert.ok(report!.ok, `${why}: ${report!.problems}`);
    assert.ok(report!.warnings.some((w) => w.startsWith("recorded SMIMECapabilities")), why);
  }
});
