import { Buffer } from "node:buffer";
import { constants, createPublicKey, publicEncrypt } from "node:crypto";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { bytesEqual } from "../bytes.ts";
import { isSmimeError } from "../errors.ts";
import { decrypt, encrypt, inspect } from "./mod.ts";
import { NO_KEY_OPENS } from "./decrypt.ts";
import { childrenOf, DerReader, encode, parseTlv, seq, Tag, tlv } from "./der.ts";
import { type LibCrypto, loadLibcrypto, overrideLibcrypto } from "./libcrypto.ts";
import { readContentInfo, readEnvelope } from "./parse.ts";
import { keyIdentifierOf, MAX_RECIPIENT_TRIALS } from "./recipient.ts";
import { parseCertificate, serialHex } from "./certificate.ts";
import { getTestPki, openssl, type TestPki, type TestUser } from "./test_pki.ts";

const content = new TextEncoder().encode(
  "Content-Type: text/plain\r\n\r\n" + "Kontoauszug 42\r\n".repeat(50),
);
let fileNo = 0;

async function tempFile(pki: TestPki, bytes: Uint8Array): Promise<string> {
  const path = `${pki.dir}/d${fileNo++}.bin`;
  await Deno.writeFile(path, bytes);
  return path;
}

/** `openssl cms -encrypt` to `users`, each with its own -keyopt options. */
async function opensslEncrypt(
  pki: TestPki,
  users: TestUser[],
  options: { cipher?: string; keyid?: boolean; keyopt?: string[] } = {},
): Promise<Uint8Array> {
  const args = ["cms", "-encrypt", "-in", await tempFile(pki, content), "-outform", "DER"];
  args.push("-binary", options.cipher ?? "-aes256", ...(options.keyid ? ["-keyid"] : []));
  for (const user of users) {
    args.push("-recip", user.certPem);
    if (user.name !== "p256" && user.name !== "p384") {
      for (const opt of options.keyopt ?? []) args.push("-keyopt", opt);
    }
  }
  return await openssl(args);
}

const keyOnly = (user: TestUser) => ({ privateKey: user.privateKey });
const OAEP_256 = ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256"];

const opensslCases: [string, string[], string, Parameters<typeof opensslEncrypt>[2]][] = [
  ["PKCS#1 v1.5, ours in the middle", ["rsa3072", "rsa2048", "outsider"], "rsa2048", {}],
  ["OAEP SHA-256, ours in the middle", ["rsa3072", "rsa2048", "outsider"], "rsa2048", {
    keyopt: OAEP_256,
  }],
  ["OAEP SHA-1 (openssl's default)", ["outsider", "rsa3072"], "rsa3072", {
    keyopt: ["rsa_padding_mode:oaep"],
  }],
  ["-keyid, PKCS#1 v1.5", ["rsa3072", "rsa2048", "outsider"], "rsa2048", { keyid: true }],
  ["AES-GCM AuthEnvelopedData, OAEP", ["rsa3072", "rsa2048"], "rsa2048", {
    cipher: "-aes-256-gcm",
    keyopt: OAEP_256,
  }],
  ["EC P-256 between RSA and P-384", ["rsa2048", "p384", "p256", "rsa3072"], "p256", {}],
  ["EC P-384 between P-256 and RSA", ["p256", "p384", "rsa2048"], "p384", {}],
  ["-keyid, EC P-256", ["p384", "p256"], "p256", { keyid: true }],
];

for (const [label, names, mine, options] of opensslCases) {
  Deno.test(`decrypt() with the key alone opens openssl cms -encrypt: ${label}`, async () => {
    const pki = await getTestPki();
    const der = await opensslEncrypt(pki, names.map((n) => pki.users[n]!), options);
    const info = inspect(der);
    assert(info.kind !== "signed-data");
    assertEquals(info.recipients.length, names.length);
    assertEquals(
      info.recipients.every((r) => (r.subjectKeyIdentifier !== undefined) === !!options?.keyid),
      true,
    );
    assertEquals(await decrypt(der, keyOnly(pki.users[mine]!)), content);
  });
}

