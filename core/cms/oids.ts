/**
 * Object identifiers and AlgorithmIdentifier encodings for CMS.
 *
 * @module
 */

import type { CipherName, DigestName } from "./types.ts";
import { type Der, int, NULL, oid, seq, tlv } from "./der.ts";

/** Dotted OIDs, named as in the RFC that defines them. */
export const Oid = {
  // RFC 5652 content types and attributes
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  envelopedData: "1.2.840.113549.1.7.3",
  authEnvelopedData: "1.2.840.113549.1.9.16.1.23", // RFC 5083
  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
  smimeCapabilities: "1.2.840.113549.1.9.15", // RFC 8551 2.5.2
  // digests (RFC 5754)
  sha1: "1.3.14.3.2.26",
  sha224: "2.16.840.1.101.3.4.2.4",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
  // RSA (RFC 8017, RFC 4055)
  rsaEncryption: "1.2.840.113549.1.1.1",
  rsaesOaep: "1.2.840.113549.1.1.7",
  mgf1: "1.2.840.113549.1.1.8",
  pSpecified: "1.2.840.113549.1.1.9",
  rsassaPss: "1.2.840.113549.1.1.10",
  sha1WithRsa: "1.2.840.113549.1.1.5",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  sha384WithRsa: "1.2.840.113549.1.1.12",
  sha512WithRsa: "1.2.840.113549.1.1.13",
  sha224WithRsa: "1.2.840.113549.1.1.14",
  // EC (RFC 5480, RFC 5758, RFC 5753)
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha1: "1.2.840.10045.4.1",
  ecdsaWithSha224: "1.2.840.10045.4.3.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  p521: "1.3.132.0.35",
  dhSinglePassSha1Kdf: "1.3.133.16.840.63.0.2",
  dhSinglePassSha224Kdf: "1.3.132.1.11.0",
  dhSinglePassSha256Kdf: "1.3.132.1.11.1",
  dhSinglePassSha384Kdf: "1.3.132.1.11.2",
  dhSinglePassSha512Kdf: "1.3.132.1.11.3",
  // AES (RFC 3565, RFC 5084, RFC 3394)
  desEde3Cbc: "1.2.840.113549.3.7", // RFC 3370 5.1; decrypt only
  aes128Cbc: "2.16.840.1.101.3.4.1.2",
  aes192Cbc: "2.16.840.1.101.3.4.1.22",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  aes128Gcm: "2.16.840.1.101.3.4.1.6",
  aes192Gcm: "2.16.840.1.101.3.4.1.26",
  aes256Gcm: "2.16.840.1.101.3.4.1.46",
  aes128Wrap: "2.16.840.1.101.3.4.1.5",
  aes192Wrap: "2.16.840.1.101.3.4.1.25",
  aes256Wrap: "2.16.840.1.101.3.4.1.45",
  // X.509 (RFC 5280)
  subjectKeyIdentifier: "2.5.29.14",
  subjectAltName: "2.5.29.17",
  keyUsage: "2.5.29.15",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  nameConstraints: "2.5.29.30",
  cRLDistributionPoints: "2.5.29.31",
  certificatePolicies: "2.5.29.32",
  policyMappings: "2.5.29.33",
  policyConstraints: "2.5.29.36",
  inhibitAnyPolicy: "2.5.29.54",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  anyExtendedKeyUsage: "2.5.29.37.0",
  emailAddress: "1.2.840.113549.1.9.1",
} as const;

/** WebCrypto hash names by digest OID (what CMS may name). */
export const hashByOid: Record<string, string> = {
  [Oid.sha1]: "SHA-1",
  [Oid.sha256]: "SHA-256",
  [Oid.sha384]: "SHA-384",
  [Oid.sha512]: "SHA-512",
};

/** Digest OIDs by our digest names. */
export const oidByHash: Record<DigestName, string> = {
  "SHA-256": Oid.sha256,
  "SHA-384": Oid.sha384,
  "SHA-512": Oid.sha512,
};

/** Byte length of each hash's output. */
export const hashLength: Record<string, number> = {
  "SHA-1": 20,
  "SHA-256": 32,
  "SHA-384": 48,
  "SHA-512": 64,
};

/** ecdsa-with-SHAx OIDs by hash (RFC 5758 3.2). */
export const ecdsaOidByHash: Record<DigestName, string> = {
  "SHA-256": Oid.ecdsaWithSha256,
  "SHA-384": Oid.ecdsaWithSha384,
  "SHA-512": Oid.ecdsaWithSha512,
};

