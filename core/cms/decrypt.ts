/**
 * Decrypting EnvelopedData (RFC 5652 6) and AuthEnvelopedData (RFC 5083)
 * with one private key, with or without its certificate:
 * KeyTransRecipientInfo (RSA PKCS#1 v1.5 and RSAES-OAEP) and
 * KeyAgreeRecipientInfo (ECDH, RFC 5753), content in AES-CBC, AES-GCM or
 * Triple-DES. Which RecipientInfos a key is tried against: recipient.ts.
 *
 * A key that does not open the message always ends in the same E_DECRYPT
 * text, whatever the cause: no RecipientInfo for it, a wrong key, a bad
 * padding, a corrupted content. A failed RSA decryption goes on with a
 * random content-encryption key (RFC 3218 2.3), so the content decryption
 * fails as it would with a wrong key, after the same work.
 *
 * A caller that owns the CMS bytes may have the AES-CBC content decrypted
 * where it lies (`inPlace`): a 70 MB content then costs no second buffer.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { createDecipheriv } from "node:crypto";
import { SmimeError } from "../errors.ts";
import { DerReader, readOctets, readSmallInt, source, Tag } from "./der.ts";
import { parseCertificate } from "./certificate.ts";
import { sharedInfo, sharedSecret, unwrapKey, x963Kdf } from "./ecdh.ts";
import {
  describePrivateKey,
  importPrivateKey,
  keyMatchesCertificate,
  type PrivateKeyInfo,
} from "./keys.ts";
import { keyTransportScheme, transportedKey } from "./key_transport.ts";
import { type LibCrypto, libcrypto } from "./libcrypto.ts";
import { cipherByOid, type CipherSpec, kdfHashByOid, keyLengthByWrapOid } from "./oids.ts";
import {
  type EnvelopeParts,
  type KeyAgreeRecipient,
  readAlgorithm,
  readCms,
  readContentInfo,
  readEnvelope,
} from "./parse.ts";
import { type Attempt, attemptsForCertificate, attemptsForKey } from "./recipient.ts";
import type { RecipientKey } from "./types.ts";

/** The one text for "this key does not open this message", whatever the cause. */
export const NO_KEY_OPENS = "Cannot decrypt: wrong key or corrupted message";

/**
 * The key-encryption key of a KeyAgreeRecipientInfo for an EC private key:
 * ECDH with the originator's ephemeral key, then the X9.63 KDF.
 */
async function agreedKek(
  ri: KeyAgreeRecipient,
  pkcs8: Uint8Array,
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
  // A point off the curve is refused here: a wrong-key failure like any other.
  const originator = await crypto.subtle.importKey(
    "raw",
    source(ri.originatorKey.publicKey),
    { name: "ECDH", namedCurve: curve },
    false,
    [],
  );
  const privateKey = await importPrivateKey(
    pkcs8,
    { name: "ECDH", namedCurve: curve },
    "deriveBits",
  );
  const z = await sharedSecret(privateKey, originator, curve);
  return x963Kdf(kdfHash, z, sharedInfo(wrap, kekLength, ri.ukm), kekLength);
}

/**
 * The content-encryption key from the first attempt that yields one of
 * `keyLength` bytes; undefined when none does. With several attempts (a key
 * without its certificate), one whose algorithm is unsupported is skipped;
 * with one, that is an E_UNSUPPORTED error.
 */
