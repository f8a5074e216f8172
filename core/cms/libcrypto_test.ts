import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { parseCertificate } from "./certificate.ts";
import { type LibCrypto, libcrypto, loadLibcrypto, overrideLibcrypto } from "./libcrypto.ts";
import { decrypt, encrypt, sign, verify } from "./mod.ts";
import { getTestPki, openssl, type TestPki, type TestUser } from "./test_pki.ts";
import type { DigestName, RsaKeyTransport, RsaSignaturePadding } from "./types.ts";

const content = new TextEncoder().encode(
  "Content-Type: text/plain; charset=utf-8\r\n\r\nÜberweisung 1.000,00 EUR\r\n.\r\nEnde\r\n",
);
let fileNo = 0;

async function tempFile(pki: TestPki, bytes: Uint8Array): Promise<string> {
  const path = `${pki.dir}/ffi${fileNo++}.bin`;
  await Deno.writeFile(path, bytes);
  return path;
}

function fast(): LibCrypto {
  overrideLibcrypto(null);
  const lib = libcrypto();
  assert(lib, "libcrypto should load with -A on a machine that has OpenSSL 3");
  return lib;
}

/** Runs `fn` with the fast path on or off, then restores the default. */
async function withPath<T>(path: "ffi" | "fallback", fn: () => Promise<T>): Promise<T> {
  overrideLibcrypto(path === "ffi" ? fast() : undefined);
  try {
    return await fn();
  } finally {
    overrideLibcrypto(null);
  }
}

/** The fast-path tests need --allow-ffi (`deno test -A`); without it they are ignored. */
const ffi = Deno.permissions.querySync({ name: "ffi" }).state === "granted";

const spkiOf = (user: TestUser) => parseCertificate(user.certificate).spki;
const sha = (hash: DigestName, data: Uint8Array) =>
  createHash(hash.replace("-", "").toLowerCase()).update(data).digest();

Deno.test("libcrypto loads with --allow-ffi and self-tests", { ignore: !ffi }, () => {
  fast();
});

Deno.test("SMIMEPOST_NO_FFI=1 turns the fast path off", { ignore: !ffi }, () => {
  Deno.env.set("SMIMEPOST_NO_FFI", "1");
  try {
    assertEquals(loadLibcrypto(), undefined);
  } finally {
    Deno.env.delete("SMIMEPOST_NO_FFI");
  }
  assert(loadLibcrypto());
});

Deno.test("without --allow-ffi the fallback is taken, silently and without a prompt", async () => {
  const pki = await getTestPki();
  const script = `${pki.dir}/ffi_probe.ts`;
  await Deno.writeTextFile(
    script,
    `import { libcrypto } from ${JSON.stringify(new URL("./libcrypto.ts", import.meta.url).href)};
console.log(libcrypto() ? "ffi" : "fallback");`,
  );
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", ...args, script],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assertEquals(new TextDecoder().decode(out.stderr), "");
    return new TextDecoder().decode(out.stdout).trim();
  };
  assertEquals(await run(["--allow-read"]), "fallback");
  assertEquals(await run(["--allow-ffi"]), "ffi");
  assertEquals(
    await run(["--allow-ffi", "--allow-env=SMIMEPOST_NO_FFI"], { SMIMEPOST_NO_FFI: "1" }),
    "fallback",
  );
});

const signMatrix: [string, RsaSignaturePadding, DigestName][] = [
  ["rsa2048", "pkcs1", "SHA-256"],
  ["rsa3072", "pkcs1", "SHA-512"],
  ["rsa2048", "pss", "SHA-256"],
  ["rsa3072", "pss", "SHA-384"],
  ["p256", "pkcs1", "SHA-256"],
  ["p384", "pkcs1", "SHA-384"],
];

