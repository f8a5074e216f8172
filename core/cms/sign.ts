/**
 * SignedData (RFC 5652 5) for S/MIME (RFC 8551 2.5): opaque or detached,
 * RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA, with the signed attributes RFC 8551
 * 2.5 asks for, DER-sorted.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { SmimeError } from "../errors.ts";
import {
  type ByteSource,
  type Der,
  encode,
  explicit,
  int,
  type LatePart,
  NULL,
  octets,
  oid,
  seq,
  setOf,
  source,
  Tag,
  time,
  tlv,
} from "./der.ts";
import { parseCertificate } from "./certificate.ts";
import { describePrivateKey, importPrivateKey, keyMatchesCertificate } from "./keys.ts";
import { algId, ecdsaOidByHash, hashLength, Oid, oidByHash, rsaHashParams } from "./oids.ts";
import { libcrypto, type SignScheme } from "./libcrypto.ts";
import type { DigestName, SigningIdentity, SignOptions } from "./types.ts";

/**
 * SMIMECapabilities (RFC 8551 2.5.2), most preferred first: the content
 * ciphers we decrypt, then the key transports. RFC 8551 2.7 requires
 * AES-128 CBC support from everyone and GCM from 8551 agents, so CBC first
 * keeps replies readable by older clients.
 */
const capabilities: Uint8Array = encode(seq(
  algId(Oid.aes256Cbc),
  algId(Oid.aes128Cbc),
  algId(Oid.aes256Gcm),
  algId(Oid.aes128Gcm),
  algId(Oid.rsaesOaep, rsaHashParams("SHA-256")),
  algId(Oid.rsaEncryption, NULL),
));

function attribute(type: string, value: Der): Der {
  return seq(oid(type), tlv(Tag.set, value));
}

/**
 * Signs `content` into a DER ContentInfo holding a SignedData.
 *
 * @returns DER ContentInfo(SignedData); see {@link signedData} for the
 *   same as a tree of parts
 * @throws SmimeError as {@link signedData}
 */
export async function sign(
  content: Uint8Array | ByteSource,
  signer: SigningIdentity,
  options: SignOptions,
): Promise<Uint8Array> {
  return encode(await signedData(content, signer, options));
}

/**
 * Signs `content` into a ContentInfo holding a SignedData, as a tree of DER
 * parts whose eContent is `content` itself, not a copy ({@link encode} or
 * `forEachChunk` of der.ts serialise it).
 *
 * The signer is identified by issuerAndSerialNumber (SignerInfo version 1);
 * `certificates` carries the signer certificate then its chain.
 *
 * @param content the bytes to sign (for S/MIME, the canonical MIME entity),
 *   whole or made piece by piece (read twice: digest, then eContent)
 * @param signer certificate, chain and PKCS#8 private key
 * @param options detached or opaque, digest, RSA padding, signingTime
 * @returns the ContentInfo(SignedData) as DER parts
 * @throws SmimeError E_CERT_INVALID / E_KEY_INVALID for unreadable inputs,
 *   E_KEY_MISMATCH when the key is not the certificate's, E_UNSUPPORTED for
 *   other key types and for an RSA key too small for RSASSA-PSS with the
 *   digest (see {@link pssKeyTooSmall})
 */
export async function signedData(
  content: Uint8Array | ByteSource,
  signer: SigningIdentity,
  options: SignOptions,
): Promise<Der> {
  const hash: DigestName = options.digest ?? "SHA-256";
  const digestOid = oidByHash[hash];
  if (!digestOid) throw new SmimeError("E_UNSUPPORTED", `Cannot sign: unsupported digest ${hash}`);
  const cert = parseCertificate(signer.certificate, "signer certificate");
  const keyInfo = describePrivateKey(signer.privateKey);
  if (!keyMatchesCertificate(signer.privateKey, cert)) {
    throw new SmimeError(
      "E_KEY_MISMATCH",
      `Cannot sign: the private key does not belong to the certificate of ${cert.subject}`,
    );
  }
  for (const [i, c] of signer.chain.entries()) parseCertificate(c, `chain certificate ${i + 1}`);

  // node:crypto hashes in place, a piece at a time; WebCrypto would copy
  // the content first.
  const digest = hashSync(hash, content);
  // RFC 5652 5.3: the SET OF Attribute is DER, so sorted by encoding. The
  // same sorted bytes go under the SET tag for signing and under [0] in the
  // SignerInfo, so what is signed is exactly what is sent.
  const attrs = setOf([
    attribute(Oid.contentType, oid(Oid.data)),
    attribute(Oid.signingTime, time(options.signingTime ?? new Date())),
    attribute(Oid.messageDigest, octets(digest)),
    attribute(Oid.smimeCapabilities, capabilities),
  ]);
  const signedBytes = encode(attrs);

  const scheme: SignScheme = keyInfo.keyType === "ec"
    ? "ecdsa"
    : (options.rsaPadding ?? "pkcs1") === "pss"
    ? "pss"
    : "pkcs1";
  // Before either signer runs: libcrypto would fail and hand over to
  // WebCrypto, whose "internal error" names nothing.
  const tooSmall = scheme === "pss" ? pssKeyTooSmall(signer.privateKey, hash) : undefined;
  if (tooSmall) {
    const other = tooSmall.digests.length ? `${tooSmall.digests.join(" or ")}, or ` : "";
    throw new SmimeError(
      "E_UNSUPPORTED",
      `Cannot sign as ${cert.subject}: ${tooSmall.reason}; use ${other}a larger key`,
    );
  }
  // PKCS#1 v1.5: RFC 5754 3.2 allows rsaEncryption here; it is what OpenSSL
  // and NSS write, so every verifier accepts it. ECDSA: RFC 5758 3.2,
  // parameters absent.
  const signatureAlg: Der = scheme === "pss"
    ? algId(Oid.rsassaPss, rsaHashParams(hash, hashLength[hash]!))
    : scheme === "pkcs1"
    ? algId(Oid.rsaEncryption, NULL)
    : algId(ecdsaOidByHash[hash]);

  // OpenSSL when it is there (libcrypto.ts), else WebCrypto: same encoding.
  const fast = libcrypto();
  const signature = (fast &&
    fast.signDigest(signer.privateKey, scheme, hash, hashSync(hash, signedBytes))) ??
    await webCryptoSign(signer.privateKey, scheme, hash, keyInfo.curve, signedBytes);

  const signerInfo = seq(
    int(1), // RFC 5652 5.3: version 1 with issuerAndSerialNumber
    seq(cert.issuer, tlv(Tag.integer, cert.serial)),
    algId(digestOid), // RFC 5754 2: SHA-2 parameters absent
    tlv(0xa0, ...attrs.parts),
    signatureAlg,
    octets(signature),
  );
  const encapContentInfo = options.detached ? seq(oid(Oid.data)) : seq(
    oid(Oid.data),
    explicit(0, octets(content instanceof Uint8Array ? content : late(content))),
  );
  const body = seq(
    // RFC 5652 5.1: version 1 (id-data content, only version 1 SignerInfos).
    int(1),
    tlv(Tag.set, algId(digestOid)),
    encapContentInfo,
    // Leaf first: some verifiers look no further than the first certificate.
    tlv(0xa0, signer.certificate, ...signer.chain),
    tlv(Tag.set, signerInfo),
  );
  return seq(oid(Oid.signedData), explicit(0, body));
}

