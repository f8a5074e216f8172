import { strict as assert } from "node:assert";
import { chooseCipher, chooseKeyTransport, ciphersOpenedBy } from "./algorithms.ts";
import { parseSmimeCapabilities, type SmimeCapability } from "./keys/capabilities.ts";
import { announce } from "./keys/test_util.ts";

/** Capabilities as `keys import` would record them, encoded by openssl. */
async function caps(...names: string[]): Promise<SmimeCapability[]> {
  return parseSmimeCapabilities(await announce(names));
}

Deno.test("chooseCipher() without recorded capabilities is AES-256-CBC", () => {
  assert.equal(chooseCipher([undefined]), "aes-256-cbc");
  assert.equal(chooseCipher([undefined, undefined]), "aes-256-cbc");
  assert.deepEqual([...ciphersOpenedBy(undefined)].sort(), ["aes-128-cbc", "aes-256-cbc"]);
});

Deno.test("chooseCipher() for CBC-only announcements: AES-256-CBC, or AES-128-CBC when that is all", async () => {
  assert.equal(chooseCipher([await caps("cbc256", "cbc128", "des3")]), "aes-256-cbc");
  assert.equal(chooseCipher([await caps("cbc128", "des3")]), "aes-128-cbc");
  assert.equal(chooseCipher([undefined, await caps("cbc128")]), "aes-128-cbc");
  // RFC 8551 2.7: AES-128-CBC is a MUST for every receiver, announced or not.
  assert.equal(chooseCipher([await caps("des3", "rsa")]), "aes-128-cbc");
  assert.equal(chooseCipher([await caps("cbc256"), await caps("des3")]), "aes-128-cbc");
});

Deno.test("chooseCipher() picks GCM only when every certificate of the copy announced it", async () => {
  const gcm = await caps("cbc256", "cbc128", "gcm256", "gcm128", "oaep256");
  assert.equal(chooseCipher([gcm]), "aes-256-gcm", "announced, even after CBC in the list");
  assert.equal(chooseCipher([gcm, gcm]), "aes-256-gcm");
  assert.equal(chooseCipher([gcm, undefined]), "aes-256-cbc", "one without an announcement");
  assert.equal(chooseCipher([gcm, await caps("cbc256")]), "aes-256-cbc");
  assert.equal(chooseCipher([gcm, await caps("gcm128", "cbc256")]), "aes-128-gcm");
  assert.equal(chooseCipher([await caps("gcm256"), await caps("gcm128")]), "aes-128-cbc");
});

Deno.test("chooseCipher() with --cipher forces that cipher whatever was announced", async () => {
  assert.equal(chooseCipher([undefined], "aes-256-gcm"), "aes-256-gcm");
  assert.equal(chooseCipher([await caps("gcm256")], "aes-128-cbc"), "aes-128-cbc");
});

Deno.test("chooseKeyTransport() uses OAEP only for an announcement of OAEP with SHA-256", async () => {
  assert.equal(chooseKeyTransport(undefined), "pkcs1");
  assert.equal(chooseKeyTransport(await caps("cbc256", "rsa")), "pkcs1");
  assert.equal(chooseKeyTransport(await caps("gcm256", "oaep256", "rsa")), "oaep");
  assert.equal(chooseKeyTransport(await caps("oaep256emptylabel")), "oaep");
  const notSha256 = {
    "SHA-1 spelt out": "oaepsha1",
    "empty parameters (RFC 3560: the SHA-1 defaults)": "oaepempty",
    "no parameters (hash unknown)": "oaepbare",
    "SHA-256 with MGF1-SHA-1": "oaep256mgf1",
    "a non-empty label": "oaep256label",
  };
  for (const [what, name] of Object.entries(notSha256)) {
    assert.equal(chooseKeyTransport(await caps(name, "rsa")), "pkcs1", what);
  }
});

Deno.test("chooseKeyTransport() with --oaep forces OAEP for every RSA recipient", async () => {
  assert.equal(chooseKeyTransport(undefined, "oaep"), "oaep");
  assert.equal(chooseKeyTransport(await caps("oaepsha1"), "oaep"), "oaep");
});
