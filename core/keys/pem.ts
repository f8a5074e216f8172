/**
 * PEM and DER decoding for certificates and keys. Pure: bytes in, DER out.
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import { SmimeError } from "../errors.ts";
import { firstElementLength } from "../cms/der.ts";
import { splitCapabilities } from "./capabilities.ts";

/** One `-----BEGIN X-----` block. */
export interface PemBlock {
  /** e.g. "CERTIFICATE", "RSA PRIVATE KEY". */
  label: string;
  /** RFC 1421 headers such as `Proc-Type`, present in legacy encrypted keys. */
  headers: Record<string, string>;
  /** The decoded body. */
  der: Uint8Array;
  /** The block as text, BEGIN and END lines included. */
  text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const CERT_LABELS = new Set(["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]);

/** The same bytes typed as backed by an ArrayBuffer (copied only if shared). */
export function toBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
}

/** True when the bytes start like a DER SEQUENCE rather than text. */
export function looksLikeDer(bytes: Uint8Array): boolean {
  return bytes.length > 1 && bytes[0] === 0x30;
}

/** True when `der` is exactly one well-formed BER/DER element. */
export function isSingleElement(der: Uint8Array): boolean {
  return elementLength(der) === der.byteLength;
}

/** Length of the well-formed element `bytes` starts with, or -1. */
function elementLength(bytes: Uint8Array): number {
  try {
    return firstElementLength(bytes);
  } catch {
    return -1;
  }
}

/**
 * Decodes every PEM block in `bytes`.
 *
 * @param file named in the error
 * @throws {SmimeError} `code` when a block is truncated (a BEGIN without its
 *   END) or its base64 body is damaged
 */
export function readPemBlocks(
  bytes: Uint8Array,
  file: string,
  code: "E_CERT_INVALID" | "E_KEY_INVALID",
): PemBlock[] {
  const text = bytesToLatin1(bytes);
  const blocks: PemBlock[] = [];
  let end = 0;
  for (const match of text.matchAll(BLOCK)) {
    const [, label = "", body = "", endLabel] = match;
    if (label !== endLabel || /-----BEGIN /.test(body)) {
      throw new SmimeError(code, `Cannot read ${file}: PEM block "${label}" is truncated`);
    }
    blocks.push({ label, text: match[0], ...decodeBody(body, label, file, code) });
    end = (match.index ?? 0) + match[0].length;
  }
  if (/-----BEGIN /.test(text.slice(end))) {
    throw new SmimeError(code, `Cannot read ${file}: PEM block is truncated (no END line)`);
  }
  return blocks;
}

function decodeBody(
  body: string,
  label: string,
  file: string,
  code: "E_CERT_INVALID" | "E_KEY_INVALID",
): { headers: Record<string, string>; der: Uint8Array } {
  const headers: Record<string, string> = {};
  const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  while (lines[0]?.includes(":")) {
    const line = lines.shift() ?? "";
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const b64 = lines.join("");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0 || b64 === "") {
    throw new SmimeError(code, `Cannot read ${file}: PEM block "${label}" is not valid base64`);
  }
  const raw = atob(b64);
  const der = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) der[i] = raw.charCodeAt(i);
  return { headers, der };
}

/** One certificate of a bundle, and OpenSSL's trust settings when it has any. */
export interface BundleCertificate {
  /** The certificate, DER. */
  der: Uint8Array;
  /**
   * What followed the certificate in a `TRUSTED CERTIFICATE` block:
   * OpenSSL's X509_CERT_AUX (trust and reject lists, alias), unchecked.
   * Undefined when nothing followed it.
   */
  aux?: Uint8Array;
}

/**
 * Reads every certificate in a PEM bundle, or the one certificate of a DER
 * file. Used for `.crt` files (leaf first, then intermediates); a trust
 * bundle goes through loadTrustBundle (trust_bundle.ts), which honours the
 * trust settings of `TRUSTED CERTIFICATE` blocks. A recorded
 * SMIMECapabilities block (capabilities.ts) is not a certificate and is
 * skipped, damaged or not.
 *
 * @param bytes file contents
 * @param file the path, named in errors
 * @returns DER certificates in file order
 * @throws {SmimeError} E_CERT_INVALID when the file is truncated, damaged
 *   or holds no certificate
 */
export function loadPemBundle(fileBytes: Uint8Array, file: string): Uint8Array[] {
  return readBundle(fileBytes, file).map((c) => c.der);
}

/**
 * {@link loadPemBundle}, each certificate with the OpenSSL trust settings
 * that followed it in a `TRUSTED CERTIFICATE` block.
 *
 * @throws {SmimeError} E_CERT_INVALID as loadPemBundle
 */
export function readBundle(fileBytes: Uint8Array, file: string): BundleCertificate[] {
  const bytes = splitCapabilities(fileBytes).rest;
  if (looksLikeDer(bytes)) {
    if (isPkcs7(bytes)) throw pkcs7Bundle(file);
    if (!isSingleElement(bytes)) {
      throw new SmimeError(
        "E_CERT_INVALID",
        `Cannot read ${file}: DER data is truncated or damaged`,
      );
    }
    return [{ der: bytes }];
  }
  const certs: BundleCertificate[] = [];
  let bundles = 0;
  for (const block of readPemBlocks(bytes, file, "E_CERT_INVALID")) {
    if (block.label === "PKCS7" || block.label === "CMS") bundles++;
    if (!CERT_LABELS.has(block.label)) continue;
    // A TRUSTED CERTIFICATE carries OpenSSL trust settings after the cert.
    const length = elementLength(block.der);
    if (length === -1) {
      throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: a certificate is damaged`);
    }
    const der = block.der.slice(0, length);
    if (length === block.der.length) {
      certs.push({ der });
    } else if (block.label === "TRUSTED CERTIFICATE") {
      certs.push({ der, aux: block.der.slice(length) });
    } else {
      throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: a certificate is damaged`);
    }
  }
  if (certs.length === 0) {
    if (bundles > 0) throw pkcs7Bundle(file);
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: no certificate in it`);
  }
  return certs;
}

/** ContentInfo's contentType signedData, DER: how a PKCS#7 bundle (.p7b, .p7c) starts. */
const SIGNED_DATA_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

/** True when DER bytes are a PKCS#7 / CMS SignedData (its OID within the first bytes). */
function isPkcs7(der: Uint8Array): boolean {
  const head = der.subarray(0, 16);
  for (let i = 0; i + SIGNED_DATA_OID.length <= head.length; i++) {
    if (SIGNED_DATA_OID.every((b, j) => head[i + j] === b)) return true;
  }
  return false;
}

/** A certificate file that is a PKCS#7 bundle (a Windows "PKCS #7" export renamed). */
function pkcs7Bundle(file: string): SmimeError {
  return new SmimeError(
    "E_CERT_INVALID",
    `Cannot read ${file}: it is a PKCS#7 certificate bundle, not a certificate file; ` +
      `smimepost keys import ${file} stores its certificates (or openssl pkcs7 -print_certs)`,
  );
}
