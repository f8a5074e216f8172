import * as asn1js from "asn1js";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { isSmimeError } from "../errors.ts";
import { ITERATION_CAPS, iterationCount, PbeError } from "./pbe.ts";
import { loadPrivateKey } from "./private_key.ts";
import { readPkcs12 } from "./pkcs12.ts";
import { toBuffer } from "./pem.ts";

const PASSPHRASE = "kdf-test-passphrase";
const passphrase = () => Promise.resolve(PASSPHRASE);

async function openssl(args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return out.stdout;
}

/** A DER INTEGER holding `value`, in as many octets as it needs (plus a sign octet). */
function integer(value: bigint): asn1js.Integer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = "00" + hex;
  return new asn1js.Integer({
    valueHex: Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16)).buffer,
  });
}

function child(node: asn1js.BaseBlock, ...path: number[]): asn1js.Sequence {
  let at = node;
  for (const i of path) at = (at as asn1js.Sequence).valueBlock.value[i]!;
  return at as asn1js.Sequence;
}

/** Re-encodes `der` with the INTEGER at `path` (its parent's index last) set to `count`. */
function withCount(der: Uint8Array, path: number[], count: bigint): Uint8Array {
  const root = asn1js.fromBER(toBuffer(der)).result;
  const parent = child(root, ...path.slice(0, -1));
  parent.valueBlock.value[path.at(-1)!] = integer(count);
  return new Uint8Array(root.toBER(false));
}

let made:
  | Promise<{ pkcs8: Uint8Array; scrypt: Uint8Array; p12: Uint8Array; dir: string }>
  | undefined;

/** An encrypted PKCS#8 (PBKDF2, then scrypt) and a PKCS#12, made once by openssl. */
function files() {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "smimepost-kdf-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const key = `${dir}/k.pem`;
    await openssl([
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      key,
    ]);
    await openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      "/CN=kdf",
      "-days",
      "2",
      "-out",
      `${dir}/c.pem`,
    ]);
    const pass = `pass:${PASSPHRASE}`;
    const pkcs8 = await openssl([
      "pkcs8",
      "-topk8",
      "-in",
      key,
      "-outform",
      "DER",
      "-passout",
      pass,
    ]);
    const scrypt = await openssl([
      "pkcs8",
      "-topk8",
      "-scrypt",
      "-in",
      key,
      "-outform",
      "DER",
      "-passout",
      pass,
    ]);
    const p12 = await openssl([
      "pkcs12",
      "-export",
      "-inkey",
      key,
      "-in",
      `${dir}/c.pem`,
      "-passout",
      pass,
    ]);
    return { pkcs8, scrypt, p12, dir };
  })();
  return made;
}

// EncryptedPrivateKeyInfo > algorithm > PBES2-params > keyDerivationFunc > PBKDF2-params > count
const PBKDF2_COUNT = [0, 1, 0, 1, 1];
// PFX > macData > iterations
const MAC_COUNT = [2, 2];

Deno.test("iterationCount() reads INTEGERs of any length and refuses counts outside 1..cap", () => {
  assertEquals(iterationCount(undefined, "MAC", 5), 1);
  assertEquals(iterationCount(integer(2048n), "PBKDF2", 10_000_000), 2048);
  assertEquals(iterationCount(integer(10_000_000n), "PBKDF2", 10_000_000), 10_000_000);
  const refused = (count: bigint, cap = ITERATION_CAPS.pbkdf2) => {
    try {
      iterationCount(integer(count), "PBKDF2", cap);
    } catch (err) {
      assert(err instanceof PbeError && err.kind === "limit", String(err));
      return err.message;
    }
    throw new Error(`count ${count} was accepted`);
  };
  assertEquals(
    refused(2n ** 31n),
    "PBKDF2 iteration count 2147483648 is over the limit of 10,000,000",
  );
  assertEquals(
    refused(2n ** 40n),
    "PBKDF2 iteration count 1099511627776 is over the limit of 10,000,000",
  );
  assertEquals(
    refused(10_000_001n),
    "PBKDF2 iteration count 10000001 is over the limit of 10,000,000",
  );
  assertEquals(refused(0n), "PBKDF2 iteration count 0 is not valid");
  const negative = new asn1js.Integer({ valueHex: new Uint8Array([0xff, 0x00]).buffer });
  assert(/-256 is not valid/.test(String(catchError(() => iterationCount(negative, "x", 9)))));
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

async function refusal(load: () => Promise<unknown>): Promise<string> {
  try {
    await load();
  } catch (err) {
    assert(isSmimeError(err, "E_KEY_INVALID"), `expected E_KEY_INVALID, got ${err}`);
    return err.message;
  }
  throw new Error("the file was accepted");
}

Deno.test("loadPrivateKey() refuses PBKDF2 counts of 2^31, 2^40 and cap+1, naming count, cap and file", async () => {
  const { pkcs8 } = await files();
  // The file as openssl wrote it opens: the patching itself is sound.
  const plain = await loadPrivateKey(withCount(pkcs8, PBKDF2_COUNT, 2048n), "k.der", passphrase);
  assertEquals(plain.type, "ec");
  for (const count of [2n ** 31n, 2n ** 40n, BigInt(ITERATION_CAPS.pbkdf2 + 1)]) {
    const message = await refusal(() =>
      loadPrivateKey(withCount(pkcs8, PBKDF2_COUNT, count), "k.der", passphrase)
    );
    assertEquals(
      message,
      `Cannot read k.der: PBKDF2 iteration count ${count} is over the limit of 10,000,000`,
    );
  }
});

Deno.test("readPkcs12() refuses MAC counts of 2^31, 2^40 and cap+1 before any work", async () => {
  const { p12 } = await files();
  const opened = await readPkcs12(p12, "id.p12", passphrase);
  assert(opened.key, "openssl's own file opens");
  for (const count of [2n ** 31n, 2n ** 40n, BigInt(ITERATION_CAPS.pkcs12 + 1)]) {
    const message = await refusal(() =>
      readPkcs12(withCount(p12, MAC_COUNT, count), "id.p12", passphrase)
    );
    assertEquals(
      message,
      `Cannot read id.p12: PKCS#12 MAC iteration count ${count} is over the limit of 1,000,000`,
    );
  }
});

Deno.test("loadPrivateKey() refuses an scrypt-encrypted PKCS#8 as unsupported, not as a wrong passphrase", async () => {
  const { scrypt } = await files();
  try {
    await loadPrivateKey(scrypt, "k.der", passphrase);
  } catch (err) {
    assert(isSmimeError(err, "E_UNSUPPORTED"), `expected E_UNSUPPORTED, got ${err}`);
    assertEquals(
      err.message,
      "Cannot read k.der: scrypt key derivation is not supported; re-export it with PBKDF2: " +
        "openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <new key>",
    );
    return;
  }
  throw new Error("the scrypt key was accepted");
});
