/**
 * Decrypting EnvelopedData (RFC 5652 6) and AuthEnvelopedData (RFC 5083)
 * with one recipient's certificate and key: KeyTransRecipientInfo (RSA
 * PKCS#1 v1.5 and RSAES-OAEP) and KeyAgreeRecipientInfo (ECDH, RFC 5753),
 * content in AES-CBC or AES-GCM.
 *
 * Every failure after the recipient is found ends in the same E_DECRYPT
 * message, and a failed RSA PKCS#1 v1.5 decryption continues with a random
 * key (RFC 3218 2.3), so the outcome says nothing about the padding.
 *
 * @module
 */

import { constants, createDecipheriv, privateDecrypt } from "node:crypto";
import { SmimeError } from "../errors.ts";
import {
  bytesEqual,
  concatBytes,
  DerReader,
  readOctets,
  readSmallInt,
  source,
  Tag,
  type Tlv,
} from "./der.ts";
import { type CertificateInfo, matchesIssuerSerial, parseCertificate } from "./certificate.ts";
import { sharedInfo, sharedSecret, unwrapKey, x963Kdf } from "./ecdh.ts";
import {
  describePrivateKey,
  importPrivateKey,
  keyMatchesCertificate,
  nodePrivateKey,
  type PrivateKeyInfo,
} from "./keys.ts";
import {
  cipherByOid,
  type CipherSpec,
  hashByOid,
  kdfHashByOid,
  keyLengthByWrapOid,
  Oid,
} from "./oids.ts";
import {
  type CmsIdentifier,
  type EnvelopeParts,
  type KeyAgreeRecipient,
  type KeyTransRecipient,
  readAlgorithm,
  readCms,
  readContentInfo,
  readEnvelope,
} from "./parse.ts";
import type { RecipientKey } from "./types.ts";

const FAILED = "Cannot decrypt: wrong key or corrupted message";

type Match =
  | { type: "ktri"; info: KeyTransRecipient }
  | { type: "kari"; info: KeyAgreeRecipient; encryptedKey: Uint8Array };

function identifies(id: CmsIdentifier, cert: CertificateInfo): boolean {
  if (id.issuer) return matchesIssuerSerial(cert, id.issuer.raw, id.serial);
  return cert.subjectKeyIdentifier !== undefined &&
    bytesEqual(cert.subjectKeyIdentifier, id.subjectKeyIdentifier);
}

function findRecipient(env: EnvelopeParts, cert: CertificateInfo): Match | undefined {
  for (const ri of env.recipientInfos) {
    if (ri.type === "ktri" && identifies(ri.rid, cert)) return { type: "ktri", info: ri };
    if (ri.type === "kari") {
      const rek = ri.recipients.find((r) => identifies(r.rid, cert));
      if (rek) return { type: "kari", info: ri, encryptedKey: rek.encryptedKey };
    }
  }
  return undefined;
}

/** RSAES-OAEP-params (RFC 8017 A.2.1) as node:crypto's oaepHash. */
function oaepHash(params: Tlv | undefined): string {
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
  return hash.replace("-", "").toLowerCase();
}

function keyTransport(ri: KeyTransRecipient, key: RecipientKey, keyLength: number): Uint8Array {
  const alg = readCms("KeyTransRecipientInfo", () => readAlgorithm(ri.keyEncryptionAlgorithm));
  let padding: { padding: number; oaepHash?: string };
  if (alg.oid === Oid.rsaEncryption) padding = { padding: constants.RSA_PKCS1_PADDING };
  else if (alg.oid === Oid.rsaesOaep) {
    const hash = readCms("RSAES-OAEP-params", () => oaepHash(alg.params));
    padding = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash };
  } else {
    throw new SmimeError("E_UNSUPPORTED", `Cannot decrypt: unsupported key transport ${alg.oid}`);
  }
  let cek: Uint8Array | undefined;
  try {
    cek = new Uint8Array(
      privateDecrypt({ key: nodePrivateKey(key.privateKey), ...padding }, ri.encryptedKey),
    );
  } catch (err) {
    if (err instanceof SmimeError) throw err;
  }
  // RFC 3218 2.3: on any failure go on with a random key, so a bad padding
  // and a bad content look the same from outside.
  if (!cek || cek.length !== keyLength) cek = crypto.getRandomValues(new Uint8Array(keyLength));
  return cek;
}

