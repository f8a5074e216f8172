/**
 * RSA key transport for decryption (RFC 5652 6.2.1): PKCS#1 v1.5 and
 * RSAES-OAEP (RFC 8017 7.1, parameters as RFC 4055 4.1 writes them).
 *
 * A PKCS#1 v1.5 padding failure must not be told apart from any other
 * failure (the million-message attack, RFC 3218 2.3), so nothing here
 * reports one: a refused ciphertext yields undefined, and decrypt.ts goes on
 * with a random content-encryption key. Through libcrypto when it is loaded
 * (constant-time padding checks; OpenSSL 3.2 and later do implicit
 * rejection, so libcrypto itself returns a pseudo-random key), else through
 * node:crypto.
 *
 * @module
 */

import { constants, privateDecrypt } from "node:crypto";
import { SmimeError } from "../errors.ts";
import { DerReader, readOctets, Tag, type Tlv } from "./der.ts";
import { nodePrivateKey } from "./keys.ts";
import { libcrypto } from "./libcrypto.ts";
import { hashByOid, Oid } from "./oids.ts";
import { type KeyTransRecipient, readAlgorithm, readCms } from "./parse.ts";
import type { DigestName } from "./types.ts";

/** How a KeyTransRecipientInfo's key was encrypted. */
export type KeyTransportScheme = { mode: "pkcs1" } | {
  mode: "oaep";
  hash: "SHA-1" | DigestName;
};

/** RSAES-OAEP-params (RFC 8017 A.2.1): the hash, which MGF1 must share; no label. */
function oaepHash(params: Tlv | undefined): "SHA-1" | DigestName {
  let hash = "SHA-1";
  let mgfHash = "SHA-1";
  if (params) {
    const r = new DerReader(params);
    const h = r.optional(0xa0);
    if (h) hash = hashByOid[readAlgorithm(new DerReader(h).next(Tag.sequence)).oid] ?? "?";
    const m = r.optional(0xa1);
    if (m) {
      const mgf = readAlgorithm(new DerReader(m).next(Tag.sequence));
      mgfHash = mgf.oid === Oid.mgf1 && mgf.params
        ? hashByOid[readAlgorithm(mgf.params).oid] ?? "?"
        : "?";
    }
    const p = r.optional(0xa2);
    if (p) {
      const src = readAlgorithm(new DerReader(p).next(Tag.sequence));
      if (src.oid !== Oid.pSpecified || (src.params && readOctets(src.params).length > 0)) {
        throw new SmimeError("E_UNSUPPORTED", "Cannot decrypt: RSA-OAEP with a label");
      }
    }
  }
  if (hash === "?" || hash !== mgfHash) {
    throw new SmimeError("E_UNSUPPORTED", "Cannot decrypt: unsupported RSA-OAEP parameters");
  }
  return hash as "SHA-1" | DigestName;
}

/**
 * The key-transport scheme of a KeyTransRecipientInfo.
 * @throws SmimeError E_UNSUPPORTED for other algorithms or OAEP parameters,
 *   E_CMS when malformed
 */
export function keyTransportScheme(ri: KeyTransRecipient): KeyTransportScheme {
  return readCms("KeyTransRecipientInfo", () => {
    const alg = readAlgorithm(ri.keyEncryptionAlgorithm);
    if (alg.oid === Oid.rsaEncryption) return { mode: "pkcs1" };
    if (alg.oid === Oid.rsaesOaep) return { mode: "oaep", hash: oaepHash(alg.params) };
    throw new SmimeError("E_UNSUPPORTED", `Cannot decrypt: unsupported key transport ${alg.oid}`);
  });
}

/**
 * Decrypts the encrypted key of a KeyTransRecipientInfo with a PKCS#8 RSA
 * key. Returns the content-encryption key only when it has `keyLength`
 * bytes; undefined for every failure alike, so that the caller goes on with
 * a random key and the outcome says nothing about the padding.
 */
export function transportedKey(
  ri: KeyTransRecipient,
  scheme: KeyTransportScheme,
  pkcs8: Uint8Array,
  keyLength: number,
): Uint8Array | undefined {
  const hash = scheme.mode === "oaep" ? scheme.hash : "SHA-1";
  let cek = libcrypto()?.rsaDecrypt(pkcs8, scheme.mode, hash, ri.encryptedKey);
  if (cek === undefined) {
    const padding = scheme.mode === "pkcs1" ? { padding: constants.RSA_PKCS1_PADDING } : {
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: hash.replace("-", "").toLowerCase(),
    };
    try {
      cek = new Uint8Array(
        privateDecrypt({ key: nodePrivateKey(pkcs8), ...padding }, ri.encryptedKey),
      );
    } catch (err) {
      if (err instanceof SmimeError) throw err; // the key itself is unusable
      cek = false;
    }
  }
  return cek && cek.length === keyLength ? cek : undefined;
}
