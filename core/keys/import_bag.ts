/**
 * The certificates of an input that is not mail: a PEM or DER certificate
 * file, a CMS certificate bag (.p7b/.p7c, or a .p7s), DER or PEM `PKCS7`;
 * and the limit on how many distinct certificates one input may carry.
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import { readContentInfo, readSignedData } from "../cms/parse.ts";
import { reasonOf, SmimeError } from "../errors.ts";
import { parseCertificate } from "./cert_info.ts";
import { readPemBlocks } from "./pem.ts";

/**
 * The certificates of a certificate file or CMS bag, or undefined when the
 * input is not one (then it is read as mail).
 */
export function certificateBag(bytes: Uint8Array, source: string): Uint8Array[] | undefined {
  if (bytes.length > 1 && bytes[0] === 0x30) return derCertificates(bytes, source);
  // A message starts with header fields (or an mbox From_ line); a PEM file with its
  // block or with text such as openssl's "Certificate:" dump, read as PEM when the
  // message turns out not to be S/MIME (see importMail).
  const head = bytesToLatin1(bytes.subarray(0, 1024));
  if (/^[\x21-\x39\x3b-\x7e]+:/.test(head) || head.startsWith("From ")) return undefined;
  return pemCertificates(bytes, source);
}

/** Every certificate of the PEM CERTIFICATE and PKCS7 blocks; undefined when there are none. */
export function pemCertificates(bytes: Uint8Array, source: string): Uint8Array[] | undefined {
  const certs: Uint8Array[] = [];
  let blocks = 0;
  for (const block of readPemBlocks(bytes, source, "E_CERT_INVALID")) {
    if (/^(X509 |TRUSTED )?CERTIFICATE$/.test(block.label)) certs.push(block.der);
    else if (block.label === "PKCS7" || block.label === "CMS") {
      certs.push(...bagCertificates(block.der, source));
    } else continue;
    blocks++;
  }
  return blocks > 0 ? certs : undefined;
}

/** One DER certificate, or the certificates of a DER SignedData. */
function derCertificates(der: Uint8Array, source: string): Uint8Array[] {
  try {
    parseCertificate(der, source);
    return [der];
  } catch {
    return bagCertificates(der, source);
  }
}

/** The certificates field of a ContentInfo(SignedData): a .p7b/.p7c, or a .p7s. */
function bagCertificates(der: Uint8Array, source: string): Uint8Array[] {
  try {
    const info = readContentInfo(der);
    if (info.kind !== "signed-data") throw new Error(`CMS ${info.kind}`);
    return readSignedData(info.content).certificates;
  } catch (err) {
    throw new SmimeError(
      "E_CERT_INVALID",
      `${source}: neither a certificate nor a CMS certificate bag (${reasonOf(err)})`,
      { cause: err },
    );
  }
}

/**
 * The distinct certificates of `certs`, refused (E_CERT_INVALID) when there
 * are more than the limit: inbound sets are hostile.
 */
export function distinct(certs: Uint8Array[], source: string, max: number): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  for (const der of certs) {
    seen.set(bytesToLatin1(der), der);
    if (seen.size > max) {
      throw new SmimeError(
        "E_CERT_INVALID",
        `${source}: more than ${max} distinct certificates; refused unread`,
      );
    }
  }
  return [...seen.values()];
}
