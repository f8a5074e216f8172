/**
 * Loads a private key from any of the forms users keep them in: PKCS#8,
 * encrypted PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY", legacy
 * `Proc-Type: 4,ENCRYPTED` PEM, or DER. Hands out unencrypted PKCS#8 DER.
 *
 * @module
 */

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { SmimeError } from "../errors.ts";
import { AsnError, DerReader, parseTlv, readOid, Tag } from "../cms/der.ts";
import { Oid } from "../cms/oids.ts";
import { looksLikeDer, readPemBlocks } from "./pem.ts";

/** A loaded private key. */
export interface LoadedKey {
  /** Unencrypted PKCS#8 DER. */
  pkcs8: Uint8Array;
  /** The matching public key as SPKI DER, for comparing with a certificate. */
  spki: Uint8Array;
  /** "rsa" or "ec". */
  type: "rsa" | "ec";
}

/** Asks for the passphrase of one file; undefined when none is available. */
export type PassphraseSource = () => Promise<string | undefined>;

const DER_TYPES = ["pkcs8", "pkcs1", "sec1"] as const;

/** The E_PASSPHRASE error for an encrypted file and no passphrase. */
export function noPassphraseError(file: string): SmimeError {
  return new SmimeError(
    "E_PASSPHRASE",
    `key file ${file} is encrypted; set SMIMEPOST_PASSPHRASE, use --passphrase-file, or run on a terminal`,
  );
}

/** The E_PASSPHRASE error for a wrong passphrase; names the file only. */
export function wrongPassphraseError(file: string, cause?: unknown): SmimeError {
  return new SmimeError("E_PASSPHRASE", `wrong passphrase for key file ${file}`, { cause });
}

async function passphraseFor(file: string, source: PassphraseSource): Promise<string> {
  const passphrase = await source();
  if (passphrase === undefined) throw noPassphraseError(file);
  return passphrase;
}

/**
 * Reads a private key file's contents.
 *
 * @param bytes the file contents
 * @param file the path, named in errors
 * @param passphrase asked only when the key is encrypted
 * @throws {SmimeError} E_KEY_INVALID (not a key), E_PASSPHRASE (encrypted and
 *   no or a wrong passphrase), E_UNSUPPORTED (DSA, Ed25519, unknown cipher,
 *   scrypt, EC with explicit curve parameters)
 */
export async function loadPrivateKey(
  bytes: Uint8Array,
  file: string,
  passphrase: PassphraseSource,
): Promise<LoadedKey> {
  if (looksLikeDer(bytes)) return toLoaded(await keyFromDer(bytes, file, passphrase), file);
  const block = readPemBlocks(bytes, file, "E_KEY_INVALID").find((b) =>
    b.label.endsWith("PRIVATE KEY")
  );
  if (!block) throw new SmimeError("E_KEY_INVALID", `Cannot read ${file}: no private key in it`);
  if (block.label === "ENCRYPTED PRIVATE KEY") {
    return toLoaded(await decryptPkcs8(block.der, file, passphrase), file);
  }
  if (/ENCRYPTED/.test(block.headers["Proc-Type"] ?? "")) {
    const secret = await passphraseFor(file, passphrase);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: block.text, format: "pem", passphrase: secret });
    } catch (err) {
      throw wrongPassphraseError(file, err);
    }
    return toLoaded(key, file);
  }
  const type = block.label === "RSA PRIVATE KEY"
    ? "pkcs1"
    : block.label === "EC PRIVATE KEY"
    ? "sec1"
    : "pkcs8";
  try {
    return toLoaded(createPrivateKey({ key: block.der as never, format: "der", type }), file);
  } catch (err) {
    if (err instanceof SmimeError) throw err;
    if (hasExplicitCurve(block.der)) throw explicitCurveError(file, err);
    throw new SmimeError("E_KEY_INVALID", `Cannot read ${file}: the private key is damaged`, {
      cause: err,
    });
  }
}

async function keyFromDer(
  der: Uint8Array,
  file: string,
  passphrase: PassphraseSource,
): Promise<KeyObject> {
  for (const type of DER_TYPES) {
    try {
      return createPrivateKey({ key: der as never, format: "der", type });
    } catch {
      // try the next form
    }
  }
  if (hasExplicitCurve(der)) throw explicitCurveError(file);
  return await decryptPkcs8(der, file, passphrase);
}

