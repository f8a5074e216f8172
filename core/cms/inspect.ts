/**
 * A look inside a CMS object without keys: kind, algorithms and who it is
 * for or from. Synchronous; checks nothing cryptographic.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import { toHex } from "./der.ts";
import { serialHex } from "./certificate.ts";
import { formatName } from "./names.ts";
import { cipherByOid, hashByOid, Oid } from "./oids.ts";
import {
  type CmsIdentifier,
  readAlgorithm,
  readCms,
  readContentInfo,
  readEncapsulatedContent,
  readEnvelope,
  readSignedData,
  type RecipientParts,
} from "./parse.ts";
import { signatureAlgorithmName } from "./signature.ts";
import type { CmsIdentifierInfo, CmsInfo, CmsKind, RecipientSummary } from "./types.ts";

function describeId(id: CmsIdentifier): CmsIdentifierInfo {
  if (id.issuer) return { issuer: formatName(id.issuer), serialNumber: serialHex(id.serial) };
  return { subjectKeyIdentifier: toHex(id.subjectKeyIdentifier) };
}

const keyEncryptionNames: Record<string, string> = {
  [Oid.rsaEncryption]: "RSAES-PKCS1-v1_5",
  [Oid.rsaesOaep]: "RSAES-OAEP",
};

const otherKinds: Record<number, string> = { 0xa2: "kekri", 0xa3: "pwri", 0xa4: "ori" };

function describeRecipient(ri: RecipientParts): RecipientSummary[] {
  if (ri.type === "ktri") {
    const { oid } = readAlgorithm(ri.keyEncryptionAlgorithm);
    return [{ ...describeId(ri.rid), keyEncryption: keyEncryptionNames[oid] ?? oid }];
  }
  if (ri.type === "kari") {
    return ri.recipients.map((r) => ({ ...describeId(r.rid), keyEncryption: "ECDH" }));
  }
  return [{ keyEncryption: otherKinds[ri.tag] ?? `unknown (tag 0x${ri.tag.toString(16)})` }];
}

/**
 * Describes a DER or BER CMS object: its kind, and for SignedData the
 * digests, signers and whether it is detached, for (Auth)EnvelopedData the
 * recipients and the content cipher.
 *
 * @throws SmimeError E_CMS when malformed, E_UNSUPPORTED for other content types
 */
export function inspect(der: Uint8Array): CmsInfo {
  return readCms("CMS", () => {
    const { kind, content } = readContentInfo(der);
    if (kind === "signed-data") {
      const sd = readSignedData(content);
      return {
        kind,
        detached: sd.eContent === undefined,
        digestAlgorithms: sd.digestAlgorithms.map((a) => {
          const { oid } = readAlgorithm(a);
          return hashByOid[oid] ?? oid;
        }),
        signers: sd.signerInfos.map((si) => {
          const { oid } = readAlgorithm(si.digestAlgorithm);
          return {
            ...describeId(si.sid),
            digestAlgorithm: hashByOid[oid] ?? oid,
            signatureAlgorithm: signatureAlgorithmName(si.signatureAlgorithm),
          };
        }),
        certificateCount: sd.certificates.length,
      };
    }
    const env = readEnvelope(content, kind);
    const { oid } = readAlgorithm(env.contentEncryptionAlgorithm);
    return {
      kind,
      recipients: env.recipientInfos.flatMap(describeRecipient),
      contentCipher: cipherByOid[oid]?.name ?? oid,
    };
  });
}

/**
 * The content type of a CMS object, read from its ContentInfo alone.
 *
 * @throws SmimeError E_CMS when malformed, E_UNSUPPORTED for other content types
 */
export function cmsKind(der: Uint8Array): CmsKind {
  return readCms("CMS", () => readContentInfo(der).kind);
}

/**
 * The content a SignedData carries, without verifying it: its SignerInfos
 * and certificates are not even read, however many there are. Undefined
 * when detached.
 *
 * @throws SmimeError E_CMS when malformed or not SignedData
 */
export function unverifiedContent(der: Uint8Array): Uint8Array | undefined {
  return readCms("SignedData", () => {
    const { kind, content } = readContentInfo(der);
    if (kind !== "signed-data") throw new SmimeError("E_CMS", `Cannot read SignedData: ${kind}`);
    return readEncapsulatedContent(content);
  });
}