async function keyAgreement(
  ri: KeyAgreeRecipient,
  encryptedKey: Uint8Array,
  key: RecipientKey,
  keyInfo: PrivateKeyInfo,
): Promise<Uint8Array> {
  const { kdfHash, wrap, kekLength } = readCms("KeyAgreeRecipientInfo", () => {
    const alg = readAlgorithm(ri.keyEncryptionAlgorithm);
    const kdfHash = kdfHashByOid[alg.oid];
    if (!kdfHash || !alg.params || alg.params.tag !== Tag.sequence) {
      throw new SmimeError("E_UNSUPPORTED", `Cannot decrypt: unsupported key agreement ${alg.oid}`);
    }
    const kekLength = keyLengthByWrapOid[readAlgorithm(alg.params).oid];
    if (!kekLength) throw new SmimeError("E_UNSUPPORTED", "Cannot decrypt: unsupported key wrap");
    // The SharedInfo takes the wrap AlgorithmIdentifier as the sender encoded it.
    return { kdfHash, wrap: alg.params.raw, kekLength };
  });
  if (!ri.originatorKey) {
    throw new SmimeError("E_UNSUPPORTED", "Cannot decrypt: static-static ECDH is not supported");
  }
  const curve = keyInfo.curve!;
  let originator: CryptoKey;
  try {
    originator = await crypto.subtle.importKey(
      "raw",
      source(ri.originatorKey.publicKey),
      { name: "ECDH", namedCurve: curve },
      false,
      [],
    );
  } catch (err) {
    throw new SmimeError("E_DECRYPT", `${FAILED} (originator key is not on ${curve})`, {
      cause: err,
    });
  }
  const privateKey = await importPrivateKey(
    key.privateKey,
    { name: "ECDH", namedCurve: curve },
    "deriveBits",
  );
  const z = await sharedSecret(privateKey, originator, curve);
  const kek = await x963Kdf(kdfHash, z, sharedInfo(wrap, kekLength, ri.ukm), kekLength);
  return await unwrapKey(kek, encryptedKey);
}

/** The content cipher and its parameters: the IV, or the GCM nonce and ICV length. */
function readCipher(env: EnvelopeParts): { spec: CipherSpec; iv: Uint8Array; icvLength: number } {
  const alg = readAlgorithm(env.contentEncryptionAlgorithm);
  const spec = cipherByOid[alg.oid];
  if (!spec) {
    throw new SmimeError("E_UNSUPPORTED", `Cannot decrypt: unsupported content cipher ${alg.oid}`);
  }
  if (!alg.params) throw new SmimeError("E_CMS", "Cannot decrypt: cipher parameters missing");
  if (!spec.gcm) return { spec, iv: readOctets(alg.params), icvLength: 0 };
  // GCMParameters (RFC 5084 3.2): nonce, ICV length DEFAULT 12.
  const r = new DerReader(alg.params);
  const iv = readOctets(r.next(Tag.octetString, "aes-nonce"));
  const icv = r.optional(Tag.integer);
  return { spec, iv, icvLength: icv ? readSmallInt(icv) : 12 };
}

/**
 * Decrypts a DER or BER ContentInfo holding EnvelopedData or
 * AuthEnvelopedData with one recipient's certificate and private key.
 *
 * @param der the CMS object
 * @param key the recipient certificate (to find its RecipientInfo by
 *   issuer and serial or subject key identifier) and its PKCS#8 key
 * @returns the decrypted content
 * @throws SmimeError E_DECRYPT when not encrypted to this certificate, for a
 *   wrong key or a failed integrity check; E_CMS for malformed input;
 *   E_UNSUPPORTED for algorithms outside RFC 8551's set
 */