/** What {@link pssKeyTooSmall} finds. */
export interface PssKeyTooSmall {
  /** e.g. "RSA-1024 is too small for RSASSA-PSS with SHA-512 (needs 1034 bits)". */
  reason: string;
  /** The digests the key can sign with instead, strongest first; may be empty. */
  digests: DigestName[];
}

const PSS_DIGESTS: DigestName[] = ["SHA-512", "SHA-384", "SHA-256"];

/**
 * The smallest RSA modulus that makes an RSASSA-PSS signature with `hash`
 * and a salt as long as the hash, as {@link signedData} writes it: RFC 8017
 * 9.1.1 needs emLen = ceil((modBits - 1) / 8) >= hLen + sLen + 2.
 */
function pssMinimumBits(hash: DigestName): number {
  return 8 * (2 * hashLength[hash]! + 2) - 6;
}

/**
 * Whether the RSA key `pkcs8` is too small for RSASSA-PSS with `hash` (an
 * RSA-1024 key with SHA-512, say): what is wrong and the digests that fit.
 *
 * @param pkcs8 the signer's private key, PKCS#8 DER
 * @returns undefined when the key is big enough, or is not RSA
 * @throws SmimeError E_KEY_INVALID when the key can't be read
 */
export function pssKeyTooSmall(pkcs8: Uint8Array, hash: DigestName): PssKeyTooSmall | undefined {
  const bits = describePrivateKey(pkcs8).modulusBits;
  const needs = pssMinimumBits(hash);
  if (bits === undefined || bits >= needs) return undefined;
  return {
    reason: `RSA-${bits} is too small for RSASSA-PSS with ${hash} (needs ${needs} bits)`,
    digests: PSS_DIGESTS.filter((d) => bits >= pssMinimumBits(d)),
  };
}

/** The digest the fast path signs (WebCrypto hashes inside its sign()). */
function hashSync(hash: DigestName, data: Uint8Array | ByteSource): Uint8Array {
  const hasher = createHash(hash.replace("-", "").toLowerCase());
  for (const piece of data instanceof Uint8Array ? [data] : data.pieces()) hasher.update(piece);
  return hasher.digest();
}

/** A source as a DER part made while the encoding is written. */
function late(source: ByteSource): LatePart {
  return { late: true, size: source.size, pieces: () => source.pieces() };
}

/** The signature through WebCrypto, as DER for ECDSA. */
async function webCryptoSign(
  pkcs8: Uint8Array,
  scheme: SignScheme,
  hash: DigestName,
  curve: string | undefined,
  signedBytes: Uint8Array,
): Promise<Uint8Array> {
  if (scheme === "pss") {
    const key = await importPrivateKey(pkcs8, { name: "RSA-PSS", hash }, "sign");
    return new Uint8Array(
      await crypto.subtle.sign(
        { name: "RSA-PSS", saltLength: hashLength[hash]! },
        key,
        source(signedBytes),
      ),
    );
  }
  if (scheme === "pkcs1") {
    const key = await importPrivateKey(pkcs8, { name: "RSASSA-PKCS1-v1_5", hash }, "sign");
    return new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, source(signedBytes)));
  }
  const key = await importPrivateKey(pkcs8, { name: "ECDSA", namedCurve: curve! }, "sign");
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash }, key, source(signedBytes)),
  );
  return ecdsaRawToDer(raw);
}

/** WebCrypto's r||s (IEEE P1363) to the Ecdsa-Sig-Value SEQUENCE (RFC 3279 2.2.3). */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.subarray(i);
    return tlv(
      Tag.integer,
      trimmed[0]! & 0x80 ? new Uint8Array([0, ...trimmed]) : trimmed,
    );
  };
  return encode(seq(integer(raw.subarray(0, half)), integer(raw.subarray(half))));
}
