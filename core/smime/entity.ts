/**
 * MIME wrappers around CMS objects (RFC 8551 3.3-3.5): the entities that
 * replace a message's content once it is signed or encrypted. CMS itself
 * lives in core/cms and knows nothing of MIME.
 *
 * @module
 */
import { type ByteSource, chunksOf, type Der, encode, forEachChunk, sizeOf } from "../cms/der.ts";
import type { CmsKind, DigestName } from "../cms/types.ts";
import { base64Length, base64Pieces, Base64Writer, encodeBase64 } from "../message/mod.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array();
const CR = 13;
const LF = 10;

/** The micalg parameter for a digest (RFC 8551 3.5.3.1, RFC 5751 3.4.3.2). */
export function micalgOf(digest: DigestName): string {
  return digest.toLowerCase();
}

/**
 * An `application/pkcs7-mime` entity for a CMS object (RFC 8551 3.2).
 *
 * @param der the ContentInfo, encoded or as a tree of parts: its base64 is
 *   written straight into the entity, so the DER never exists as one buffer
 * @param head bytes to put in front of the entity in the same buffer (the
 *   outer header of the message): the result then starts with them
 */
export function pkcs7MimeEntity(der: Der, kind: CmsKind, head: Uint8Array = EMPTY): Uint8Array {
  const headers = pkcs7MimeHeaders(kind);
  const out = new Uint8Array(head.length + headers.length + base64Length(sizeOf(der)) + 2);
  out.set(head);
  out.set(headers, head.length);
  let o = writeBase64(der, out, head.length + headers.length);
  out[o++] = CR;
  out[o++] = LF;
  return out;
}

/**
 * A `multipart/signed` entity (RFC 8551 3.5.3, RFC 1847): the signed entity
 * byte for byte, then the detached signature.
 *
 * @param signed the canonical entity the signature covers, exactly as signed
 * @param signature DER ContentInfo(SignedData) without eContent
 * @param head bytes to put in front of the entity in the same buffer
 */
export function multipartSignedEntity(
  signed: Uint8Array,
  signature: Der,
  digest: DigestName,
  head: Uint8Array = EMPTY,
): Uint8Array {
  const { top, middle, tail } = multipartSignedFrame(signed, digest);
  const out = new Uint8Array(
    head.length + top.length + signed.length + middle.length +
      base64Length(sizeOf(signature)) + tail.length,
  );
  let o = 0;
  for (const part of [head, top, signed, middle]) {
    out.set(part, o);
    o += part.length;
  }
  out.set(tail, writeBase64(signature, out, o));
  return out;
}

/**
 * {@link pkcs7MimeEntity} made piece by piece when read: the base64 is
 * encoded from the DER's pieces as they are asked for, so neither exists
 * whole (the entity of a 50 MB message goes straight into encryption).
 */
export function pkcs7MimeSource(der: Der, kind: CmsKind): ByteSource {
  const headers = pkcs7MimeHeaders(kind);
  return {
    size: pkcs7MimeSize(der, kind),
    *pieces() {
      yield headers;
      yield* base64Pieces(chunksOf(der), sizeOf(der));
      yield CRLF;
    },
    // Fixed ASCII header fields, then base64.
    isAscii: true,
  };
}

/** The size of {@link pkcs7MimeEntity}'s entity for `der`, without making it. */
export function pkcs7MimeSize(der: Der, kind: CmsKind): number {
  return pkcs7MimeHeaders(kind).length + base64Length(sizeOf(der)) + 2;
}

/**
 * {@link multipartSignedEntity} as pieces: the signed entity as it is,
 * between the boundaries, never copied.
 */
export function multipartSignedSource(
  signed: Uint8Array,
  signature: Der,
  digest: DigestName,
): ByteSource {
  const { top, middle, tail } = multipartSignedFrame(signed, digest);
  const encoded = encodeBase64(encode(signature));
  const parts = [top, signed, middle, encoded, tail];
  return { size: parts.reduce((n, p) => n + p.length, 0), pieces: () => parts };
}

const CRLF = new Uint8Array([CR, LF]);

/** RFC 8551 3.2.2: smime-type values; authEnveloped-data is RFC 8551 3.4. */
function pkcs7MimeHeaders(kind: CmsKind): Uint8Array {
  const smimeType = kind === "auth-enveloped-data" ? "authEnveloped-data" : kind;
  return encoder.encode(
    `Content-Type: application/pkcs7-mime; smime-type=${smimeType};\r\n` +
      ` name="smime.p7m"\r\n` +
      `Content-Transfer-Encoding: base64\r\n` +
      `Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n`,
  );
}

/** What goes around the signed entity and the signature in multipart/signed. */
function multipartSignedFrame(signed: Uint8Array, digest: DigestName) {
  const boundary = boundaryFor(signed);
  const top = encoder.encode(
    `Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n` +
      ` micalg=${micalgOf(digest)}; boundary="${boundary}"\r\n\r\n` +
      `This is an S/MIME signed message\r\n\r\n--${boundary}\r\n`,
  );
  // RFC 2046 5.1.1: the CRLF before a boundary belongs to the boundary, so
  // the signed bytes end where this CRLF starts.
  const middle = encoder.encode(
    `\r\n--${boundary}\r\n` +
      `Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n` +
      `Content-Transfer-Encoding: base64\r\n` +
      `Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  return { top, middle, tail };
}

/** Writes the base64 of `der` into `out` at `offset`; returns the offset after it. */
function writeBase64(der: Der, out: Uint8Array, offset: number): number {
  const writer = new Base64Writer(out, offset);
  forEachChunk(der, (chunk) => writer.write(chunk));
  return writer.finish();
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