export async function decrypt(der: Uint8Array, key: RecipientKey): Promise<Uint8Array> {
  const { kind, env, cipher } = readCms("EnvelopedData", () => {
    const info = readContentInfo(der);
    if (info.kind === "signed-data") {
      throw new SmimeError("E_CMS", "Cannot decrypt: the CMS object is signed-data, not encrypted");
    }
    const env = readEnvelope(info.content, info.kind);
    return { kind: info.kind, env, cipher: readCipher(env) };
  });
  const cert = parseCertificate(key.certificate, "recipient certificate");
  const keyInfo = describePrivateKey(key.privateKey);
  if (cipher.spec.gcm !== (kind === "auth-enveloped-data")) {
    throw new SmimeError("E_UNSUPPORTED", `Cannot decrypt: ${cipher.spec.name} in ${kind}`);
  }
  if (!env.encryptedContent) {
    throw new SmimeError("E_UNSUPPORTED", "Cannot decrypt: detached content");
  }
  const match = findRecipient(env, cert);
  if (!match) {
    throw new SmimeError(
      "E_DECRYPT",
      `Cannot decrypt: the message is not encrypted to ${cert.subject}`,
    );
  }
  const mismatch = () =>
    new SmimeError(
      "E_DECRYPT",
      `Cannot decrypt: the private key does not belong to the certificate of ${cert.subject}`,
    );
  // Checked up front (cached per key and certificate): it depends on no
  // ciphertext, and a wrong key would otherwise pass as "corrupted message"
  // or, through the RFC 3218 random key, as garbage.
  if ((match.type === "ktri") !== (keyInfo.keyType === "rsa")) throw mismatch();
  if (!keyMatchesCertificate(key.privateKey, cert)) throw mismatch();
  try {
    const cek = match.type === "ktri"
      ? keyTransport(match.info, key, cipher.spec.keyLength)
      : await keyAgreement(match.info, match.encryptedKey, key, keyInfo);
    return await decryptContent(env, cipher, cek);
  } catch (err) {
    if (err instanceof SmimeError) throw err;
    throw new SmimeError("E_DECRYPT", FAILED, { cause: err });
  }
}

async function decryptContent(
  env: EnvelopeParts,
  cipher: { spec: CipherSpec; iv: Uint8Array; icvLength: number },
  cek: Uint8Array,
): Promise<Uint8Array> {
  const content = env.encryptedContent!;
  if (cipher.spec.legacy) {
    // WebCrypto has no Triple-DES; node:crypto has.
    const decipher = createDecipheriv("des-ede3-cbc", cek, cipher.iv);
    return concatBytes([decipher.update(content), decipher.final()]);
  }
  const aesKey = await crypto.subtle.importKey(
    "raw",
    source(cek),
    cipher.spec.gcm ? "AES-GCM" : "AES-CBC",
    false,
    ["decrypt"],
  );
  if (!cipher.spec.gcm) {
    const iv = source(cipher.iv);
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-CBC", iv }, aesKey, source(content)),
    );
  }
  const mac = env.mac!;
  if (mac.length !== cipher.icvLength) throw new Error("MAC length differs from aes-ICVlen");
  const params: AesGcmParams = {
    name: "AES-GCM",
    iv: source(cipher.iv),
    tagLength: cipher.icvLength * 8,
  };
  if (env.authAttrs) {
    // RFC 5083 2.2: authAttrs are authenticated as DER with the SET OF tag.
    const aad = env.authAttrs.raw.slice();
    aad[0] = Tag.set;
    params.additionalData = aad;
  }
  return new Uint8Array(
    await crypto.subtle.decrypt(params, aesKey, source(concatBytes([content, mac]))),
  );
}
