/**
 * Encrypting for S/MIME recipients: EnvelopedData (RFC 5652 6) with
 * AES-CBC (RFC 3565), or AuthEnvelopedData (RFC 5083) with AES-GCM
 * (RFC 5084). RSA recipients get a KeyTransRecipientInfo (PKCS#1 v1.5 or
 * RSAES-OAEP, RFC 3560); EC recipients a KeyAgreeRecipientInfo with
 * ephemeral-static ECDH (RFC 5753).
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { constants, createCipheriv, publicEncrypt } from "node:crypto";
import { SmimeError } from "../errors.ts";
import {
  bitString,
  type ByteSource,
  type Der,
  encode,
  explicit,
  int,
  joinSource,
  type LatePart,
  NULL,
  octets,
  oid,
  seq,
  source,
  Tag,
  tlv,
} from "./der.ts";
import { type CertificateInfo, parseCertificate } from "./certificate.ts";
import { sharedInfo, sharedSecret, wrapKey, x963Kdf } from "./ecdh.ts";
import { importPublicKey, nodePublicKey } from "./keys.ts";
import { libcrypto } from "./libcrypto.ts";
import { isTooLargeForWebCrypto, readRsaPublicKey, rsaEncrypt } from "./rsa_public.ts";
import { algId, cipherByName, Oid, rsaHashParams, wrapOidByKeyLength } from "./oids.ts";
import type { CmsKind, EncryptOptions, EncryptRecipient, RsaKeyTransport } from "./types.ts";

/** KDF hash and scheme per curve: the hash matching the curve's strength (RFC 5753 8). */
const ecdhSchemes: Record<string, { hash: string; kdfOid: string; curveOid: string }> = {
  "P-256": { hash: "SHA-256", kdfOid: Oid.dhSinglePassSha256Kdf, curveOid: Oid.p256 },
  "P-384": { hash: "SHA-384", kdfOid: Oid.dhSinglePassSha384Kdf, curveOid: Oid.p384 },
  "P-521": { hash: "SHA-512", kdfOid: Oid.dhSinglePassSha512Kdf, curveOid: Oid.p521 },
};

function issuerAndSerial(cert: CertificateInfo): Der {
  return seq(cert.issuer, tlv(Tag.integer, cert.serial));
}

/** KeyTransRecipientInfo, version 0 with issuerAndSerialNumber (RFC 5652 6.2.1). */
function keyTransport(cert: CertificateInfo, cek: Uint8Array, mode: RsaKeyTransport): Der {
  // OpenSSL when it is there (libcrypto.ts), else node:crypto.
  const encryptedKey = libcrypto()?.publicEncrypt(cert.spki, mode, cek) ??
    nodeEncrypt(cert, cek, mode);
  // RFC 3560 3: OAEP with SHA-256 spells out its (non-default) parameters.
  const algorithm = mode === "oaep"
    ? algId(Oid.rsaesOaep, rsaHashParams("SHA-256"))
    : algId(Oid.rsaEncryption, NULL);
  return seq(int(0), issuerAndSerial(cert), algorithm, octets(new Uint8Array(encryptedKey)));
}

function nodeEncrypt(cert: CertificateInfo, cek: Uint8Array, mode: RsaKeyTransport): Uint8Array {
  // node:crypto refuses RSA public keys over 4096 bits: BigInt arithmetic instead.
  if (isTooLargeForWebCrypto(cert.spki)) return rsaEncrypt(readRsaPublicKey(cert.spki), mode, cek);
  const key = nodePublicKey(cert.spki);
  return mode === "oaep"
    ? publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, cek)
    : publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, cek);
}

/** A fresh ECDH key pair on `curve`: its raw public point and Z with the recipient. */
async function webCryptoEphemeral(
  cert: CertificateInfo,
  curve: string,
): Promise<{ point: Uint8Array; z: Uint8Array }> {
  const recipientKey = await importPublicKey(cert.spki, { name: "ECDH", namedCurve: curve }, []);
  const ephemeral = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: curve }, false, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const z = await sharedSecret(ephemeral.privateKey, recipientKey, curve);
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", ephemeral.publicKey));
  return { point, z };
}

/** The KDF scheme for an EC recipient's curve, or an E_UNSUPPORTED error. */
function ecdhScheme(cert: CertificateInfo): { hash: string; kdfOid: string; curve: string } {
  const scheme = cert.curve ? ecdhSchemes[cert.curve] : undefined;
  if (!scheme) {
    throw new SmimeError(
      "E_UNSUPPORTED",
      `Cannot encrypt to ${cert.subject}: unsupported EC curve ${cert.curve ?? "(explicit)"}`,
    );
  }
  return { ...scheme, curve: cert.curve! };
}

