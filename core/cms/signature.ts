/**
 * Checking one CMS signature value with a certificate's public key:
 * RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017, params per RFC 4055 3.1) and
 * ECDSA (RFC 5753 / RFC 5758), through WebCrypto.
 *
 * @module
 */

import { AsnError, DerReader, parseTlv, readSmallInt, source, Tag, type Tlv } from "./der.ts";
import type { CertificateInfo } from "./certificate.ts";
import { importPublicKey } from "./keys.ts";
import { hashByOid, hashBySignatureOid, Oid } from "./oids.ts";
import { readAlgorithm } from "./parse.ts";
import { isTooLargeForWebCrypto, readRsaPublicKey, rsaVerify } from "./rsa_public.ts";

const rsaPkcs1Oids = new Set<string>([
  Oid.rsaEncryption,
  Oid.sha1WithRsa,
  Oid.sha256WithRsa,
  Oid.sha384WithRsa,
  Oid.sha512WithRsa,
]);
const ecdsaOids = new Set<string>([
  Oid.ecPublicKey,
  Oid.ecdsaWithSha1,
  Oid.ecdsaWithSha256,
  Oid.ecdsaWithSha384,
  Oid.ecdsaWithSha512,
]);

/** "RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA", or the OID when unknown. */
export function signatureAlgorithmName(alg: Tlv): string {
  const { oid } = readAlgorithm(alg);
  if (rsaPkcs1Oids.has(oid)) return "RSASSA-PKCS1-v1_5";
  if (oid === Oid.rsassaPss) return "RSA-PSS";
  if (ecdsaOids.has(oid)) return "ECDSA";
  return oid;
}

/** RSASSA-PSS-params (RFC 4055 3.1) with their SHA-1 defaults applied. */
function readPssParams(params: Tlv | undefined): { hash: string; saltLength: number } {
  let hash = "SHA-1";
  let mgfHash = "SHA-1";
  let saltLength = 20;
  if (params) {
    const r = new DerReader(params);
    const h = r.optional(0xa0);
    if (h) hash = hashName(new DerReader(h).next(Tag.sequence));
    const m = r.optional(0xa1);
    if (m) {
      const mgf = readAlgorithm(new DerReader(m).next(Tag.sequence));
      if (mgf.oid !== Oid.mgf1 || !mgf.params) throw new AsnError("unsupported mask generation");
      mgfHash = hashName(mgf.params);
    }
    const s = r.optional(0xa2);
    if (s) saltLength = readSmallInt(new DerReader(s).next(Tag.integer));
    const t = r.optional(0xa3);
    if (t && readSmallInt(new DerReader(t).next(Tag.integer)) !== 1) {
      throw new AsnError("unsupported PSS trailer field");
    }
  }
  // WebCrypto ties MGF1's hash to the message hash.
  if (mgfHash !== hash) throw new AsnError("PSS with an MGF1 hash unlike the message hash");
  return { hash, saltLength };
}

function hashName(alg: Tlv): string {
  const { oid } = readAlgorithm(alg);
  const hash = hashByOid[oid];
  if (!hash) throw new AsnError(`unsupported hash ${oid}`);
  return hash;
}

/** Ecdsa-Sig-Value (RFC 3279 2.2.3) to WebCrypto's fixed-width r||s. */
function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array {
  const r = new DerReader(parseTlv(der));
  const out = new Uint8Array(size * 2);
  for (let i = 0; i < 2; i++) {
    let v = r.next(Tag.integer, "ECDSA r/s").value;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new AsnError("ECDSA value too long");
    out.set(v, i * size + size - v.length);
  }
  if (!r.done) throw new AsnError("trailing data in ECDSA signature");
  return out;
}

const curveSize: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/**
 * Verifies `signature` over `data` with the certificate's key.
 *
 * @param digestHash the SignerInfo digest, used when the signature
 *   algorithm names no hash of its own (rsaEncryption, id-ecPublicKey)
 * @returns undefined when valid, else the reason
 */
