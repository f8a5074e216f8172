/**
 * Key sizes end to end through the CLI: RSA 2048-16384 and EC P-256/384/521
 * sign, encrypt, verify and decrypt, with and without libcrypto (FFI), judged
 * by `openssl cms`; RSA-1023, RSA over 16384 bits, secp256k1 and Ed25519 are
 * refused in one line naming the limit and the file, and so is an RSA key
 * too small for RSASSA-PSS with the digest asked. Every key is made by
 * openssl for this run (the 16384-bit one takes a minute or more of CPU, so
 * it starts when the module loads); the 16400-bit certificate carries a
 * crafted public key, since OpenSSL won't make such keys in reasonable time.
 */
import { bytesToLatin1 } from "../core/bytes.ts";
import { assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import { tool } from "./support/helpers.ts";
import { bitString, encode, NULL, oid, seq, Tag, tlv } from "../core/cms/der.ts";

const EXT = `[user]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment, keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:copy
`;

async function openssl(args: string[], cwd: string, stdin?: Uint8Array): Promise<Uint8Array> {
  const run = await tool("openssl", args, stdin, cwd);
  if (run.code !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

const genpkey = (spec: string, out: string, cwd: string) => {
  const [alg, opt] = spec.startsWith("rsa")
    ? ["RSA", `rsa_keygen_bits:${spec.slice(3)}`]
    : spec === "ed25519"
    ? ["ED25519", undefined]
    : ["EC", `ec_paramgen_curve:${spec}`];
  return openssl(
    ["genpkey", "-algorithm", alg, ...(opt ? ["-pkeyopt", opt] : []), "-out", out],
    cwd,
  );
};

const DIR = Deno.makeTempDirSync({ prefix: "smimepost-keysizes-" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
// Started now, awaited by the last test: the other tests run meanwhile.
const rsa16384 = genpkey("rsa16384", "rsa16384.key", DIR);

let ca: Promise<void> | undefined;

/** The CA of this run and its trust file, made once. */
function makeCa(): Promise<void> {
  ca ??= (async () => {
    await Deno.writeTextFile(`${DIR}/ext.cnf`, EXT);
    await Deno.mkdir(`${DIR}/keys`);
    await genpkey("rsa2048", "ca.key", DIR);
    await openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-subj",
      "/CN=Key sizes test CA",
      "-days",
      "2",
      "-addext",
      "basicConstraints=critical,CA:true",
      "-addext",
      "keyUsage=critical,keyCertSign",
      "-out",
      "ca.pem",
    ], DIR);
  })();
  return ca;
}

let serial = 100;

/** Issues `name@example.com` a certificate for `keyFile` (or `pubFile`) into keys/. */
async function issue(name: string, keyFile: string, pubFile?: string): Promise<string> {
  await makeCa();
  const address = `${name}@example.com`;
  await openssl([
    "req",
    "-new",
    "-key",
    pubFile ? "ca.key" : keyFile,
    "-subj",
    `/CN=${name}/emailAddress=${address}`,
    "-out",
    `${name}.csr`,
  ], DIR);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    ...(pubFile ? ["-force_pubkey", pubFile] : []),
    "-set_serial",
    String(serial++),
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
    "-extensions",
    "user",
    "-out",
    `keys/${address}.crt`,
  ], DIR);
  if (!pubFile) {
    await Deno.copyFile(`${DIR}/${keyFile}`, `${DIR}/keys/${address}.pem`);
    await Deno.chmod(`${DIR}/keys/${address}.pem`, 0o600);
  }
  return address;
}

interface Variant {
  flags: string[];
  /** openssl cms -sign options for the signature that `verify` must call intact. */
  opensslSign: string[];
  env: Record<string, string>;
}
const OPAQUE_PKCS1_FFI: Variant = {
  flags: ["--sign", "--encrypt"],
  opensslSign: ["-nodetach"],
  env: {},
};
const DETACHED_PSS_OAEP_NO_FFI: Variant = {
  flags: ["--sign-detached", "--rsa-pss", "--encrypt", "--oaep"],
  opensslSign: ["-keyopt", "rsa_padding_mode:pss"],
  env: { SMIMEPOST_NO_FFI: "1" },
};
const DETACHED_EC_NO_FFI: Variant = {
  flags: ["--sign-detached", "--encrypt"],
  opensslSign: [],
  env: { SMIMEPOST_NO_FFI: "1" },
};

/**
 * One round trip for `address` (signer and recipient at once): smimepost
 * signs and encrypts, openssl decrypts and verifies; openssl signs, smimepost
 * verifies; smimepost decrypts its own message.
 */
async function roundTrip(address: string, variant: Variant): Promise<void> {
  const label = `${address} ${variant.flags.join(" ")} ${JSON.stringify(variant.env)}`;
  const keys = ["--keys", "keys", "--trust", "ca.pem"];
  const message =
    `From: ${address}\r\nTo: ${address}\r\nSubject: sizes\r\n\r\nHello ${address}\r\n`;
  await Deno.writeTextFile(`${DIR}/m.eml`, message);
  const env = { ...variant.env, NO_COLOR: "1" };
  const send = await runCli(["send", "m.eml", ...variant.flags, ...keys, "-o", "e.eml"], {
    cwd: DIR,
    env,
  });
  assertEquals(send.code, 0, `send ${label}: ${send.stderr}`);
  const cert = `keys/${address}.crt`;
  const inner = await openssl(
    ["cms", "-decrypt", "-recip", cert, "-inkey", `keys/${address}.pem`, "-in", "e.eml"],
    DIR,
  );
  const verified = await openssl(["cms", "-verify", "-CAfile", "ca.pem"], DIR, inner);
  assertIncludes(new TextDecoder().decode(verified), `Hello ${address}`, label);

  const ours = await runCli(["decrypt", "e.eml", ...keys], { cwd: DIR, env });
  assertEquals(ours.code, 0, `decrypt ${label}: ${ours.stderr}`);
  assertMatch(ours.text, /signed/, label);

  const signed = await openssl([
    "cms",
    "-sign",
    "-signer",
    cert,
    "-inkey",
    `keys/${address}.pem`,
    "-in",
    "m.eml",
    ...variant.opensslSign,
  ], DIR);
  const withFrom = new TextEncoder().encode(`From: ${address}\r\n`);
  await Deno.writeFile(`${DIR}/s.eml`, new Uint8Array([...withFrom, ...signed]));
  const verify = await runCli(["verify", "s.eml", ...keys], { cwd: DIR, env });
  assertEquals(verify.code, 0, `verify ${label}: ${verify.text}${verify.stderr}`);
  assertMatch(verify.text, /signature: intact/, label);
}

for (const bits of [2048, 3072, 4096, 8192]) {
  Deno.test(`RSA-${bits}: send, verify and decrypt, with and without libcrypto, openssl agrees`, async () => {
    await genpkey(`rsa${bits}`, `rsa${bits}.key`, DIR);
    const address = await issue(`rsa${bits}`, `rsa${bits}.key`);
    await roundTrip(address, OPAQUE_PKCS1_FFI);
    await roundTrip(address, DETACHED_PSS_OAEP_NO_FFI);
  });
}

for (const curve of ["P-256", "P-384", "P-521"]) {
  Deno.test(`EC ${curve}: send, verify and decrypt, with and without libcrypto, openssl agrees`, async () => {
    const name = curve.toLowerCase().replace("-", "");
    await genpkey(curve, `${name}.key`, DIR);
    const address = await issue(name, `${name}.key`);
    await roundTrip(address, OPAQUE_PKCS1_FFI);
    await roundTrip(address, DETACHED_EC_NO_FFI);
  });
}

/** A SubjectPublicKeyInfo PEM with a random odd `bits`-bit modulus: no key behind it. */
function craftedRsaPublicKey(bits: number): string {
  const n = crypto.getRandomValues(new Uint8Array(Math.ceil(bits / 8) + 1));
  n[0] = 0;
  n[1] = (n[1]! & (0xff >> (8 - (bits % 8 || 8)))) | (1 << ((bits - 1) % 8));
  n[n.length - 1]! |= 1;
  const rsaKey = encode(seq(tlv(Tag.integer, n), tlv(Tag.integer, new Uint8Array([1, 0, 1]))));
  const spki = encode(seq(seq(oid("1.2.840.113549.1.1.1"), NULL), bitString(rsaKey)));
  const b64 = btoa(bytesToLatin1(spki)).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

/** Asserts a one-line refusal with exit `code` that includes every one of `parts`. */
function assertRefused(run: { code: number; stderr: string }, code: number, ...parts: string[]) {
  assertEquals(run.code, code, run.stderr);
  assertEquals(run.stderr.trimEnd().split("\n").length, 1, run.stderr);
  for (const part of parts) assertIncludes(run.stderr, part);
}

Deno.test("send refuses RSA-1023, secp256k1 and Ed25519 signers and an RSA-16400 recipient, naming the limit", async () => {
  const keys = ["--keys", "keys", "--trust", "ca.pem"];
  const signWith = async (name: string, spec: string) => {
    await genpkey(spec, `${name}.key`, DIR);
    const address = await issue(name, `${name}.key`);
    await Deno.writeTextFile(`${DIR}/${name}.eml`, `From: ${address}\nTo: x@example.com\n\nhi\n`);
    return await runCli(["send", `${name}.eml`, "--sign", ...keys], { cwd: DIR });
  };
  assertRefused(
    await signWith("rsa1023", "rsa1023"),
    65,
    "RSA-1023 key is too weak (1024 bits at least",
    "keys/rsa1023@example.com.crt",
  );
  assertRefused(
    await signWith("k1", "secp256k1"),
    65,
    "EC curve secp256k1 keys are not supported (RSA and EC P-256/384/521 are)",
    "keys/k1@example.com.crt",
  );
  assertRefused(
    await signWith("ed", "ed25519"),
    65,
    "Ed25519 keys are not supported",
    "keys/ed@example.com.crt",
  );

  await Deno.writeTextFile(`${DIR}/big.pub`, craftedRsaPublicKey(16400));
  const big = await issue("big", "", "big.pub");
  await Deno.writeTextFile(`${DIR}/big.eml`, `From: x@example.com\nTo: ${big}\n\nhi\n`);
  const encrypt = await runCli(["send", "big.eml", "--encrypt", "--no-encrypt-to-self", ...keys], {
    cwd: DIR,
  });
  assertRefused(
    encrypt,
    65,
    "RSA-16400 key is too large (16384 bits at most)",
    "keys/big@example.com.crt",
  );

  // The key files themselves, whatever certificate sits beside them.
  const check = await runCli(["keys", "check", ...keys], { cwd: DIR });
  assertEquals(check.code, 65, check.stderr);
  assertMatch(
    check.text,
    /rsa1023@example\.com\.pem[^\n]*\n[^\n]*RSA-1023 key is outside the supported 1024-16384 bits/,
  );
  assertMatch(
    check.text,
    /k1@example\.com\.pem[^\n]*\n[^\n]*EC curve secp256k1 is not supported \(P-256, P-384 and P-521 are\)/,
  );
  assertMatch(check.text, /ed@example\.com\.pem[^\n]*\n[^\n]*ed25519 keys are not supported/);
  assertMatch(
    check.text,
    /big@example\.com\.crt[^\n]*RSA-16400[^\n]*\n[^\n]*too large \(16384 bits at most\)/,
  );
});

Deno.test("send refuses an RSA-1024 signer for --rsa-pss --digest sha512 in one line, with and without libcrypto; a folder run fails that message only", async () => {
  const keys = ["--keys", "keys", "--trust", "ca.pem"];
  await genpkey("rsa1024", "pss1024.key", DIR);
  const small = await issue("pss1024", "pss1024.key");
  await genpkey("rsa2048", "pss2048.key", DIR);
  const large = await issue("pss2048", "pss2048.key");
  await Deno.mkdir(`${DIR}/pss`);
  await Deno.writeTextFile(`${DIR}/pss/1.eml`, `From: ${small}\nTo: x@example.com\n\nhi\n`);
  await Deno.writeTextFile(`${DIR}/pss/2.eml`, `From: ${large}\nTo: x@example.com\n\nhi\n`);
  const flags = ["--sign", "--rsa-pss", "--digest", "sha512", ...keys];
  for (const env of [{}, { SMIMEPOST_NO_FFI: "1" }] as Record<string, string>[]) {
    assertRefused(
      await runCli(["send", "pss/1.eml", ...flags], { cwd: DIR, env }),
      65,
      `Cannot sign as ${small}: RSA-1024 is too small for RSASSA-PSS with SHA-512 (needs 1034 ` +
        `bits); use --digest sha384 or sha256, or a larger key (keys/${small}.pem)`,
    );
  }
  const run = await runCli(["send", "pss", ...flags, "-o", "pss-out"], { cwd: DIR });
  assertEquals(run.code, 3, run.stderr);
  assertIncludes(run.stderr, `not sealed, unsupported: Cannot sign as ${small}: RSA-1024`);
  assertEquals([...Deno.readDirSync(`${DIR}/pss-out`)].length, 1);
});

Deno.test("RSA-16384: send, verify and decrypt, with and without libcrypto, openssl agrees", async () => {
  await rsa16384;
  const address = await issue("rsa16384", "rsa16384.key");
  await roundTrip(address, OPAQUE_PKCS1_FFI);
  await roundTrip(address, DETACHED_PSS_OAEP_NO_FFI);
});
