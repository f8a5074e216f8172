/**
 * Helpers shared by the core/keys tests: a fresh test PKI per test file, an
 * openssl runner, and an assertion on SmimeError codes.
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type ErrorCode, isSmimeError, type SmimeError } from "../errors.ts";
import { makeTestPki, type TestPki } from "../../scripts/make_pki.ts";
import { tool } from "../../tests/support/helpers.ts";

/** Makes the test PKI in a temp folder, removed when the test file ends. */
export async function freshPki(now?: Date): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-keys-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return await makeTestPki(join(dir, "keys"), { now });
}

/** Asserts that `promise` rejects with a SmimeError of `code`; returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<SmimeError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isSmimeError(err), `expected SmimeError ${code}, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

/** Asserts that `fn` throws a SmimeError of `code`; returns it. */
export function throwsWith(fn: () => unknown, code: ErrorCode): SmimeError {
  try {
    fn();
  } catch (err) {
    assert.ok(isSmimeError(err), `expected SmimeError ${code}, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it returned`);
}

/** Runs openssl; returns exit status and output. */
export async function openssl(
  args: string[],
  stdin?: Uint8Array,
): Promise<{ ok: boolean; out: string }> {
  const { code, stdout, stderr } = await tool("openssl", args, stdin);
  return { ok: code === 0, out: new TextDecoder().decode(stdout) + stderr };
}

/** Reads a test file as text. */
export const readText = (path: string): Promise<string> => Deno.readTextFile(path);

/**
 * The DER of an SMIMECapabilities value built by `openssl asn1parse
 * -genconf` (an encoder nobody here wrote) from its config `sections`: the
 * top one is `[caps]`, a list of `name=SEQUENCE:section` lines.
 */
export async function opensslDer(config: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-asn1-" });
  try {
    await Deno.writeTextFile(join(dir, "gen.cnf"), `asn1=SEQUENCE:caps\n${config}`);
    const result = await openssl([
      "asn1parse",
      "-genconf",
      join(dir, "gen.cnf"),
      "-noout",
      "-out",
      join(dir, "out.der"),
    ]);
    assert.ok(result.ok, result.out);
    return await Deno.readFile(join(dir, "out.der"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** asn1parse -genconf sections for the capabilities OpenSSL and smimepost announce. */
export const CAPABILITY_SECTIONS = `
[sha256]
id=OID:2.16.840.1.101.3.4.2.1
n=NULL
[sha1]
id=OID:1.3.14.3.2.26
n=NULL
[mgf256]
id=OID:1.2.840.113549.1.1.8
h=SEQUENCE:sha256
[mgf1]
id=OID:1.2.840.113549.1.1.8
h=SEQUENCE:sha1
[oaep256params]
h=EXPLICIT:0,SEQUENCE:sha256
m=EXPLICIT:1,SEQUENCE:mgf256
[oaep256]
id=OID:1.2.840.113549.1.1.7
p=SEQUENCE:oaep256params
[oaepsha1params]
h=EXPLICIT:0,SEQUENCE:sha1
m=EXPLICIT:1,SEQUENCE:mgf1
[oaepsha1]
id=OID:1.2.840.113549.1.1.7
p=SEQUENCE:oaepsha1params
[oaepempty]
id=OID:1.2.840.113549.1.1.7
p=SEQUENCE:empty
[empty]
[oaepbare]
id=OID:1.2.840.113549.1.1.7
[gcm256]
id=OID:2.16.840.1.101.3.4.1.46
[gcm128]
id=OID:2.16.840.1.101.3.4.1.6
[cbc256]
id=OID:2.16.840.1.101.3.4.1.42
[cbc128]
id=OID:2.16.840.1.101.3.4.1.2
[des3]
id=OID:1.2.840.113549.3.7
[rsa]
id=OID:1.2.840.113549.1.1.1
n=NULL
[labelempty]
id=OID:1.2.840.113549.1.1.9
v=OCTETSTRING:
[labelset]
id=OID:1.2.840.113549.1.1.9
v=FORMAT:HEX,OCTETSTRING:01
[oaep256emptylabelparams]
h=EXPLICIT:0,SEQUENCE:sha256
m=EXPLICIT:1,SEQUENCE:mgf256
l=EXPLICIT:2,SEQUENCE:labelempty
[oaep256emptylabel]
id=OID:1.2.840.113549.1.1.7
p=SEQUENCE:oaep256emptylabelparams
[oaep256labelparams]
h=EXPLICIT:0,SEQUENCE:sha256
m=EXPLICIT:1,SEQUENCE:mgf256
l=EXPLICIT:2,SEQUENCE:labelset
[oaep256label]
id=OID:1.2.840.113549.1.1.7
p=SEQUENCE:oaep256labelparams
[oaep256mgf1params]
h=EXPLICIT:0,SEQUENCE:sha256
m=EXPLICIT:1,SEQUENCE:mgf1
[oaep256mgf1]
id=OID:1.2.840.113549.1.1.7
p=SEQUENCE:oaep256mgf1params
`;

/**
 * SMIMECapabilities DER listing the named sections of
 * {@link CAPABILITY_SECTIONS}, in order, e.g. `["gcm256", "oaep256", "cbc256"]`.
 */
export function announce(names: string[]): Promise<Uint8Array> {
  const caps = names.map((n, i) => `c${i}=SEQUENCE:${n}`).join("\n");
  return opensslDer(`[caps]\n${caps}\n${CAPABILITY_SECTIONS}`);
}

/** The PEM block `keys import` appends to ADDRESS.crt for `der`. */
export function capabilitiesBlock(der: Uint8Array): string {
  const b64 = btoa(bytesToLatin1(der)).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN SMIME CAPABILITIES-----\n${b64}-----END SMIME CAPABILITIES-----\n`;
}
