/**
 * MIME wrappers around CMS objects (RFC 8551 3.3-3.5): the entities that
 * replace a message's content once it is signed or encrypted. CMS itself
 * lives in core/cms and knows nothing of MIME.
 *
 * @module
 */
import type { CmsKind, DigestName } from "../cms/types.ts";
import { concatBytes, encodeBase64 } from "../message/mod.ts";

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

/** The micalg parameter for a digest (RFC 8551 3.5.3.1, RFC 5751 3.4.3.2). */
export function micalgOf(digest: DigestName): string {
  return digest.toLowerCase();
}

/** An `application/pkcs7-mime` entity for a CMS object (RFC 8551 3.2). */
export function pkcs7MimeEntity(der: Uint8Array, kind: CmsKind): Uint8Array {
  // RFC 8551 3.2.2: smime-type values; authEnveloped-data is RFC 8551 3.4.
  const smimeType = kind === "auth-enveloped-data" ? "authEnveloped-data" : kind;
  const headers = `Content-Type: application/pkcs7-mime; smime-type=${smimeType};\r\n` +
    ` name="smime.p7m"\r\n` +
    `Content-Transfer-Encoding: base64\r\n` +
    `Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n`;
  return concatBytes([encoder.encode(headers), encodeBase64(der), CRLF]);
}

/**
 * A `multipart/signed` entity (RFC 8551 3.5.3, RFC 1847): the signed entity
 * byte for byte, then the detached signature.
 *
 * @param signed the canonical entity the signature covers, exactly as signed
 * @param signature DER ContentInfo(SignedData) without eContent
 */
export function multipartSignedEntity(
  signed: Uint8Array,
  signature: Uint8Array,
  digest: DigestName,
): Uint8Array {
  const boundary = boundaryFor(signed);
  const head = `Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n` +
    ` micalg=${micalgOf(digest)}; boundary="${boundary}"\r\n\r\n` +
    `This is an S/MIME signed message\r\n\r\n--${boundary}\r\n`;
  // RFC 2046 5.1.1: the CRLF before a boundary belongs to the boundary, so
  // the signed bytes end where this CRLF starts.
  const middle = `\r\n--${boundary}\r\n` +
    `Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n` +
    `Content-Transfer-Encoding: base64\r\n` +
    `Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return concatBytes([
    encoder.encode(head),
    signed,
    encoder.encode(middle),
    encodeBase64(signature),
    encoder.encode(tail),
  ]);
}

/** A random boundary that does not occur in `content` (RFC 2046 5.1.1). */
function boundaryFor(content: Uint8Array): string {
  for (;;) {
    const random = crypto.getRandomValues(new Uint8Array(18));
    const boundary = `----=_smimepost_${
      Array.from(random, (b) => b.toString(36).padStart(2, "0")).join("")
    }`;
    if (!includesBytes(content, encoder.encode(boundary))) return boundary;
  }
}

/** True when `needle` occurs in `haystack`. */
function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first!); i !== -1; i = haystack.indexOf(first!, i + 1)) {
    if (i + needle.length > haystack.length) return false;
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}