async function decryptPkcs8(
  der: Uint8Array,
  file: string,
  passphrase: PassphraseSource,
): Promise<KeyObject> {
  const secret = await passphraseFor(file, passphrase);
  // Loaded on demand: pbe.ts pulls in pkijs, which plain keys never need.
  const { decryptPrivateKeyInfo, PbeError } = await import("./pbe.ts");
  let pkcs8: Uint8Array;
  try {
    pkcs8 = decryptPrivateKeyInfo(der, secret);
  } catch (err) {
    if (!(err instanceof PbeError) || err.kind === "password") {
      throw wrongPassphraseError(file, err);
    }
    if (err.kind === "limit") {
      throw new SmimeError("E_KEY_INVALID", `Cannot read ${file}: ${err.message}`, { cause: err });
    }
    if (err.kind === "kdf") {
      throw new SmimeError(
        "E_UNSUPPORTED",
        `Cannot read ${file}: ${err.message} is not supported; re-export it with PBKDF2: ` +
          "openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <new key>",
        { cause: err },
      );
    }
    try {
      return createPrivateKey({
        key: der as never,
        format: "der",
        type: "pkcs8",
        passphrase: secret,
      });
    } catch {
      throw new SmimeError("E_UNSUPPORTED", `Cannot read ${file}: ${err.message} is not supported`);
    }
  }
  try {
    return createPrivateKey({ key: pkcs8 as never, format: "der", type: "pkcs8" });
  } catch (err) {
    if (hasExplicitCurve(pkcs8)) throw explicitCurveError(file, err);
    // Padding can check out by chance with a wrong passphrase; the DER then won't.
    throw wrongPassphraseError(file, err);
  }
}

/**
 * True when `der`, PKCS#8 or SEC1 (RFC 5915), is an EC key whose curve is
 * spelt out as parameters (specifiedCurve) instead of named: RFC 5480 2.1.1
 * forbids them in certificates, and node:crypto reads none.
 */
function hasExplicitCurve(der: Uint8Array): boolean {
  try {
    const r = new DerReader(parseTlv(der));
    r.next(Tag.integer, "version");
    const second = r.next();
    if (second.tag === Tag.sequence) {
      // PKCS#8: the AlgorithmIdentifier's parameters are an OID when named.
      const alg = new DerReader(second);
      return readOid(alg.next(Tag.oid, "algorithm")) === Oid.ecPublicKey &&
        alg.next().tag === Tag.sequence;
    }
    // SEC1 ECPrivateKey: privateKey, then parameters [0] EXPLICIT.
    const parameters = second.tag === Tag.octetString ? r.optional(0xa0) : undefined;
    return parameters !== undefined && parseTlv(parameters.value).tag === Tag.sequence;
  } catch (err) {
    if (err instanceof AsnError) return false;
    throw err;
  }
}

function explicitCurveError(file: string, cause?: unknown): SmimeError {
  return new SmimeError(
    "E_UNSUPPORTED",
    `Cannot use ${file}: EC keys with explicit curve parameters are not supported; re-export ` +
      "it with a named curve: openssl ec -param_enc named_curve -in <key> -out <new key>",
    { cause },
  );
}

/** The curves we sign and decrypt with, by node:crypto's names. */
const CURVES: Record<string, string> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};
/** RSA modulus sizes we use; under 2048 the certificate check warns. */
const RSA_BITS = { min: 1024, max: 16384 };

function toLoaded(key: KeyObject, file: string): LoadedKey {
  const type = key.asymmetricKeyType;
  const unsupported = (what: string) =>
    new SmimeError("E_UNSUPPORTED", `Cannot use ${file}: ${what}`);
  if (type !== "rsa" && type !== "ec") {
    throw unsupported(`${type ?? "unknown"} keys are not supported (RSA and EC P-256/384/521 are)`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ec" && !CURVES[details.namedCurve ?? ""]) {
    throw unsupported(
      `EC curve ${details.namedCurve ?? "(unknown)"} is not supported (P-256, P-384 and P-521 are)`,
    );
  }
  const bits = details.modulusLength ?? 0;
  if (type === "rsa" && (bits < RSA_BITS.min || bits > RSA_BITS.max)) {
    throw unsupported(
      `RSA-${bits} key is outside the supported ${RSA_BITS.min}-${RSA_BITS.max} bits`,
    );
  }
  return {
    pkcs8: new Uint8Array(key.export({ format: "der", type: "pkcs8" })),
    spki: new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" })),
    type,
  };
}

/** The SPKI DER of a certificate's public key, normalised like {@link LoadedKey.spki}. */
export function certificateSpki(spkiDer: Uint8Array): Uint8Array {
  const key = createPublicKey({ key: spkiDer as never, format: "der", type: "spki" });
  return new Uint8Array(key.export({ format: "der", type: "spki" }));
}
