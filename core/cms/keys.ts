/**
 * Private and public key imports for CMS, cached per key buffer.
 *
 * Private keys arrive as unencrypted PKCS#8 DER (RFC 5958). Signing and ECDH
 * go through WebCrypto; RSA key transport goes through node:crypto, because
 * WebCrypto has no PKCS#1 v1.5 encryption.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { SmimeError } from "../errors.ts";
import { AsnError, DerReader, parseTlv, readOid, source, Tag } from "./der.ts";
import { curveByOid, Oid } from "./oids.ts";
import type { CertificateInfo } from "./certificate.ts";
import { readRsaPublicKey } from "./rsa_public.ts";

/** The kind of a PKCS#8 private key. */
export interface PrivateKeyInfo {
  keyType: "rsa" | "ec";
  /** WebCrypto curve name for EC keys. */
  curve?: string;
  /** The modulus size in bits, for RSA keys. */
  modulusBits?: number;
}

const infoCache = new WeakMap<Uint8Array, PrivateKeyInfo>();

/**
 * Reads the algorithm of a PKCS#8 PrivateKeyInfo, and an RSA key's modulus size.
 * @throws SmimeError E_KEY_INVALID for anything but an RSA or named-curve EC key
 */
export function describePrivateKey(pkcs8: Uint8Array): PrivateKeyInfo {
  let info = infoCache.get(pkcs8);
  if (info) return info;
  try {
    const r = new DerReader(parseTlv(pkcs8));
    r.next(Tag.integer, "version");
    const alg = r.enter(Tag.sequence, "privateKeyAlgorithm");
    const id = readOid(alg.next(Tag.oid, "algorithm"));
    if (id === Oid.rsaEncryption) {
      // RFC 8017 A.1.2: RSAPrivateKey ::= SEQUENCE { version, modulus, ... }
      const rsa = new DerReader(parseTlv(r.next(Tag.octetString, "privateKey").value));
      rsa.next(Tag.integer, "version");
      info = { keyType: "rsa", modulusBits: bitLength(rsa.next(Tag.integer, "modulus").value) };
    } else if (id === Oid.ecPublicKey) {
      const curve = curveByOid[readOid(alg.next(Tag.oid, "namedCurve"))];
      if (!curve) throw new AsnError("unsupported EC curve");
      info = { keyType: "ec", curve };
    } else throw new AsnError(`unsupported key algorithm ${id}`);
  } catch (err) {
    if (!(err instanceof AsnError)) throw err;
    throw new SmimeError("E_KEY_INVALID", `Cannot use private key: ${err.message}`, {
      cause: err,
    });
  }
  infoCache.set(pkcs8, info);
  return info;
}

/** The size in bits of a DER INTEGER's non-negative value. */
function bitLength(value: Uint8Array): number {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  const first = value[i] ?? 0;
  return first === 0 ? 0 : (value.length - i - 1) * 8 + Math.floor(Math.log2(first)) + 1;
}

const webKeys = new WeakMap<Uint8Array, Map<string, Promise<CryptoKey>>>();

function cached(
  bytes: Uint8Array,
  id: string,
  make: () => Promise<CryptoKey>,
): Promise<CryptoKey> {
  let perKey = webKeys.get(bytes);
  if (!perKey) webKeys.set(bytes, perKey = new Map());
  let hit = perKey.get(id);
  if (!hit) {
    hit = make();
    perKey.set(id, hit);
    hit.catch(() => perKey.delete(id));
  }
  return hit;
}

/**
 * Imports a PKCS#8 key into WebCrypto for `algorithm` and `usage`.
 * @throws SmimeError E_KEY_INVALID when WebCrypto refuses it
 */
export function importPrivateKey(
  pkcs8: Uint8Array,
  algorithm: RsaHashedImportParams | EcKeyImportParams,
  usage: KeyUsage,
): Promise<CryptoKey> {
  const id = JSON.stringify(algorithm) + usage;
  return cached(pkcs8, id, async () => {
    try {
      return await crypto.subtle.importKey("pkcs8", source(pkcs8), algorithm, false, [usage]);
    } catch (err) {
      throw new SmimeError("E_KEY_INVALID", `Cannot use private key: ${(err as Error).message}`, {
        cause: err,
      });
    }
  });
}

/**
 * Imports a SubjectPublicKeyInfo into WebCrypto, cached per SPKI buffer
 * (certificates are cached per buffer too, so their SPKI views are stable).
 */
export function importPublicKey(
  spki: Uint8Array,
  algorithm: RsaHashedImportParams | EcKeyImportParams,
  usage: KeyUsage[],
): Promise<CryptoKey> {
  const id = JSON.stringify(algorithm) + usage.join();
  return cached(
    spki,
    id,
    () => crypto.subtle.importKey("spki", source(spki), algorithm, false, usage),
  );
}

const nodePrivate = new WeakMap<Uint8Array, KeyObject>();
const nodePublic = new WeakMap<Uint8Array, KeyObject>();

/** node:crypto KeyObject for a PKCS#8 private key. */
export function nodePrivateKey(pkcs8: Uint8Array): KeyObject {
  let key = nodePrivate.get(pkcs8);
  if (!key) {
    try {
      key = createPrivateKey({ key: pkcs8 as Buffer, format: "der", type: "pkcs8" });
    } catch (err) {
      throw new SmimeError("E_KEY_INVALID", `Cannot use private key: ${(err as Error).message}`, {
        cause: err,
      });
    }
    nodePrivate.set(pkcs8, key);
  }
  return key;
}

/** node:crypto KeyObject for a SubjectPublicKeyInfo. */
export function nodePublicKey(spki: Uint8Array): KeyObject {
  let key = nodePublic.get(spki);
  if (!key) {
    key = createPublicKey({ key: spki as Buffer, format: "der", type: "spki" });
    nodePublic.set(spki, key);
  }
  return key;
}

const matchCache = new WeakMap<Uint8Array, WeakMap<Uint8Array, boolean>>();

/**
 * True when the private key belongs to the certificate: the public key
 * derived from it equals the certificate's SubjectPublicKeyInfo.
 */
export function keyMatchesCertificate(pkcs8: Uint8Array, cert: CertificateInfo): boolean {
  let perKey = matchCache.get(pkcs8);
  if (!perKey) matchCache.set(pkcs8, perKey = new WeakMap());
  let hit = perKey.get(cert.der);
  if (hit === undefined) {
    const info = describePrivateKey(pkcs8);
    const type = info.keyType === "rsa" ? "rsa" : "ec";
    if (cert.keyType !== type || (info.curve && info.curve !== cert.curve)) hit = false;
    else {
      const derived = new Uint8Array(
        createPublicKey(nodePrivateKey(pkcs8)).export({ format: "der", type: "spki" }),
      );
      hit = type === "rsa" ? sameRsaKey(derived, cert.spki) : bytesEqual(
        derived,
        new Uint8Array(nodePublicKey(cert.spki).export({ format: "der", type: "spki" })),
      );
    }
    perKey.set(cert.der, hit);
  }
  return hit;
}

/**
 * Same modulus and exponent. Read here, not through node:crypto, which
 * refuses RSA public keys over 4096 bits.
 */
function sameRsaKey(a: Uint8Array, b: Uint8Array): boolean {
  try {
    const [x, y] = [readRsaPublicKey(a), readRsaPublicKey(b)];
    return x.n === y.n && x.e === y.e;
  } catch (err) {
    if (err instanceof AsnError) return false;
    throw err;
  }
}
