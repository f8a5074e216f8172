import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { isSmimeError } from "../errors.ts";
import { decrypt, encrypt, inspect } from "./mod.ts";
import { NO_KEY_OPENS } from "./decrypt.ts";
import { getTestPki, openssl, type TestPki, type TestUser } from "./test_pki.ts";
import type { EncryptOptions } from "./types.ts";

const content = new TextEncoder().encode(
  "Content-Type: text/plain\r\n\r\n" + "Kontoauszug 42\r\n".repeat(200),
);
let fileNo = 0;

async function tempFile(pki: TestPki, bytes: Uint8Array): Promise<string> {
  const path = `${pki.dir}/e${fileNo++}.bin`;
  await Deno.writeFile(path, bytes);
  return path;
}

function keyOf(user: TestUser) {
  return { certificate: user.certificate, privateKey: user.privateKey };
}

async function opensslDecrypt(pki: TestPki, der: Uint8Array, user: TestUser): Promise<Uint8Array> {
  return await openssl([
    "cms",
    "-decrypt",
    "-inform",
    "DER",
    "-in",
    await tempFile(pki, der),
    "-recip",
    user.certPem,
    "-inkey",
    user.keyPem,
    "-binary",
  ]);
}

const ourCases: [string, string[], EncryptOptions, string][] = [
  ["aes-256-cbc + PKCS#1 v1.5 (defaults)", ["rsa2048"], {}, "enveloped-data"],
  ["aes-128-cbc", ["rsa3072"], { cipher: "aes-128-cbc" }, "enveloped-data"],
  [
    "aes-256-cbc + RSA-OAEP SHA-256",
    ["rsa2048", "rsa3072"],
    { rsaKeyTransport: "oaep" },
    "enveloped-data",
  ],
  ["aes-256-gcm AuthEnvelopedData", ["rsa2048"], { cipher: "aes-256-gcm" }, "auth-enveloped-data"],
  [
    "aes-128-gcm + OAEP",
    ["rsa3072"],
    { cipher: "aes-128-gcm", rsaKeyTransport: "oaep" },
    "auth-enveloped-data",
  ],
  ["EC P-256 recipient", ["p256"], {}, "enveloped-data"],
  ["EC P-384 recipient, aes-128-cbc", ["p384"], { cipher: "aes-128-cbc" }, "enveloped-data"],
  [
    "mixed RSA + EC, aes-256-gcm",
    ["rsa2048", "p256", "p384"],
    { cipher: "aes-256-gcm" },
    "auth-enveloped-data",
  ],
];

for (const [label, names, options, kind] of ourCases) {
  Deno.test(`encrypt() ${label}: openssl cms -decrypt returns the content`, async () => {
    const pki = await getTestPki();
    const users = names.map((n) => pki.users[n]!);
    const result = await encrypt(content, users.map((u) => u.certificate), options);
    assertEquals(result.kind, kind);
    for (const user of users) {
      assertEquals(await opensslDecrypt(pki, result.der, user), content, user.name);
      assertEquals(await decrypt(result.der, keyOf(user)), content, user.name);
    }
    const info = inspect(result.der);
    assert(info.kind !== "signed-data");
    assertEquals(info.kind, kind);
    assertEquals(info.contentCipher, options.cipher ?? "aes-256-cbc");
    assertEquals(info.recipients.length, users.length);
  });
}

const opensslCases: [string, string, string[]][] = [
  ["default cipher (3DES)", "rsa2048", []],
  ["-aes256", "rsa3072", ["-aes256"]],
  ["-aes256 streamed (BER)", "rsa2048", ["-aes256", "-stream"]],
  ["-aes128", "rsa2048", ["-aes128"]],
  ["-aes-256-gcm", "rsa2048", ["-aes-256-gcm"]],
  ["-aes-128-gcm to EC P-256", "p256", ["-aes-128-gcm"]],
  ["OAEP (SHA-1 default)", "rsa2048", ["-aes256", "-keyopt", "rsa_padding_mode:oaep"]],
  ["OAEP SHA-256", "rsa3072", [
    "-aes256",
    "-keyopt",
    "rsa_padding_mode:oaep",
    "-keyopt",
    "rsa_oaep_md:sha256",
  ]],
  ["EC P-384 recipient", "p384", ["-aes256"]],
  ["EC P-256 recipient streamed (BER)", "p256", ["-aes256", "-stream"]],
  ["-keyid (RSA)", "rsa2048", ["-aes256", "-keyid"]],
  ["-keyid (EC)", "p256", ["-aes256", "-keyid"]],
];

