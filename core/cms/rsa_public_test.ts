import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { openssl } from "./test_pki.ts";
import { readRsaPublicKey, rsaBitsOf, rsaEncrypt, rsaVerify } from "./rsa_public.ts";

/** An RSA key of `bits` made by openssl in a scratch folder, and that folder. */
async function withKey(bits: number, fn: (dir: string, spki: Uint8Array) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-rsa-" });
  try {
    await openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      `rsa_keygen_bits:${bits}`,
      "-out",
      `${dir}/k.pem`,
    ]);
    const spki = await openssl(["pkey", "-in", `${dir}/k.pem`, "-pubout", "-outform", "DER"]);
    await fn(dir, spki);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const data = new TextEncoder().encode("signed attributes, say");

Deno.test("rsaVerify() accepts openssl's PKCS#1 v1.5 and PSS signatures and nothing else", async () => {
  // 2047 bits: emLen is one octet shorter than k for PSS (RFC 8017 9.1.2 step 3).
  for (const bits of [2047, 2048]) {
    await withKey(bits, async (dir, spki) => {
      await Deno.writeFile(`${dir}/data`, data);
      const key = readRsaPublicKey(spki);
      assertEquals(key.bits, bits);
      assertEquals(rsaBitsOf(spki), bits);
      for (const [hash, md] of [["SHA-256", "sha256"], ["SHA-512", "sha512"]]) {
        const pkcs1 = await openssl(["dgst", `-${md}`, "-sign", `${dir}/k.pem`, `${dir}/data`]);
        assert(rsaVerify(key, "pkcs1", hash!, 0, data, pkcs1), `pkcs1 ${hash} ${bits}`);
        assert(!rsaVerify(key, "pss", hash!, 32, data, pkcs1), "pkcs1 is not PSS");
        const salt = md === "sha256" ? 32 : 64;
        const pss = await openssl([
          "dgst",
          `-${md}`,
          "-sign",
          `${dir}/k.pem`,
          "-sigopt",
          "rsa_padding_mode:pss",
          "-sigopt",
          `rsa_pss_saltlen:${salt}`,
          `${dir}/data`,
        ]);
        assert(rsaVerify(key, "pss", hash!, salt, data, pss), `pss ${hash} ${bits}`);
        assert(!rsaVerify(key, "pss", hash!, salt - 1, data, pss), "wrong salt length");
        const other = data.slice();
        other[0]! ^= 1;
        assert(!rsaVerify(key, "pkcs1", hash!, 0, other, pkcs1), "other data, pkcs1");
        assert(!rsaVerify(key, "pss", hash!, salt, other, pss), "other data, pss");
        const broken = pss.slice();
        broken[10]! ^= 1;
        assert(!rsaVerify(key, "pss", hash!, salt, data, broken), "broken signature");
        assert(!rsaVerify(key, "pkcs1", hash!, 0, data, pkcs1.subarray(1)), "short signature");
      }
    });
  }
});

Deno.test("rsaEncrypt() output opens with openssl pkeyutl, PKCS#1 v1.5 and OAEP-SHA-256", async () => {
  await withKey(2048, async (dir, spki) => {
    const key = readRsaPublicKey(spki);
    const cek = crypto.getRandomValues(new Uint8Array(32));
    for (const mode of ["pkcs1", "oaep"] as const) {
      const sealed = rsaEncrypt(key, mode, cek);
      assertEquals(sealed.length, 256);
      await Deno.writeFile(`${dir}/sealed`, sealed);
      const opts = mode === "pkcs1" ? ["-pkeyopt", "rsa_padding_mode:pkcs1"] : [
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
      ];
      const opened = await openssl([
        "pkeyutl",
        "-decrypt",
        "-inkey",
        `${dir}/k.pem`,
        "-in",
        `${dir}/sealed`,
        ...opts,
      ]);
      assertEquals([...opened], [...cek], mode);
    }
    assertThrows(() => rsaEncrypt(key, "oaep", new Uint8Array(256 - 65)));
  });
});

Deno.test("readRsaPublicKey() refuses what is not an RSA key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-rsa-" });
  try {
    await openssl([
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      `${dir}/k.pem`,
    ]);
    const spki = await openssl(["pkey", "-in", `${dir}/k.pem`, "-pubout", "-outform", "DER"]);
    assertThrows(() => readRsaPublicKey(spki));
    assertEquals(rsaBitsOf(spki), 0);
    assertEquals(rsaBitsOf(new Uint8Array([0x30, 0x00])), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