/**
 * KeyAgreeRecipientInfo (RFC 5652 6.2.2, RFC 5753 3.1.1): a fresh ephemeral
 * key per recipient (`ephemeral`), dhSinglePass-stdDH-shaXkdf-scheme, AES
 * key wrap of the CEK's size. Synchronous: the KDF and the wrap are
 * node:crypto's.
 */
function keyAgreement(
  cert: CertificateInfo,
  scheme: { hash: string; kdfOid: string },
  ephemeral: { point: Uint8Array; z: Uint8Array },
  cek: Uint8Array,
): Der {
  const wrapAlgorithm = encode(algId(wrapOidByKeyLength[cek.length]!));
  const info = sharedInfo(wrapAlgorithm, cek.length);
  const kek = x963Kdf(scheme.hash, ephemeral.z, info, cek.length);
  const encryptedKey = wrapKey(kek, cek);
  // OriginatorPublicKey: id-ecPublicKey without parameters, as OpenSSL
  // writes it; the curve is the recipient's.
  const originator = tlv(0xa1, algId(Oid.ecPublicKey), bitString(ephemeral.point));
  return tlv(
    0xa1,
    int(3),
    explicit(0, originator),
    algId(scheme.kdfOid, wrapAlgorithm),
    seq(seq(issuerAndSerial(cert), octets(encryptedKey))),
  );
}

/**
 * One RecipientInfo per certificate, in order. With libcrypto every one is
 * made synchronously (RSA key transport, ECDH, KDF, key wrap); only the
 * WebCrypto ECDH fallback awaits.
 */
async function recipientInfos(
  certs: CertificateInfo[],
  entries: EncryptRecipient[],
  cek: Uint8Array,
  transport: RsaKeyTransport,
): Promise<Der[]> {
  const infos: Der[] = [];
  for (const [i, cert] of certs.entries()) {
    if (cert.keyType === "rsa") {
      infos.push(keyTransport(cert, cek, entries[i]!.rsaKeyTransport ?? transport));
    } else if (cert.keyType === "ec") {
      const scheme = ecdhScheme(cert);
      // OpenSSL when it is there (libcrypto.ts), else WebCrypto.
      const ephemeral = libcrypto()?.ecdhEphemeral(cert.spki) ??
        await webCryptoEphemeral(cert, scheme.curve);
      infos.push(keyAgreement(cert, scheme, ephemeral, cek));
    } else {
      throw new SmimeError(
        "E_UNSUPPORTED",
        `Cannot encrypt to ${cert.subject}: unsupported key type`,
      );
    }
  }
  return infos;
}

/**
 * Encrypts `content` to every certificate in `recipients`.
 *
 * @returns DER ContentInfo and its kind; see {@link envelope} for the same
 *   as a tree of parts
 * @throws SmimeError as {@link envelope}
 */
export async function encrypt(
  content: Uint8Array | ByteSource,
  recipients: (Uint8Array | EncryptRecipient)[],
  options: EncryptOptions = {},
): Promise<{ der: Uint8Array; kind: CmsKind }> {
  const { der, kind } = await envelope(content, recipients, options);
  return { der: encode(der), kind };
}

/** Pieces AES-CBC works through at a time: the output comes in pieces this size. */
const CBC_PIECE = 1 << 20;

/**
 * AES-CBC with PKCS#7 padding (RFC 5652 6.3), made a piece at a time while
 * the encoding is written: the content is not copied (WebCrypto copies its
 * input) and the ciphertext never exists whole. OpenSSL (libcrypto.ts)
 * writes each piece into one scratch buffer, reused, as the DER writer
 * copies or encodes a piece before asking for the next; node:crypto, the
 * fallback, makes a new buffer per piece.
 */
function aesCbcPart(name: string, key: Uint8Array, iv: Uint8Array, content: ByteSource): LatePart {
  return {
    late: true,
    // PKCS#7 always pads, 1 to 16 bytes.
    size: (Math.floor(content.size / 16) + 1) * 16,
    *pieces() {
      const ctx = libcrypto()?.aesCbc(true, key, iv);
      if (!ctx) {
        const cipher = createCipheriv(name, key, iv);
        for (const slice of slices(content)) yield cipher.update(slice);
        yield cipher.final();
        return;
      }
      try {
        const scratch = new Uint8Array(Math.min(CBC_PIECE, content.size) + 16);
        for (const slice of slices(content)) {
          const n = ctx.update(slice, scratch);
          if (n === undefined) throw new Error("AES-CBC through libcrypto failed");
          yield scratch.subarray(0, n);
        }
        const n = ctx.final(scratch);
        if (n === undefined) throw new Error("AES-CBC through libcrypto failed");
        yield scratch.subarray(0, n);
      } finally {
        ctx.free();
      }
    },
  };
}

