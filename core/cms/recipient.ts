/**
 * Which RecipientInfos of an EnvelopedData (RFC 5652 6.2) a private key is
 * tried against. With the recipient's certificate, the RecipientInfo that
 * names it (issuerAndSerialNumber or subjectKeyIdentifier). With the key
 * alone, the RecipientInfo whose subjectKeyIdentifier equals the key's own
 * (RFC 5280 4.2.1.2 method 1, what OpenSSL and most CAs write); failing
 * that, every RecipientInfo of the key's kind, as `openssl cms -decrypt
 * -inkey` does without `-recip`: each KeyTransRecipientInfo for an RSA key,
 * each KeyAgreeRecipientInfo whose originator key is on the key's curve for
 * an EC key.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { createHash, createPublicKey } from "node:crypto";
import { SmimeError } from "../errors.ts";
import { AsnError, DerReader, parseTlv, readOid, Tag } from "./der.ts";
import { type CertificateInfo, matchesIssuerSerial, parseCertificate } from "./certificate.ts";
import { nodePrivateKey, type PrivateKeyInfo } from "./keys.ts";
import { curveByOid, Oid } from "./oids.ts";
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

/**
 * How many key operations one message may ask of a key given without its
 * certificate (one per KeyTransRecipientInfo, one per encrypted key of a
 * KeyAgreeRecipientInfo). A hostile message could otherwise list millions.
 */
export const MAX_RECIPIENT_TRIALS = 1_000;

/** A RecipientInfo to try, with the encrypted keys in it to try. */
export type Attempt =
  | { type: "ktri"; info: KeyTransRecipient }
  | { type: "kari"; info: KeyAgreeRecipient; encryptedKeys: Uint8Array[] };

/** True when the identifier names `cert`. */
export function identifies(id: CmsIdentifier, cert: CertificateInfo): boolean {
  if (id.issuer) return matchesIssuerSerial(cert, id.issuer.raw, id.serial);
  return cert.subjectKeyIdentifier !== undefined &&
    bytesEqual(cert.subjectKeyIdentifier, id.subjectKeyIdentifier);
}

/**
 * A test of whether the (Auth)EnvelopedData `der` is encrypted to a
 * certificate: its issuer and serial number, or its subjectKeyIdentifier,
 * is the rid of a KeyTransRecipientInfo or of a KeyAgreeRecipientInfo's
 * RecipientEncryptedKey (RFC 5652 6.2.1, 6.2.2). Exact, and no key is
 * used: a key folder is searched by it without loading a key.
 *
 * @param der the CMS object, read once, here
 * @returns the test of one DER certificate; false for one that can't be read
 * @throws SmimeError E_CMS when `der` is malformed or not encrypted
 */
export function recipientTest(der: Uint8Array): (certificate: Uint8Array) => boolean {
  const ids = readCms("EnvelopedData", () => {
    const info = readContentInfo(der);
    if (info.kind === "signed-data") {
      throw new SmimeError("E_CMS", "Cannot read EnvelopedData: the CMS object is signed-data");
    }
    return readEnvelope(info.content, info.kind).recipientInfos.flatMap((ri) =>
      ri.type === "ktri" ? [ri.rid] : ri.type === "kari" ? ri.recipients.map((r) => r.rid) : []
    );
  });
  return (certificate) => {
    let cert: CertificateInfo;
    try {
      cert = parseCertificate(certificate);
    } catch {
      return false;
    }
    return ids.some((id) => identifies(id, cert));
  };
}

const skiCache = new WeakMap<Uint8Array, Uint8Array>();

/**
 * The key identifier of a PKCS#8 key's public half: SHA-1 of the
 * subjectPublicKey BIT STRING's value (RFC 5280 4.2.1.2 method 1).
 */