Deno.test("decrypt() with the key alone opens what encrypt() makes, RSA and EC", async () => {
  const pki = await getTestPki();
  const users = ["rsa2048", "rsa3072", "p256", "p384"].map((n) => pki.users[n]!);
  for (const rsaKeyTransport of ["pkcs1", "oaep"] as const) {
    for (const cipher of ["aes-256-cbc", "aes-128-gcm"] as const) {
      const { der } = await encrypt(content, users.map((u) => u.certificate), {
        cipher,
        rsaKeyTransport,
      });
      for (const user of users) {
        assertEquals(await decrypt(der, keyOnly(user)), content, `${user.name} ${cipher}`);
      }
    }
  }
});

Deno.test("keyIdentifierOf() is RFC 5280 method 1: the SKI openssl writes with 'hash'", async () => {
  const pki = await getTestPki();
  for (const name of ["rsa2048", "p384"]) {
    const user = pki.users[name]!;
    const cert = parseCertificate(user.certificate);
    assertEquals(keyIdentifierOf(user.privateKey), cert.subjectKeyIdentifier);
  }
});

/** The real libcrypto, wrapped to count RSA decryptions. */
function countingLibcrypto(): { lib: LibCrypto; calls: () => number } {
  const real = loadLibcrypto();
  assert(real, "libcrypto must load (run with --allow-ffi)");
  let calls = 0;
  const lib: LibCrypto = {
    signDigest: (...args) => real.signDigest(...args),
    verifyDigest: (...args) => real.verifyDigest(...args),
    publicEncrypt: (...args) => real.publicEncrypt(...args),
    ecdhEphemeral: (...args) => real.ecdhEphemeral(...args),
    rsaDecrypt: (...args) => {
      calls++;
      return real.rsaDecrypt(...args);
    },
    implicitRejection: real.implicitRejection,
    aesCbc: (...args) => real.aesCbc(...args),
  };
  return { lib, calls: () => calls };
}

Deno.test("decrypt() with the key alone takes the RecipientInfo its SKI names, else tries each", async () => {
  const pki = await getTestPki();
  const users = [pki.users.rsa3072!, pki.users.outsider!, pki.users.rsa2048!];
  const counting = countingLibcrypto();
  overrideLibcrypto(counting.lib);
  try {
    const byKeyId = await opensslEncrypt(pki, users, { keyid: true });
    assertEquals(await decrypt(byKeyId, keyOnly(pki.users.rsa2048!)), content);
    assertEquals(counting.calls(), 1);
    const byIssuer = await opensslEncrypt(pki, users);
    assertEquals(await decrypt(byIssuer, keyOnly(pki.users.rsa2048!)), content);
    // Tried in message order up to ours.
    const info = inspect(byIssuer);
    assert(info.kind !== "signed-data");
    const serial = serialHex(parseCertificate(pki.users.rsa2048!.certificate).serial);
    const position = info.recipients.findIndex((r) => r.serialNumber === serial);
    assert(position >= 0);
    assertEquals(counting.calls(), 1 + position + 1);
  } finally {
    overrideLibcrypto(null);
  }
});

/** Runs `fn` with crypto.subtle.decrypt counted. */
async function countingContentDecryptions(fn: () => Promise<unknown>): Promise<number> {
  const subtle = crypto.subtle;
  const original = subtle.decrypt;
  let calls = 0;
  subtle.decrypt = function (...args: Parameters<SubtleCrypto["decrypt"]>) {
    calls++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    delete (subtle as { decrypt?: unknown }).decrypt;
  }
  assertEquals(subtle.decrypt, original);
  return calls;
}