for (const path of ["ffi", "fallback"] as const) {
  for (const [name, rsaPadding, digest] of signMatrix) {
    const scheme = name.startsWith("rsa") ? rsaPadding : "ecdsa";
    const ignore = path === "ffi" && !ffi;
    Deno.test(`${path}: sign() ${name} ${scheme} ${digest} passes openssl cms -verify`, {
      ignore,
    }, async () => {
      const pki = await getTestPki();
      const user = pki.users[name]!;
      const der = await withPath(path, () =>
        sign(content, {
          certificate: user.certificate,
          chain: [pki.intermediate],
          privateKey: user.privateKey,
        }, { detached: false, digest, rsaPadding }));
      const printed = await openssl([
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        await tempFile(pki, der),
        "-CAfile",
        pki.rootPem,
        "-binary",
        "-purpose",
        "any",
      ]);
      assertEquals(printed, content);
      // And the other path's verifier (WebCrypto) accepts it.
      const ours = await verify(der, { trustAnchors: [pki.root] });
      assertEquals(ours.signers[0]!.signatureValid, true);
    });
  }

  for (const transport of ["pkcs1", "oaep"] as RsaKeyTransport[]) {
    for (const cipher of ["aes-256-cbc", "aes-128-gcm"] as const) {
      const ignore = path === "ffi" && !ffi;
      Deno.test(`${path}: encrypt() ${transport} ${cipher} passes openssl cms -decrypt`, {
        ignore,
      }, async () => {
        const pki = await getTestPki();
        const users = ["rsa2048", "rsa3072", "p256", "p384"].map((n) => pki.users[n]!);
        const { der } = await withPath(
          path,
          () =>
            encrypt(content, users.map((u) => u.certificate), {
              cipher,
              rsaKeyTransport: transport,
            }),
        );
        const file = await tempFile(pki, der);
        for (const user of users) {
          const plain = await openssl([
            "cms",
            "-decrypt",
            "-inform",
            "DER",
            "-in",
            file,
            "-recip",
            user.certPem,
            "-inkey",
            user.keyPem,
            "-binary",
          ]);
          assertEquals(plain, content, user.name);
          // The fallback's decryption (node:crypto, WebCrypto) too.
          const ours = await decrypt(der, {
            certificate: user.certificate,
            privateKey: user.privateKey,
          });
          assertEquals(ours, content, user.name);
        }
      });
    }
  }
}

Deno.test(
  "RSASSA-PKCS1-v1_5 is deterministic: both paths write the same bytes",
  { ignore: !ffi },
  async () => {
    const pki = await getTestPki();
    const user = pki.users.rsa2048!;
    const identity = {
      certificate: user.certificate,
      chain: [pki.intermediate],
      privateKey: user.privateKey,
    };
    const options = { detached: true, signingTime: new Date("2030-01-02T03:04:05Z") };
    const a = await withPath("ffi", () => sign(content, identity, options));
    const b = await withPath("fallback", () => sign(content, identity, options));
    assertEquals(a, b);
  },
);

Deno.test("fast signatures verify with node:crypto, and node:crypto's with the fast path", {
  ignore: !ffi,
}, async () => {
  const pki = await getTestPki();
  const lib = fast();
  const cases: [string, "pkcs1" | "pss" | "ecdsa", DigestName][] = [
    ["rsa2048", "pkcs1", "SHA-256"],
    ["rsa3072", "pkcs1", "SHA-384"],
    ["rsa2048", "pss", "SHA-512"],
    ["rsa3072", "pss", "SHA-256"],
    ["p256", "ecdsa", "SHA-256"],
    ["p384", "ecdsa", "SHA-384"],
    ["p256", "ecdsa", "SHA-512"],
  ];
  for (const [name, scheme, hash] of cases) {
    const user = pki.users[name]!;
    const label = `${name} ${scheme} ${hash}`;
    const priv = createPrivateKey({ key: user.privateKey as Buffer, format: "der", type: "pkcs8" });
    const pub = createPublicKey(priv);
    const pss = scheme === "pss"
      ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: sha(hash, content).length }
      : {};
    const algorithm = hash.replace("-", "").toLowerCase();

    const ours = lib.signDigest(user.privateKey, scheme, hash, sha(hash, content));
    assert(ours, label);
    assert(nodeVerify(algorithm, content, { key: pub, ...pss }, ours), label);
    if (scheme === "pkcs1") {
      assertEquals(new Uint8Array(nodeSign(algorithm, content, priv)), ours, label);
    }

    const theirs = nodeSign(algorithm, content, { key: priv, ...pss });
    const spki = spkiOf(user);
    assertEquals(lib.verifyDigest(spki, scheme, hash, sha(hash, content), theirs), true, label);
    const other = sha(hash, new TextEncoder().encode("something else"));
    assertEquals(lib.verifyDigest(spki, scheme, hash, other, theirs), false, label);
  }
});