export function keyIdentifierOf(pkcs8: Uint8Array): Uint8Array {
  let ski = skiCache.get(pkcs8);
  if (!ski) {
    const spki = createPublicKey(nodePrivateKey(pkcs8)).export({ format: "der", type: "spki" });
    const r = new DerReader(parseTlv(new Uint8Array(spki)));
    r.next(Tag.sequence, "algorithm");
    // The first content octet of a BIT STRING counts unused bits; it is not hashed.
    const bits = r.next(Tag.bitString, "subjectPublicKey").value.subarray(1);
    ski = new Uint8Array(createHash("sha1").update(bits).digest());
    skiCache.set(pkcs8, ski);
  }
  return ski;
}

const pointBytes: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/**
 * True when the originator key of a KeyAgreeRecipientInfo can be on
 * `curve`: the curve its parameters name, or, as RFC 5753 writers usually
 * leave the parameters out, a point of that curve's length.
 */
function originatorOnCurve(ri: KeyAgreeRecipient, curve: string): boolean {
  if (!ri.originatorKey) return false;
  try {
    const alg = readAlgorithm(ri.originatorKey.algorithm);
    if (alg.oid !== Oid.ecPublicKey) return false;
    if (alg.params?.tag === Tag.oid) return curveByOid[readOid(alg.params)] === curve;
  } catch (err) {
    if (err instanceof AsnError) return false;
    throw err;
  }
  const n = pointBytes[curve];
  const point = ri.originatorKey.publicKey;
  return n !== undefined &&
    ((point[0] === 4 && point.length === 1 + 2 * n) ||
      ((point[0] === 2 || point[0] === 3) && point.length === 1 + n));
}

/**
 * The RecipientInfo that names `cert`, as a single attempt; empty when the
 * message is not encrypted to it.
 */
export function attemptsForCertificate(env: EnvelopeParts, cert: CertificateInfo): Attempt[] {
  return attemptsFor(env, (id) => identifies(id, cert));
}

function attemptsFor(env: EnvelopeParts, names: (id: CmsIdentifier) => boolean): Attempt[] {
  for (const ri of env.recipientInfos) {
    if (ri.type === "ktri" && names(ri.rid)) return [{ type: "ktri", info: ri }];
    if (ri.type === "kari") {
      const rek = ri.recipients.find((r) => names(r.rid));
      if (rek) return [{ type: "kari", info: ri, encryptedKeys: [rek.encryptedKey] }];
    }
  }
  return [];
}

/**
 * The attempts for a key without its certificate: the RecipientInfo named
 * by the key's own identifier, else every one of the key's kind, in message
 * order. Empty when none is of the key's kind.
 *
 * @throws SmimeError E_CMS when that would be more than
 *   {@link MAX_RECIPIENT_TRIALS} key operations
 */
export function attemptsForKey(
  env: EnvelopeParts,
  pkcs8: Uint8Array,
  keyInfo: PrivateKeyInfo,
): Attempt[] {
  const ski = keyIdentifierOf(pkcs8);
  const isRsa = keyInfo.keyType === "rsa";
  const ofKind = (ri: EnvelopeParts["recipientInfos"][number]) =>
    isRsa ? ri.type === "ktri" : ri.type === "kari" && originatorOnCurve(ri, keyInfo.curve!);
  const named = attemptsFor(
    { ...env, recipientInfos: env.recipientInfos.filter(ofKind) },
    (id) => id.subjectKeyIdentifier !== undefined && bytesEqual(id.subjectKeyIdentifier, ski),
  );
  if (named.length > 0) return named;
  const attempts: Attempt[] = [];
  let trials = 0;
  for (const ri of env.recipientInfos) {
    if (!ofKind(ri)) continue;
    if (ri.type === "ktri") {
      attempts.push({ type: "ktri", info: ri });
      trials++;
    } else if (ri.type === "kari") {
      attempts.push({
        type: "kari",
        info: ri,
        encryptedKeys: ri.recipients.map((r) => r.encryptedKey),
      });
      trials += ri.recipients.length;
    }
    if (trials > MAX_RECIPIENT_TRIALS) {
      throw new SmimeError(
        "E_CMS",
        `Cannot decrypt: it lists more than ${MAX_RECIPIENT_TRIALS} recipients to try a key ` +
          "against (give the key's certificate to pick one)",
      );
    }
  }
  return attempts;
}
