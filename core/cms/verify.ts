/**
 * Verifying SignedData (RFC 5652 5.4-5.6): message digest, signature and,
 * with trust anchors, the signer's certificate path. A bad signature is a
 * result, not an exception; only unreadable input throws.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import { reasonOf, SmimeError } from "../errors.ts";
import { readOctets, readOid, readTime, source, Tag, type Tlv } from "./der.ts";
import {
  type CertificateInfo,
  matchesIssuerSerial,
  parseCertificate,
  parseCertificateDetails,
} from "./certificate.ts";
import {
  CertPool,
  type PathResult,
  type TrustStore,
  trustStore,
  validatePath,
} from "../trust/mod.ts";
import { hashByOid, Oid } from "./oids.ts";
import {
  type CmsIdentifier,
  readAlgorithm,
  readAttributes,
  readCms,
  readContentInfo,
  readSignedData,
  type SignerInfoParts,
} from "./parse.ts";
import { checkSignature, signatureAlgorithmName } from "./signature.ts";
import type { SignerResult, VerifyOptions, VerifyResult } from "./types.ts";

/**
 * Verifies a DER or BER ContentInfo(SignedData), opaque or detached.
 *
 * @param der the CMS object
 * @param options detached content, trust anchors, extra certificates, time
 * @returns the content and one result per SignerInfo
 * @throws SmimeError E_CMS when the input is not a readable SignedData,
 *   E_VERIFY when it is detached and no content was given
 */
export async function verify(der: Uint8Array, options: VerifyOptions = {}): Promise<VerifyResult> {
  const sd = readCms("SignedData", () => {
    const info = readContentInfo(der);
    if (info.kind !== "signed-data") {
      throw new SmimeError("E_CMS", `Cannot verify: CMS ${info.kind} is not signed-data`);
    }
    return readSignedData(info.content);
  });
  const detached = sd.eContent === undefined;
  const content = sd.eContent ?? options.detachedContent;
  if (content === undefined) {
    throw new SmimeError("E_VERIFY", "Cannot verify: detached signature and no content given");
  }
  const pool = [...sd.certificates, ...(options.extraCertificates ?? [])];
  const store = options.trust ?? (options.trustAnchors && trustStore(options.trustAnchors));
  // What the message brought is searched last, after the user's own intermediates.
  const trust = store && {
    anchors: store.anchors,
    intermediates: [...store.intermediates, new CertPool(pool)],
  };
  const digests = new Map<string, Promise<Uint8Array>>();
  const digestOf = (hash: string) => {
    let d = digests.get(hash);
    if (!d) {
      d = crypto.subtle.digest(hash, source(content)).then((b) => new Uint8Array(b));
      digests.set(hash, d);
    }
    return d;
  };
  const signers = await Promise.all(
    sd.signerInfos.map((si) =>
      verifySigner(si, sd.eContentType, content, pool, digestOf, { ...options, trust })
    ),
  );
  return { content, detached, signers, certificates: sd.certificates };
}

function findCertificate(id: CmsIdentifier, pool: Uint8Array[]): CertificateInfo | undefined {
  for (const der of pool) {
    let cert: CertificateInfo;
    try {
      cert = parseCertificate(der);
    } catch {
      continue; // an unreadable certificate in the bag is not the signer's
    }
    if (
      id.issuer ? matchesIssuerSerial(cert, id.issuer.raw, id.serial) : (
        cert.subjectKeyIdentifier !== undefined &&
        bytesEqual(cert.subjectKeyIdentifier, id.subjectKeyIdentifier)
      )
    ) return cert;
  }
  return undefined;
}

/** What the signed attributes say, or why they are unusable. */
interface SignedAttributes {
  messageDigest?: Uint8Array;
  contentType?: string;
  signingTime?: Date;
  capabilities?: Uint8Array;
}

/** RFC 5652 11: each of these attributes carries exactly one value. */
function readSignedAttributes(set: Tlv): SignedAttributes {
  const out: SignedAttributes = {};
  for (const { type, values } of readAttributes(set)) {
    const single = values.length === 1 ? values[0] : undefined;
    if (type === Oid.messageDigest || type === Oid.contentType || type === Oid.signingTime) {
      if (!single) {
        throw new SmimeError("E_CMS", `Cannot verify: attribute ${type} needs one value`);
      }
      if (type === Oid.messageDigest) {
        if (out.messageDigest) {
          throw new SmimeError("E_CMS", "Cannot verify: two messageDigest attributes");
        }
        out.messageDigest = readOctets(single);
      } else if (type === Oid.contentType) out.contentType = readOid(single);
      else out.signingTime = readTime(single);
    } else if (type === Oid.smimeCapabilities && single?.tag === Tag.sequence) {
      out.capabilities ??= single.raw;
    }
  }
  return out;
}

async function verifySigner(
  si: SignerInfoParts,
  eContentType: string,
  content: Uint8Array,
  pool: Uint8Array[],
  digestOf: (hash: string) => Promise<Uint8Array>,
  options: VerifyOptions & { trust?: TrustStore },
): Promise<SignerResult> {
  const cert = findCertificate(si.sid, pool);
  const digestOid = readCms("SignerInfo", () => readAlgorithm(si.digestAlgorithm).oid);
  const hash = hashByOid[digestOid];
  const attrs = si.signedAttrs
    ? readCms("signed attributes", () => readSignedAttributes(si.signedAttrs!))
    : {};
  const result: SignerResult = {
    certificate: cert?.der,
    subject: cert?.subject ?? "",
    emailAddresses: cert?.emailAddresses ?? [],
    digestAlgorithm: hash ?? digestOid,
    signatureAlgorithm: readCms("SignerInfo", () => signatureAlgorithmName(si.signatureAlgorithm)),
    signatureValid: false,
    chain: options.trust ? "untrusted" : "unchecked",
  };
  if (attrs.signingTime) result.signingTime = attrs.signingTime;
  if (attrs.capabilities) result.capabilities = attrs.capabilities;

  result.signatureError = await (async () => {
    if (!hash) return `unsupported digest algorithm ${digestOid}`;
    if (!cert) return "signer certificate not found in the message or the extra certificates";
    let signed = content;
    if (si.signedAttrs) {
      const digest = await digestOf(hash);
      // RFC 5652 5.4: signed attributes are verified over their DER with
      // the SET OF tag, not the [0] IMPLICIT tag they travel under.
      if (!attrs.messageDigest) return "no messageDigest attribute";
      if (attrs.contentType !== eContentType) return "contentType attribute does not match";
      if (!bytesEqual(attrs.messageDigest, digest)) {
        return "message digest mismatch: content altered";
      }
      signed = si.signedAttrs.raw.slice();
      signed[0] = Tag.set;
    }
    const check = await checkSignature(cert, si.signatureAlgorithm, hash, signed, si.signature);
    return check;
  })();
  if (result.signatureError === undefined) {
    delete result.signatureError;
    result.signatureValid = true;
  }

  if (options.trust) {
    const path = cert
      ? signerPath(cert, options.trust, options.checkTime ?? new Date())
      : undefined;
    if (path?.ok) {
      result.chain = "trusted";
      result.path = path.path.map((c) => c.der);
    } else result.chainError = path?.reason ?? "no signer certificate";
  }
  return result;
}

// Judged now: signingTime is the signer's claim, and can be backdated.
function signerPath(cert: CertificateInfo, trust: TrustStore, now: Date): PathResult {
  let details;
  try {
    details = parseCertificateDetails(cert.der);
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
  return validatePath(details, trust, { now, purpose: "sign" });
}