/** The pieces of `content`, cut to at most {@link CBC_PIECE} bytes. */
function* slices(content: ByteSource): Generator<Uint8Array> {
  for (const piece of content.pieces()) {
    for (let i = 0; i < piece.length; i += CBC_PIECE) yield piece.subarray(i, i + CBC_PIECE);
  }
}

/**
 * AES-CBC of a content that is there whole (most are small): one call into
 * one buffer, without the piecework of {@link aesCbcPart}.
 */
function aesCbcWhole(name: string, key: Uint8Array, iv: Uint8Array, content: Uint8Array) {
  const ctx = libcrypto()?.aesCbc(true, key, iv);
  if (!ctx) {
    const cipher = createCipheriv(name, key, iv);
    return concatBytes([cipher.update(content), cipher.final()]);
  }
  try {
    // PKCS#7 always pads, 1 to 16 bytes; update() asks for room for a block more.
    const size = (Math.floor(content.length / 16) + 1) * 16;
    const out = new Uint8Array(content.length + 32);
    const n = ctx.update(content, out);
    const last = n === undefined ? undefined : ctx.final(out.subarray(n));
    if (last === undefined || n! + last !== size) {
      throw new Error("AES-CBC through libcrypto failed");
    }
    return out.subarray(0, size);
  } finally {
    ctx.free();
  }
}

/**
 * Encrypts `content` to every certificate in `recipients`, as a tree of DER
 * parts (`encode` or `forEachChunk` of der.ts serialise it).
 *
 * @param content the bytes to encrypt (for S/MIME, the MIME entity), whole or
 *   made piece by piece
 * @param recipients DER certificates, RSA or EC (P-256, P-384, P-521), each
 *   alone or with an RSA key transport of its own
 * @param options content cipher (default aes-256-cbc) and RSA key transport
 *   for recipients without their own (default PKCS#1 v1.5)
 * @returns the ContentInfo as DER parts and its kind: "enveloped-data" for
 *   CBC, "auth-enveloped-data" for GCM
 * @throws SmimeError E_USAGE without recipients, E_CERT_INVALID for an
 *   unreadable certificate, E_UNSUPPORTED for other key types or ciphers
 */
export async function envelope(
  content: Uint8Array | ByteSource,
  recipients: (Uint8Array | EncryptRecipient)[],
  options: EncryptOptions = {},
): Promise<{ der: Der; kind: CmsKind }> {
  const cipherName = options.cipher ?? "aes-256-cbc";
  const spec = cipherByName[cipherName];
  if (!spec) throw new SmimeError("E_UNSUPPORTED", `Cannot encrypt: unknown cipher ${cipherName}`);
  if (recipients.length === 0) throw new SmimeError("E_USAGE", "Cannot encrypt: no recipients");
  const entries = recipients.map((r) => r instanceof Uint8Array ? { certificate: r } : r);
  const certs = entries.map((r, i) =>
    parseCertificate(r.certificate, `recipient certificate ${i + 1}`)
  );
  const cek = crypto.getRandomValues(new Uint8Array(spec.keyLength));
  const infos = await recipientInfos(certs, entries, cek, options.rsaKeyTransport ?? "pkcs1");
  const recipientInfoSet = tlv(Tag.set, ...infos);

  if (!spec.gcm) {
    const iv = crypto.getRandomValues(new Uint8Array(16));
    const ciphertext = content instanceof Uint8Array
      ? aesCbcWhole(spec.name, cek, iv, content)
      : aesCbcPart(spec.name, cek, iv, content);
    // RFC 5652 6.1: version 0 when every RecipientInfo is a version 0
    // KeyTransRecipientInfo, else 2 (KeyAgreeRecipientInfo is version 3).
    const version = certs.every((c) => c.keyType === "rsa") ? 0 : 2;
    const envelopedData = seq(
      int(version),
      recipientInfoSet,
      seq(oid(Oid.data), algId(spec.oid, octets(iv)), tlv(0x80, ciphertext)),
    );
    return { der: seq(oid(Oid.envelopedData), explicit(0, envelopedData)), kind: "enveloped-data" };
  }
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  // WebCrypto's GCM wants the whole content.
  const whole = content instanceof Uint8Array ? content : joinSource(content);
  // RFC 5084 3.2: 12-octet nonce, 16-octet ICV; aes-ICVlen defaults to 12,
  // so 16 is written out.
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, tagLength: 128 },
      key,
      source(whole),
    ),
  );
  const authEnvelopedData = seq(
    int(0), // RFC 5083 2.1: always 0
    recipientInfoSet,
    seq(
      oid(Oid.data),
      algId(spec.oid, seq(octets(nonce), int(16))),
      tlv(0x80, sealed.subarray(0, sealed.length - 16)),
    ),
    octets(sealed.subarray(sealed.length - 16)),
  );
  return {
    der: seq(oid(Oid.authEnvelopedData), explicit(0, authEnvelopedData)),
    kind: "auth-enveloped-data",
  };
}