async function contentKey(
  attempts: Attempt[],
  pkcs8: Uint8Array,
  keyInfo: PrivateKeyInfo,
  keyLength: number,
): Promise<Uint8Array | undefined> {
  const strict = attempts.length === 1;
  for (const attempt of attempts) {
    try {
      if (attempt.type === "ktri") {
        const cek = transportedKey(
          attempt.info,
          keyTransportScheme(attempt.info),
          pkcs8,
          keyLength,
        );
        if (cek) return cek;
        continue;
      }
      const kek = await agreedKek(attempt.info, pkcs8, keyInfo);
      for (const wrapped of attempt.encryptedKeys) {
        // AES key unwrap checks integrity (RFC 3394 2.2.3): a wrong KEK fails here.
        const cek = unwrapKey(kek, wrapped);
        if (cek?.length === keyLength) return cek;
      }
    } catch (err) {
      if (err instanceof SmimeError && (strict || err.code === "E_KEY_INVALID")) throw err;
    }
  }
  return undefined;
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
 * AuthEnvelopedData with one private key.
 *
 * @param der the CMS object
 * @param key the PKCS#8 private key, and its certificate when known: with
 *   it, the RecipientInfo naming the certificate is used; without it, the
 *   one naming the key's own subject key identifier, else the key is tried
 *   against every RecipientInfo of its kind (at most 1,000 key
 *   operations: MAX_RECIPIENT_TRIALS in recipient.ts)
 * @param options `inPlace`: `der` may be overwritten. AES-CBC content is
 *   then decrypted over its own ciphertext (through OpenSSL; otherwise, and
 *   for other ciphers, into a new array as without it), and the content
 *   returned is a view of `der`. A key that does not open it leaves `der`
 *   as it was, so the next key can be tried.
 * @returns the decrypted content
 * @throws SmimeError E_DECRYPT with the text {@link NO_KEY_OPENS} whenever
 *   the key does not open the message, whatever the cause; E_KEY_MISMATCH
 *   when the key does not belong to the certificate given with it; E_CMS
 *   for malformed input or too many recipients to try; E_UNSUPPORTED for
 *   algorithms outside RFC 8551's set; E_KEY_INVALID for an unusable key
 */
export async function decrypt(
  der: Uint8Array,
  key: RecipientKey,
  options: { inPlace?: boolean } = {},
): Promise<Uint8Array> {
  const { kind, env, cipher } = readCms("EnvelopedData", () => {
    const info = readContentInfo(der);
    if (info.kind === "signed-data") {
      throw new SmimeError("E_CMS", "Cannot decrypt: the CMS object is signed-data, not encrypted");
    }
    const env = readEnvelope(info.content, info.kind);
    return { kind: info.kind, env, cipher: readCipher(env) };
  });
  const keyInfo = describePrivateKey(key.privateKey);
  if (cipher.spec.gcm !== (kind === "auth-enveloped-data")) {
    throw new SmimeError("E_UNSUPPORTED", `Cannot decrypt: ${cipher.spec.name} in ${kind}`);
  }
  if (!env.encryptedContent) {
    throw new SmimeError("E_UNSUPPORTED", "Cannot decrypt: detached content");
  }
  let attempts: Attempt[];
  if (key.certificate) {
    const cert = parseCertificate(key.certificate, "recipient certificate");
    // Checked up front (cached per key and certificate): it depends on no
    // ciphertext, and is a problem of the key files, not of the message.
    if (!keyMatchesCertificate(key.privateKey, cert)) {
      throw new SmimeError(
        "E_KEY_MISMATCH",
        `Cannot decrypt: the private key does not belong to the certificate of ${cert.subject}`,
      );
    }
    attempts = attemptsForCertificate(env, cert);
  } else {
    attempts = attemptsForKey(env, key.privateKey, keyInfo);
  }
  // Which RecipientInfos exist is public; whether a key opens one is not.
  if (attempts.length === 0) throw new SmimeError("E_DECRYPT", NO_KEY_OPENS);
  try {
    const keyLength = cipher.spec.keyLength;
    const cek = await contentKey(attempts, key.privateKey, keyInfo, keyLength) ??
      crypto.getRandomValues(new Uint8Array(keyLength));
    return await decryptContent(env, cipher, cek, options.inPlace ?? false);
  } catch (err) {
    if (err instanceof SmimeError && err.code !== "E_DECRYPT") throw err;
    throw new SmimeError("E_DECRYPT", NO_KEY_OPENS, { cause: err });
  }
}

async function decryptContent(
  env: EnvelopeParts,
  cipher: { spec: CipherSpec; iv: Uint8Array; icvLength: number },
  cek: Uint8Array,
  inPlace: boolean,
): Promise<Uint8Array> {
  const content = env.encryptedContent!;
  if (inPlace && !cipher.spec.legacy && !cipher.spec.gcm) {
    const opened = aesCbcDecryptInPlace(cek, cipher.iv, content);
    if (opened) return opened;
  }
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
    return aesCbcDecrypt(cek, cipher.iv, content) ??
      new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv }, aesKey, source(content)));
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

