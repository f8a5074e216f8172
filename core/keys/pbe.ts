/**
 * Password-based decryption for PKCS#12 and encrypted PKCS#8: PBES2
 * (RFC 8018: PBKDF2 + AES/3DES), the PKCS#12 PBE schemes with 3DES and
 * 40/128-bit RC2 (RFC 7292 appendix C) and the PKCS#12 MAC (RFC 7292
 * appendix B). Done with node:crypto, and rc2.ts for the RC2 that
 * node:crypto lacks, so legacy files that OpenSSL 3 and WebCrypto no longer
 * read still open.
 *
 * @module
 */

import { createDecipheriv, createHash, createHmac, pbkdf2Sync } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { toBuffer } from "./pem.ts";
import { rc2CbcDecrypt } from "./rc2.ts";

/** A password-based scheme failed: wrong password, an algorithm we lack, a count over the cap. */
export class PbeError extends Error {
  /**
   * "password": wrong password or damaged data; "unsupported": unknown
   * algorithm; "limit": an iteration count over its cap (or under 1);
   * "kdf": a PBES2 key derivation other than PBKDF2 (scrypt), refused
   * outright: node:crypto would run it at whatever cost the file names.
   */
  readonly kind: "password" | "unsupported" | "limit" | "kdf";
  /** @param kind see {@link PbeError.kind} @param message without any secret */
  constructor(kind: "password" | "unsupported" | "limit" | "kdf", message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Iteration caps, far above what real exports use: OpenSSL 3 writes 2048
 * (PBKDF2, the PKCS#12 PBE and MAC), Windows 2000, Java's keytool 10,000,
 * password managers following OWASP up to 600,000 (PBKDF2). A count over
 * its cap is refused before any work, so a hostile key file can't make us
 * spin: PBKDF2 runs in native code (10 million iterations take seconds),
 * the PKCS#12 KDF (RFC 7292 B.2) hashes in a JavaScript loop (about 6 us an
 * iteration), hence its lower cap.
 */
export const ITERATION_CAPS = { pbkdf2: 10_000_000, pkcs12: 1_000_000 } as const;

/**
 * Reads an iteration count, a DER INTEGER of any length (asn1js's valueDec
 * reads 4+ octets as 0), and refuses one under 1 or over `cap`.
 *
 * @param node the INTEGER; undefined means the DEFAULT 1 (RFC 7292 MacData)
 * @param what names the count in the message: "PBKDF2", "PKCS#12 MAC"...
 * @throws {PbeError} "limit"
 */
export function iterationCount(
  node: asn1js.BaseBlock | undefined,
  what: string,
  cap: number,
): number {
  if (node === undefined) return 1;
  if (!(node instanceof asn1js.Integer)) {
    throw new PbeError("limit", `${what} iteration count is not an INTEGER`);
  }
  const bytes = node.valueBlock.valueHexView;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  if (bytes.length > 0 && bytes[0]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  if (value < 1n) throw new PbeError("limit", `${what} iteration count ${value} is not valid`);
  if (value > BigInt(cap)) {
    throw new PbeError(
      "limit",
      `${what} iteration count ${value} is over the limit of ${cap.toLocaleString("en-US")}`,
    );
  }
  return Number(value);
}

const HASHES: Record<string, { name: string; block: number }> = {
  "1.3.14.3.2.26": { name: "sha1", block: 64 },
  "2.16.840.1.101.3.4.2.4": { name: "sha224", block: 64 },
  "2.16.840.1.101.3.4.2.1": { name: "sha256", block: 64 },
  "2.16.840.1.101.3.4.2.2": { name: "sha384", block: 128 },
  "2.16.840.1.101.3.4.2.3": { name: "sha512", block: 128 },
};
const PRFS: Record<string, string> = {
  "1.2.840.113549.2.7": "sha1",
  "1.2.840.113549.2.8": "sha224",
  "1.2.840.113549.2.9": "sha256",
  "1.2.840.113549.2.10": "sha384",
  "1.2.840.113549.2.11": "sha512",
};
const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  "2.16.840.1.101.3.4.1.2": { name: "aes-128-cbc", keyLength: 16 },
  "2.16.840.1.101.3.4.1.22": { name: "aes-192-cbc", keyLength: 24 },
  "2.16.840.1.101.3.4.1.42": { name: "aes-256-cbc", keyLength: 32 },
  "1.2.840.113549.3.7": { name: "des-ede3-cbc", keyLength: 24 },
};
const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";
/** RFC 7914 section 7: id-scrypt. */
const SCRYPT = "1.3.6.1.4.1.11591.4.11";
/** RFC 7292 appendix C: the PKCS#12 PBE schemes we read, by OID. */
const PKCS12_PBE: Record<string, { cipher: "3des" | "rc2"; keyLength: number }> = {
  "1.2.840.113549.1.12.1.3": { cipher: "3des", keyLength: 24 }, // pbeWithSHAAnd3-KeyTripleDES-CBC
  "1.2.840.113549.1.12.1.5": { cipher: "rc2", keyLength: 16 }, // pbeWithSHAAnd128BitRC2-CBC
  "1.2.840.113549.1.12.1.6": { cipher: "rc2", keyLength: 5 }, // pbeWithSHAAnd40BitRC2-CBC
};

// RFC 7292 B.2: the PKCS#12 key derivation. id 1 = key, 2 = IV, 3 = MAC key.
function pkcs12Kdf(
  hash: { name: string; block: number },
  password: string,
  salt: Uint8Array,
  id: number,
  iterations: number,
  length: number,
): Uint8Array {
  const v = hash.block;
  const pass = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    pass[i * 2] = password.charCodeAt(i) >> 8;
    pass[i * 2 + 1] = password.charCodeAt(i) & 0xff;
  }
  const fill = (src: Uint8Array) => {
    const out = new Uint8Array(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  const input = new Uint8Array([...fill(salt), ...fill(pass)]);
  const out = new Uint8Array(length);
  for (let done = 0; done < length;) {
    let a: Uint8Array = createHash(hash.name).update(new Uint8Array(v).fill(id)).update(input)
      .digest();
    for (let i = 1; i < iterations; i++) a = createHash(hash.name).update(a).digest();
    out.set(a.subarray(0, Math.min(a.length, length - done)), done);
    done += a.length;
    const b = fill(a).subarray(0, v);
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (input[j + k] ?? 0) + (b[k] ?? 0) + carry;
        input[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return out;
}

function decipher(name: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  try {
    const d = createDecipheriv(name, key, iv);
    return new Uint8Array([...d.update(data), ...d.final()]);
  } catch {
    throw new PbeError("password", "wrong passphrase or damaged data");
  }
}

/**
 * Decrypts data encrypted under a password-based AlgorithmIdentifier.
 *
 * @throws {PbeError} "password" when padding fails, "unsupported" for RC4,
 *   RC2 under PBES2 and anything else unknown, "kdf" for a PBES2 key
 *   derivation other than PBKDF2 (scrypt)
 */
export function decryptPbe(
  algorithm: pkijs.AlgorithmIdentifier,
  data: Uint8Array,
  password: string,
): Uint8Array {
  const oid = algorithm.algorithmId;
  if (oid === PBES2) {
    const params = new pkijs.PBES2Params({ schema: algorithm.algorithmParams });
    // RFC 8018 A.4 allows any KDF here; scrypt's parameters would read as a
    // PBKDF2 salt and count (its N), derive a wrong key, and pass for a wrong
    // passphrase. Its cost (N, r, p) is not bounded by node:crypto either.
    const kdfId = params.keyDerivationFunc.algorithmId;
    if (kdfId !== PBKDF2) {
      throw new PbeError(
        "kdf",
        kdfId === SCRYPT ? "scrypt key derivation" : `key derivation ${kdfId}`,
      );
    }
    const kdf = new pkijs.PBKDF2Params({ schema: params.keyDerivationFunc.algorithmParams });
    // The count first: an "unsupported" answer sends the caller to node:crypto,
    // which would run the KDF whatever its count.
    const kdfFields =
      (params.keyDerivationFunc.algorithmParams as asn1js.Sequence).valueBlock.value;
    const iterations = iterationCount(kdfFields[1], "PBKDF2", ITERATION_CAPS.pbkdf2);
    const cipher = CIPHERS[params.encryptionScheme.algorithmId];
    const prf = PRFS[kdf.prf?.algorithmId ?? "1.2.840.113549.2.7"];
    const ivParam = params.encryptionScheme.algorithmParams;
    if (!cipher || !prf || !(ivParam instanceof asn1js.OctetString)) {
      throw new PbeError("unsupported", `PBES2 cipher ${params.encryptionScheme.algorithmId}`);
    }
    const salt = (kdf.salt as asn1js.OctetString).valueBlock.valueHexView;
    const key = pbkdf2Sync(password, salt, iterations, cipher.keyLength, prf);
    return decipher(cipher.name, key, ivParam.valueBlock.valueHexView, data);
  }
  const pkcs12 = PKCS12_PBE[oid];
  if (pkcs12) {
    const seq = algorithm.algorithmParams as asn1js.Sequence;
    const [saltNode, iterNode] = seq.valueBlock.value as [asn1js.OctetString, asn1js.Integer];
    const salt = saltNode.valueBlock.valueHexView;
    const sha1 = HASHES["1.3.14.3.2.26"]!;
    const iterations = iterationCount(iterNode, "PKCS#12 PBE", ITERATION_CAPS.pkcs12);
    const key = pkcs12Kdf(sha1, password, salt, 1, iterations, pkcs12.keyLength);
    const iv = pkcs12Kdf(sha1, password, salt, 2, iterations, 8);
    if (pkcs12.cipher === "3des") return decipher("des-ede3-cbc", key, iv, data);
    try {
      // OpenSSL and Windows take the effective key length to be the key length.
      return rc2CbcDecrypt(key, pkcs12.keyLength * 8, iv, data);
    } catch {
      throw new PbeError("password", "wrong passphrase or damaged data");
    }
  }
  throw new PbeError("unsupported", `password-based encryption ${oid} (e.g. RC4)`);
}

/**
 * Checks the PKCS#12 MAC (RFC 7292 5.1) over the authSafe content.
 *
 * @param iterations the MacData iteration count, read with {@link iterationCount}
 *   (pkijs reads counts of 4+ octets as 0)
 * @returns true when `password` produces the stored MAC
 * @throws {PbeError} "unsupported" for an unknown MAC digest (e.g. PBMAC1)
 */
export function checkPkcs12Mac(
  mac: pkijs.MacData,
  iterations: number,
  content: Uint8Array,
  password: string,
): boolean {
  const hash = HASHES[mac.mac.digestAlgorithm.algorithmId];
  if (!hash) {
    throw new PbeError("unsupported", `PKCS#12 MAC ${mac.mac.digestAlgorithm.algorithmId}`);
  }
  const salt = mac.macSalt.valueBlock.valueHexView;
  const size = createHash(hash.name).digest().length;
  const key = pkcs12Kdf(hash, password, salt, 3, iterations, size);
  const got = createHmac(hash.name, key).update(content).digest();
  const want = mac.mac.digest.valueBlock.valueHexView;
  return got.length === want.length && got.every((b, i) => b === want[i]);
}

/**
 * Decrypts an EncryptedPrivateKeyInfo (RFC 5958) to PKCS#8 DER.
 *
 * @throws {PbeError} see {@link decryptPbe}
 */
export function decryptPrivateKeyInfo(der: Uint8Array, password: string): Uint8Array {
  let info: pkijs.PKCS8ShroudedKeyBag;
  try {
    info = pkijs.PKCS8ShroudedKeyBag.fromBER(toBuffer(der));
  } catch {
    throw new PbeError("password", "not an encrypted private key");
  }
  return decryptPbe(
    info.encryptionAlgorithm,
    new Uint8Array(info.encryptedData.getValue()),
    password,
  );
}