for (const [label, name, extra] of opensslCases) {
  Deno.test(`decrypt() reads openssl cms -encrypt ${label}`, async () => {
    const pki = await getTestPki();
    const user = pki.users[name]!;
    const oaep = extra.includes("rsa_padding_mode:oaep");
    const der = await openssl([
      "cms",
      "-encrypt",
      "-in",
      await tempFile(pki, content),
      "-outform",
      "DER",
      "-binary",
      // -keyopt applies to the -recip before it.
      ...(oaep ? [extra[0]!, "-recip", user.certPem, ...extra.slice(1)] : [...extra, user.certPem]),
    ]);
    assertEquals(await decrypt(der, keyOf(user)), content);
    if (oaep) {
      const info = inspect(der);
      assert(info.kind !== "signed-data");
      assertEquals(info.recipients[0]!.keyEncryption, "RSAES-OAEP");
    }
    if (extra.includes("-keyid")) {
      const info = inspect(der);
      assert(info.kind !== "signed-data" && info.recipients[0]!.subjectKeyIdentifier);
    }
  });
}

Deno.test("decrypt() for a certificate not among the recipients is E_DECRYPT, as a wrong key", async () => {
  const pki = await getTestPki();
  const { der } = await encrypt(content, [
    pki.users.rsa2048!.certificate,
    pki.users.p256!.certificate,
  ], {});
  const err = await assertRejects(() => decrypt(der, keyOf(pki.users.rsa3072!)));
  assert(isSmimeError(err, "E_DECRYPT"), String(err));
  assertEquals((err as Error).message, NO_KEY_OPENS);
});

Deno.test("decrypt() with a key that is not the certificate's is E_KEY_MISMATCH", async () => {
  const pki = await getTestPki();
  for (const cipher of ["aes-256-gcm", "aes-256-cbc"] as const) {
    const pairs: [string, string][] = [["rsa2048", "rsa3072"], ["p256", "p384"], [
      "rsa2048",
      "p256",
    ]];
    for (const [name, wrong] of pairs) {
      const { der } = await encrypt(content, [pki.users[name]!.certificate], { cipher });
      const err = await assertRejects(() =>
        decrypt(der, {
          certificate: pki.users[name]!.certificate,
          privateKey: pki.users[wrong]!.privateKey,
        })
      );
      assert(isSmimeError(err, "E_KEY_MISMATCH"), `${cipher} ${name}/${wrong}: ${err}`);
    }
  }
});

Deno.test("decrypt() rejects a flipped ciphertext or tag byte with E_DECRYPT", async () => {
  const pki = await getTestPki();
  for (const cipher of ["aes-256-gcm", "aes-128-gcm"] as const) {
    const { der } = await encrypt(content, [pki.users.p256!.certificate], { cipher });
    for (const at of [der.length - 3, der.length - 100]) {
      const bad = der.slice();
      bad[at]! ^= 1;
      const err = await assertRejects(() => decrypt(bad, keyOf(pki.users.p256!)));
      assert(isSmimeError(err, "E_DECRYPT"), String(err));
    }
  }
});

Deno.test("encrypt() without recipients is E_USAGE", async () => {
  const err = await assertRejects(() => encrypt(content, [], {}));
  assert(isSmimeError(err, "E_USAGE"), String(err));
});

Deno.test("encrypt() AES-CBC at every length around a block, whole and in pieces, libcrypto and node:crypto: openssl and decrypt() agree", async () => {
  const pki = await getTestPki();
  const user = pki.users.rsa2048!;
  const { overrideLibcrypto } = await import("./libcrypto.ts");
  for (const engine of ["libcrypto", "node:crypto"]) {
    if (engine === "node:crypto") overrideLibcrypto(undefined);
    try {
      for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 1000]) {
        const plain = new Uint8Array(n).map((_, i) => i * 13);
        // A source in uneven pieces takes the piecewise path of the same cipher.
        const pieces = [plain.subarray(0, n >> 1), plain.subarray(n >> 1)];
        for (const input of [plain, { size: n, pieces: () => pieces }]) {
          const { der } = await encrypt(input, [user.certificate], {});
          assertEquals(await decrypt(der, keyOf(user)), plain, `${engine}, ${n} bytes`);
          assertEquals(await opensslDecrypt(pki, der, user), plain, `${engine}, ${n} bytes`);
        }
      }
    } finally {
      overrideLibcrypto(null);
    }
  }
});