/**
 * AES-CBC decryption through OpenSSL (libcrypto.ts) straight into one
 * buffer: no copy of the input (WebCrypto makes one) and OpenSSL's speed.
 * Undefined when libcrypto is not there; throws for a bad padding, as
 * WebCrypto does.
 */
function aesCbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  content: Uint8Array,
): Uint8Array | undefined {
  const ctx = libcrypto()?.aesCbc(false, key, iv);
  if (!ctx) return undefined;
  try {
    // Plaintext is never longer than the ciphertext; the last 16 bytes of
    // room are for OpenSSL, which holds back a block until final().
    const out = new Uint8Array(content.length + 16);
    const n = ctx.update(content, out);
    const last = n === undefined ? undefined : ctx.final(out.subarray(n));
    if (n === undefined || last === undefined) throw new Error("AES-CBC: bad padding or data");
    return out.subarray(0, n + last);
  } finally {
    ctx.free();
  }
}

/** Ciphertext AES-CBC decrypts in place at a time. */
const CBC_PIECE = 1 << 20;

/**
 * AES-CBC decryption through OpenSSL over the ciphertext itself: each piece
 * is written where the plaintext so far ends, never ahead of the ciphertext
 * still to be read (OpenSSL holds the last block back, so the output trails
 * the input by one block). The padding is checked first, on the last block
 * alone (CBC decrypts it with the block before as IV): a key that does not
 * open the content fails there, with the ciphertext untouched. Undefined
 * when libcrypto is not there or the content is not two blocks or more of
 * whole blocks (the caller decrypts into a new array then).
 */
function aesCbcDecryptInPlace(
  key: Uint8Array,
  iv: Uint8Array,
  content: Uint8Array,
): Uint8Array | undefined {
  const lib = libcrypto();
  const n = content.length;
  if (!lib || n < 32 || n % 16 !== 0) return undefined;
  const last = lastBlockLength(
    lib,
    key,
    content.subarray(n - 32, n - 16),
    content.subarray(n - 16),
  );
  if (last === undefined) return undefined;
  if (last === null) throw new Error("AES-CBC: bad padding or data");
  const ctx = lib.aesCbc(false, key, iv);
  if (!ctx) return undefined;
  try {
    let written = 0;
    for (let at = 0; at < n;) {
      // update() wants 16 bytes of room past its input: the first piece stops short of the end.
      const size = Math.min(CBC_PIECE, at === 0 ? n - 16 : n - at);
      const made = ctx.update(content.subarray(at, at + size), content.subarray(written));
      if (made === undefined) throw new Error("AES-CBC through libcrypto failed");
      written += made;
      at += size;
    }
    const end = ctx.final(content.subarray(written));
    if (end === undefined || written + end !== n - 16 + last) {
      throw new Error("AES-CBC through libcrypto failed");
    }
    return content.subarray(0, written + end);
  } finally {
    ctx.free();
  }
}

/**
 * How many plaintext bytes the last CBC block holds once unpadded: null for
 * a bad padding, undefined when OpenSSL could not be asked.
 */
function lastBlockLength(
  lib: LibCrypto,
  key: Uint8Array,
  before: Uint8Array,
  block: Uint8Array,
): number | null | undefined {
  const ctx = lib.aesCbc(false, key, before.slice());
  if (!ctx) return undefined;
  try {
    const out = new Uint8Array(32);
    const held = ctx.update(block, out);
    if (held === undefined) return undefined;
    const end = ctx.final(out.subarray(held));
    return end === undefined ? null : held + end;
  } finally {
    ctx.free();
  }
}