/** `block` RSA-encrypted without padding under the certificate's public key. */
function rawRsa(cert: Uint8Array, block: Uint8Array): Uint8Array {
  const spki = parseCertificate(cert).spki;
  const jwk = createPublicKey({ key: spki as Buffer, format: "der", type: "spki" })
    .export({ format: "jwk" });
  const big = (b64: string) => BigInt("0x" + Buffer.from(b64, "base64url").toString("hex"));
  const n = big(jwk.n!);
  let e = big(jwk.e!);
  let base = BigInt("0x" + Buffer.from(block).toString("hex")) % n;
  let result = 1n;
  for (; e > 0n; e >>= 1n, base = (base * base) % n) if (e & 1n) result = (result * base) % n;
  const hex = result.toString(16).padStart(block.length * 2, "0");
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/** A copy of `der` with the first RecipientInfo's encryptedKey replaced (same length). */
function withEncryptedKey(der: Uint8Array, encryptedKey: Uint8Array): Uint8Array {
  const { kind, content } = readContentInfo(der);
  const ri = readEnvelope(content, kind).recipientInfos[0]!;
  assert(ri.type === "ktri" && ri.encryptedKey.length === encryptedKey.length);
  const copy = der.slice();
  copy.set(encryptedKey, ri.encryptedKey.byteOffset - der.byteOffset);
  return copy;
}

for (const backend of ["libcrypto", "node:crypto"] as const) {
  Deno.test(`decrypt() PKCS#1 v1.5 failures look alike and decrypt the content all the same (${backend})`, async () => {
    const pki = await getTestPki();
    const user = pki.users.rsa2048!;
    // GCM, so that a content decryption under a wrong key always fails.
    const der = await opensslEncrypt(pki, [user], { cipher: "-aes-256-gcm" });
    const pub = { key: parseCertificate(user.certificate).spki as Buffer, format: "der" as const };
    const spkiKey = createPublicKey({ ...pub, type: "spki" });
    const badPadding = new Uint8Array(256);
    badPadding.set([0x00, 0x01], 0); // block type 1 is for signatures, not encryption
    badPadding.fill(0xff, 2, 200);
    const variants: Record<string, Uint8Array> = {
      "bad padding": rawRsa(user.certificate, badPadding),
      "valid padding, wrong key": new Uint8Array(publicEncrypt(
        { key: spkiKey, padding: constants.RSA_PKCS1_PADDING },
        crypto.getRandomValues(new Uint8Array(32)),
      )),
      "valid padding, wrong key length": new Uint8Array(publicEncrypt(
        { key: spkiKey, padding: constants.RSA_PKCS1_PADDING },
        crypto.getRandomValues(new Uint8Array(16)),
      )),
    };
    overrideLibcrypto(backend === "libcrypto" ? loadLibcrypto() : undefined);
    try {
      for (const [label, encryptedKey] of Object.entries(variants)) {
        const tampered = withEncryptedKey(der, encryptedKey);
        for (const key of [keyOnly(user), { ...keyOnly(user), certificate: user.certificate }]) {
          let err: unknown;
          const calls = await countingContentDecryptions(async () => {
            err = await assertRejects(() => decrypt(tampered, key));
          });
          assert(isSmimeError(err, "E_DECRYPT"), `${label}: ${err}`);
          assertEquals((err as Error).message, NO_KEY_OPENS, label);
          assertEquals(calls, 1, `${label}: the content decryption ran`);
        }
      }
      assertEquals(await decrypt(der, keyOnly(user)), content);
    } finally {
      overrideLibcrypto(null);
    }
  });
}

Deno.test("libcrypto rsaDecrypt: a bad PKCS#1 v1.5 padding is refused, or implicitly rejected from OpenSSL 3.2", async () => {
  const pki = await getTestPki();
  const user = pki.users.rsa2048!;
  const lib = loadLibcrypto();
  assert(lib, "libcrypto must load (run with --allow-ffi)");
  const block = new Uint8Array(256);
  block.set([0x00, 0x01], 0);
  const bad = rawRsa(user.certificate, block.fill(0xff, 2, 200));
  const first = lib.rsaDecrypt(user.privateKey, "pkcs1", "SHA-1", bad);
  if (lib.implicitRejection) {
    // RFC 8017 bis / OpenSSL 3.2: a pseudo-random message, the same each time.
    assert(first instanceof Uint8Array);
    assertEquals(lib.rsaDecrypt(user.privateKey, "pkcs1", "SHA-1", bad), first);
  } else {
    assertEquals(first, false);
  }
});

Deno.test("decrypt() with a wrong key says the same for PKCS#1 v1.5 and OAEP messages", async () => {
  const pki = await getTestPki();
  const bob = pki.users.rsa3072!;
  const wrong = pki.users.rsa2048!;
  const texts = new Set<string>();
  for (const keyopt of [[], OAEP_256]) {
    const der = await opensslEncrypt(pki, [bob, pki.users.p384!], {
      cipher: "-aes-256-gcm",
      keyopt,
    });
    for (
      const key of [
        keyOnly(wrong),
        { ...keyOnly(wrong), certificate: wrong.certificate },
        keyOnly(pki.users.p256!),
      ]
    ) {
      const err = await assertRejects(() => decrypt(der, key));
      assert(isSmimeError(err, "E_DECRYPT"), String(err));
      texts.add((err as Error).message);
    }
  }
  assertEquals([...texts], [NO_KEY_OPENS]);
});

/** `der` with its first RecipientInfo repeated `times` more, in front of the others. */
function withRepeatedRecipient(der: Uint8Array, times: number): Uint8Array {
  const r = new DerReader(parseTlv(der));
  const contentType = r.next(Tag.oid);
  const envelope = new DerReader(r.next(0xa0)).next(Tag.sequence);
  const [version, recipients, ...rest] = childrenOf(envelope);
  const first = childrenOf(recipients!)[0]!;
  const repeated = tlv(Tag.set, ...Array(times).fill(first.raw), recipients!.value);
  const rebuilt = seq(version!.raw, repeated, ...rest.map((t) => t.raw));
  return encode(seq(contentType.raw, tlv(0xa0, rebuilt)));
}

Deno.test("decrypt() refuses a key alone against more than 1,000 recipients; its certificate still works", async () => {
  const pki = await getTestPki();
  const user = pki.users.rsa2048!;
  const der = await opensslEncrypt(pki, [pki.users.rsa3072!, user]);
  const many = withRepeatedRecipient(der, MAX_RECIPIENT_TRIALS);
  const info = inspect(many);
  assert(info.kind !== "signed-data");
  assertEquals(info.recipients.length, MAX_RECIPIENT_TRIALS + 2);
  const counting = countingLibcrypto();
  overrideLibcrypto(counting.lib);
  try {
    const err = await assertRejects(() => decrypt(many, keyOnly(user)));
    assert(isSmimeError(err, "E_CMS"), String(err));
    assert((err as Error).message.includes("more than 1000 recipients"), String(err));
    assertEquals(counting.calls(), 0, "refused before any key operation");
    assertEquals(await decrypt(many, { ...keyOnly(user), certificate: user.certificate }), content);
    assertEquals(counting.calls(), 1);
  } finally {
    overrideLibcrypto(null);
  }
});

Deno.test("decrypt() in place gives what it gives into a new array, as a view of the CMS bytes, any content size", async () => {
  const pki = await getTestPki();
  const user = pki.users.rsa2048!;
  // Around one block, two, the first piece's end and past a 1 MB piece.
  for (
    const size of [0, 1, 15, 16, 17, 31, 32, 33, 1000, (1 << 20) - 17, (1 << 20) + 40, 2_500_001]
  ) {
    const plain = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
    const body = new Uint8Array(size).map((_, i) => plain[i % plain.length]!);
    const { der } = await encrypt(body, [user.certificate]);
    const expected = await decrypt(der, keyOnly(user));
    assertEquals(expected, body, `size ${size}`);
    const opened = await decrypt(der, keyOnly(user), { inPlace: true });
    assert(bytesEqual(opened, body), `size ${size}: in place differs`);
    // One block alone is decrypted into a new array; longer content over the ciphertext.
    if (size >= 16) assertEquals(opened.buffer, der.buffer, `size ${size}: not in place`);
  }
});

Deno.test("decrypt() in place: a key that does not open the content leaves the bytes as they were", async () => {
  const pki = await getTestPki();
  const [mine, other] = [pki.users.rsa2048!, pki.users.rsa3072!];
  const { der } = await encrypt(content, [mine.certificate, other.certificate]);
  const before = der.slice();
  // A random content key (RFC 3218): the padding check on the last block refuses it.
  const tampered = withEncryptedKey(der, crypto.getRandomValues(new Uint8Array(256)));
  const kept = tampered.slice();
  let refused = 0;
  for (let i = 0; i < 20; i++) {
    const err = await decrypt(tampered, keyOnly(mine), { inPlace: true }).catch((e) => e);
    if (isSmimeError(err, "E_DECRYPT")) refused++;
    else tampered.set(kept);
  }
  assert(refused >= 15, `only ${refused} of 20 random keys refused`);
  assertEquals(tampered, kept, "a refused key changed the bytes");
  assertEquals(await decrypt(der, keyOnly(other), { inPlace: true }), content);
  assert(!bytesEqual(der, before), "the content was not decrypted where it lay");
});

Deno.test("decrypt() in place without libcrypto decrypts into a new array and leaves the bytes", async () => {
  const pki = await getTestPki();
  const user = pki.users.rsa2048!;
  const { der } = await encrypt(content, [user.certificate]);
  const before = der.slice();
  overrideLibcrypto(undefined);
  try {
    assertEquals(await decrypt(der, keyOnly(user), { inPlace: true }), content);
  } finally {
    overrideLibcrypto(null);
  }
  assertEquals(der, before);
});