export async function checkSignature(
  cert: CertificateInfo,
  signatureAlgorithm: Tlv,
  digestHash: string,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<string | undefined> {
  let algorithm: RsaHashedImportParams | EcKeyImportParams;
  let params: AlgorithmIdentifier | RsaPssParams | EcdsaParams;
  let sig = signature;
  try {
    const { oid, params: p } = readAlgorithm(signatureAlgorithm);
    const hash = hashBySignatureOid[oid] ?? digestHash;
    if (rsaPkcs1Oids.has(oid)) {
      if (cert.keyType !== "rsa") return "RSA signature but the certificate key is not RSA";
      algorithm = { name: "RSASSA-PKCS1-v1_5", hash };
      params = "RSASSA-PKCS1-v1_5";
    } else if (oid === Oid.rsassaPss) {
      if (cert.keyType !== "rsa") return "RSA-PSS signature but the certificate key is not RSA";
      const pss = readPssParams(p);
      algorithm = { name: "RSA-PSS", hash: pss.hash };
      params = { name: "RSA-PSS", saltLength: pss.saltLength };
    } else if (ecdsaOids.has(oid)) {
      const size = cert.curve ? curveSize[cert.curve] : undefined;
      if (cert.keyType !== "ec" || !size) {
        return "ECDSA signature but the certificate key is not a supported EC key";
      }
      algorithm = { name: "ECDSA", namedCurve: cert.curve! };
      params = { name: "ECDSA", hash };
      sig = ecdsaDerToRaw(signature, size);
    } else return `unsupported signature algorithm ${oid}`;
  } catch (err) {
    if (err instanceof AsnError) return `unusable signature: ${err.message}`;
    throw err;
  }
  if (algorithm.name !== "ECDSA" && isTooLargeForWebCrypto(cert.spki)) {
    // WebCrypto refuses RSA public keys over 4096 bits: BigInt arithmetic instead.
    const pss = params as RsaPssParams | string;
    const ok = rsaVerify(
      readRsaPublicKey(cert.spki),
      typeof pss === "string" ? "pkcs1" : "pss",
      (algorithm as RsaHashedImportParams).hash as string,
      typeof pss === "string" ? 0 : pss.saltLength,
      data,
      sig,
    );
    return ok ? undefined : "signature does not match";
  }
  let key: CryptoKey;
  try {
    key = await importPublicKey(cert.spki, algorithm, ["verify"]);
  } catch (err) {
    return `cannot use the signer's public key: ${(err as Error).message}`;
  }
  let ok: boolean;
  try {
    ok = await crypto.subtle.verify(params, key, source(sig), source(data));
  } catch (err) {
    // Deno checks an EC public key's point only when it is used.
    return `cannot use the signer's public key: ${(err as Error).message}`;
  }
  return ok ? undefined : "signature does not match";
}

/**
 * Checks a certificate's RSA signature by BigInt arithmetic, for what
 * node:crypto's X509Certificate.verify() can't check: an issuer key too
 * large for it (over 4096 bits), and RSASSA-PSS, which it refuses whatever
 * the key (Windows ADCS's "alternate signature format", eID CAs). The path
 * engine uses node:crypto for everything else.
 *
 * @param subjectDer the signed certificate
 * @param issuerSpki the issuer's SubjectPublicKeyInfo
 * @returns true when the signature verifies
 */
export function rsaSignedBy(subjectDer: Uint8Array, issuerSpki: Uint8Array): boolean {
  try {
    const cert = new DerReader(parseTlv(subjectDer));
    const tbs = cert.next(Tag.sequence, "tbsCertificate").raw;
    const { oid, params } = readAlgorithm(cert.next(Tag.sequence, "signatureAlgorithm"));
    const bits = cert.next(Tag.bitString, "signatureValue").value;
    if (bits[0] !== 0) return false;
    const key = readRsaPublicKey(issuerSpki);
    if (oid === Oid.rsassaPss) {
      const pss = readPssParams(params);
      return rsaVerify(key, "pss", pss.hash, pss.saltLength, tbs, bits.subarray(1));
    }
    const hash = hashBySignatureOid[oid];
    if (!rsaPkcs1Oids.has(oid) || !hash) return false;
    return rsaVerify(key, "pkcs1", hash, 0, tbs, bits.subarray(1));
  } catch (err) {
    if (err instanceof AsnError) return false;
    throw err;
  }
}