Deno.test("fast RSA encryption decrypts with node:crypto", { ignore: !ffi }, async () => {
  const pki = await getTestPki();
  const lib = fast();
  const cek = crypto.getRandomValues(new Uint8Array(32));
  for (const name of ["rsa2048", "rsa3072"]) {
    const user = pki.users[name]!;
    const key = createPrivateKey({ key: user.privateKey as Buffer, format: "der", type: "pkcs8" });
    const pkcs1 = lib.publicEncrypt(spkiOf(user), "pkcs1", cek)!;
    assertEquals(
      new Uint8Array(privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, pkcs1)),
      cek,
    );
    const oaep = lib.publicEncrypt(spkiOf(user), "oaep", cek)!;
    assertEquals(
      new Uint8Array(
        privateDecrypt(
          { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
          oaep,
        ),
      ),
      cek,
    );
    // Randomised padding: two encryptions differ.
    assert(lib.publicEncrypt(spkiOf(user), "oaep", cek)!.some((b, i) => b !== oaep[i]));
    // And node:crypto's encryption has the size the fast path's has.
    assertEquals(publicEncrypt(createPublicKey(key), cek).length, oaep.length);
  }
});

Deno.test("fast ECDH agrees with WebCrypto on the recipient's side", { ignore: !ffi }, async () => {
  const pki = await getTestPki();
  const lib = fast();
  for (const [name, curve, bits] of [["p256", "P-256", 256], ["p384", "P-384", 384]] as const) {
    const user = pki.users[name]!;
    const recipient = await crypto.subtle.importKey(
      "pkcs8",
      user.privateKey as Uint8Array<ArrayBuffer>,
      { name: "ECDH", namedCurve: curve },
      false,
      ["deriveBits"],
    );
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const result = lib.ecdhEphemeral(spkiOf(user));
      assert(result, name);
      assertEquals(result.point.length, 1 + 2 * bits / 8);
      assertEquals(result.point[0], 4);
      const ephemeral = await crypto.subtle.importKey(
        "raw",
        result.point as Uint8Array<ArrayBuffer>,
        { name: "ECDH", namedCurve: curve },
        false,
        [],
      );
      const z = await crypto.subtle.deriveBits(
        { name: "ECDH", public: ephemeral },
        recipient,
        bits,
      );
      assertEquals(result.z, new Uint8Array(z), name);
      seen.add(result.point.join());
    }
    assertEquals(seen.size, 3, "a fresh ephemeral key each time");
  }
});

Deno.test(
  "the fast path fails soft on keys and inputs it cannot use",
  { ignore: !ffi },
  async () => {
    const pki = await getTestPki();
    const lib = fast();
    const garbage = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);
    const digest = sha("SHA-256", content);
    assertEquals(lib.signDigest(garbage, "pkcs1", "SHA-256", digest), undefined);
    assertEquals(lib.publicEncrypt(garbage, "pkcs1", digest), undefined);
    assertEquals(lib.ecdhEphemeral(garbage), undefined);
    assertEquals(lib.verifyDigest(garbage, "pkcs1", "SHA-256", digest, digest), undefined);
    // Wrong digest length, PSS on an EC key, ECDH to an RSA key.
    const rsa = pki.users.rsa2048!;
    assertEquals(lib.signDigest(rsa.privateKey, "pkcs1", "SHA-256", digest.subarray(1)), undefined);
    assertEquals(lib.signDigest(pki.users.p256!.privateKey, "pss", "SHA-256", digest), undefined);
    assertEquals(lib.ecdhEphemeral(spkiOf(rsa)), undefined);
    // Trailing bytes after the key are refused, as WebCrypto refuses them.
    const padded = new Uint8Array([...rsa.privateKey, 0]);
    assertEquals(lib.signDigest(padded, "pkcs1", "SHA-256", digest), undefined);
    // Still works afterwards.
    assert(lib.signDigest(rsa.privateKey, "pkcs1", "SHA-256", digest));
  },
);