/** Hash named by a signature algorithm OID that fixes one. */
export const hashBySignatureOid: Record<string, string> = {
  [Oid.sha1WithRsa]: "SHA-1",
  [Oid.sha256WithRsa]: "SHA-256",
  [Oid.sha384WithRsa]: "SHA-384",
  [Oid.sha512WithRsa]: "SHA-512",
  [Oid.ecdsaWithSha1]: "SHA-1",
  [Oid.ecdsaWithSha256]: "SHA-256",
  [Oid.ecdsaWithSha384]: "SHA-384",
  [Oid.ecdsaWithSha512]: "SHA-512",
};

/** WebCrypto curve names by curve OID. */
export const curveByOid: Record<string, string> = {
  [Oid.p256]: "P-256",
  [Oid.p384]: "P-384",
  [Oid.p521]: "P-521",
};

/** Content ciphers: OID, key length, and whether it is GCM. */
export interface CipherSpec {
  name: CipherName | "aes-192-cbc" | "aes-192-gcm" | "des-ede3-cbc";
  oid: string;
  keyLength: number;
  gcm: boolean;
  /** Read for old senders (`openssl cms -encrypt` defaults to it), never written. */
  legacy?: boolean;
}

const cipherList: CipherSpec[] = [
  { name: "des-ede3-cbc", oid: Oid.desEde3Cbc, keyLength: 24, gcm: false, legacy: true },
  { name: "aes-128-cbc", oid: Oid.aes128Cbc, keyLength: 16, gcm: false },
  { name: "aes-192-cbc", oid: Oid.aes192Cbc, keyLength: 24, gcm: false },
  { name: "aes-256-cbc", oid: Oid.aes256Cbc, keyLength: 32, gcm: false },
  { name: "aes-128-gcm", oid: Oid.aes128Gcm, keyLength: 16, gcm: true },
  { name: "aes-192-gcm", oid: Oid.aes192Gcm, keyLength: 24, gcm: true },
  { name: "aes-256-gcm", oid: Oid.aes256Gcm, keyLength: 32, gcm: true },
];

/** Content cipher by OID. */
export const cipherByOid: Record<string, CipherSpec> = Object.fromEntries(
  cipherList.map((c) => [c.oid, c]),
);

/** Content cipher by name. */
export const cipherByName: Record<string, CipherSpec> = Object.fromEntries(
  cipherList.filter((c) => !c.legacy).map((c) => [c.name, c]),
);

/** AES key wrap OID (RFC 3394 / RFC 3565) for a KEK of `keyLength` bytes. */
export const wrapOidByKeyLength: Record<number, string> = {
  16: Oid.aes128Wrap,
  24: Oid.aes192Wrap,
  32: Oid.aes256Wrap,
};

/** KEK length by AES key wrap OID. */
export const keyLengthByWrapOid: Record<string, number> = {
  [Oid.aes128Wrap]: 16,
  [Oid.aes192Wrap]: 24,
  [Oid.aes256Wrap]: 32,
};

/** KDF hash by dhSinglePass-stdDH-*kdf-scheme OID (RFC 5753 7.1.4). */
export const kdfHashByOid: Record<string, string> = {
  [Oid.dhSinglePassSha1Kdf]: "SHA-1",
  [Oid.dhSinglePassSha256Kdf]: "SHA-256",
  [Oid.dhSinglePassSha384Kdf]: "SHA-384",
  [Oid.dhSinglePassSha512Kdf]: "SHA-512",
};

/** AlgorithmIdentifier with the given parameters, or none. */
export function algId(dotted: string, params?: Der): Der {
  return params === undefined ? seq(oid(dotted)) : seq(oid(dotted), params);
}

/**
 * AlgorithmIdentifier for a SHA-2 digest in RSASSA-PSS / RSAES-OAEP
 * parameters: RFC 4055 2.1 gives these with NULL parameters.
 */
export function hashAlgIdWithNull(hash: string): Der {
  const dotted = Object.entries(hashByOid).find(([, h]) => h === hash)?.[0];
  if (!dotted) throw new Error(`no OID for ${hash}`);
  return algId(dotted, NULL);
}

/**
 * RSASSA-PSS-params or RSAES-OAEP-params body for `hash`: [0] hash,
 * [1] MGF1 with the same hash, and for PSS [2] the salt length (RFC 4055 3.1
 * and 4.1). Defaults (SHA-1) never apply to us, so fields are explicit.
 */
export function rsaHashParams(hash: string, saltLength?: number): Der {
  const h = hashAlgIdWithNull(hash);
  const parts: Der[] = [
    tlv(0xa0, h),
    tlv(0xa1, algId(Oid.mgf1, h)),
  ];
  if (saltLength !== undefined) {
    // saltLength INTEGER, explicitly tagged [2].
    parts.push(tlv(0xa2, int(saltLength)));
  }
  return seq(...parts);
}
