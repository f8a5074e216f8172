/**
 * The SMIMECapabilities a sender announced (RFC 8551 2.5.2), as the import
 * keeps them in a recipient's `.crt`: one PEM block labelled
 * `SMIME CAPABILITIES` whose body is the DER of the attribute value (the
 * SEQUENCE OF SMIMECapability). loadPemBundle skips the block; the
 * per-recipient algorithm choice reads it.
 *
 * @module
 */

import { childrenOf, DerReader, parseTlv, readOid, readSmallInt, Tag } from "../cms/der.ts";
import { Oid } from "../cms/oids.ts";
import { readPemBlocks } from "./pem.ts";

/** The PEM label of the block. */
export const CAPABILITIES_LABEL = "SMIME CAPABILITIES";

const RC2_CBC = "1.2.840.113549.3.2";

/** Short names for the capabilities people look for; others show as OIDs. */
const NAMES: Record<string, string> = {
  [Oid.aes256Cbc]: "aes256-cbc",
  [Oid.aes192Cbc]: "aes192-cbc",
  [Oid.aes128Cbc]: "aes128-cbc",
  [Oid.aes256Gcm]: "aes256-gcm",
  [Oid.aes192Gcm]: "aes192-gcm",
  [Oid.aes128Gcm]: "aes128-gcm",
  [Oid.desEde3Cbc]: "des-ede3-cbc",
  [RC2_CBC]: "rc2-cbc",
  "1.3.14.3.2.7": "des-cbc",
  [Oid.rsaesOaep]: "rsaes-oaep",
  [Oid.rsaEncryption]: "rsa",
  [Oid.dhSinglePassSha256Kdf]: "ecdh-sha256kdf",
  [Oid.dhSinglePassSha384Kdf]: "ecdh-sha384kdf",
  [Oid.dhSinglePassSha512Kdf]: "ecdh-sha512kdf",
  "1.2.840.113549.1.9.16.2.11": "encryption-key-preference",
  "1.2.840.113549.1.9.16.3.6": "cms-3des-wrap",
  "1.2.840.113549.1.9.16.3.7": "cms-rc2-wrap",
};

/** More than this many entries is not an announcement anyone makes. */
const MAX_LISTED = 64;

/**
 * The capability names in `der`, in the sender's order of preference.
 *
 * @param der a SEQUENCE OF SMIMECapability
 * @returns e.g. ["aes256-cbc", "aes128-cbc"]; empty when unreadable
 */
export function capabilityNames(der: Uint8Array): string[] {
  try {
    const list = parseTlv(der);
    if (list.tag !== Tag.sequence) return [];
    return childrenOf(list).slice(0, MAX_LISTED).map((cap) => {
      const r = new DerReader(cap);
      const id = readOid(r.next(Tag.oid, "capabilityID"));
      const param = r.done ? undefined : r.next();
      // RFC 8551 2.5.2: RC2's parameter is its key length in bits.
      if (id === RC2_CBC && param?.tag === Tag.integer) return `rc2-${readSmallInt(param)}`;
      return NAMES[id] ?? id;
    });
  } catch {
    return [];
  }
}

/**
 * True when `der` is one SEQUENCE OF SMIMECapability whose entries each
 * start with an OID: what is worth keeping.
 */
export function isCapabilityList(der: Uint8Array): boolean {
  try {
    const list = parseTlv(der);
    if (list.tag !== Tag.sequence || list.raw.length !== der.length) return false;
    for (const cap of childrenOf(list)) readOid(new DerReader(cap).next(Tag.oid, "capabilityID"));
    return true;
  } catch {
    return false;
  }
}

/** The PEM block for `der`, 64 base64 characters a line. */
export function capabilitiesPem(der: Uint8Array): string {
  return pemBlock(CAPABILITIES_LABEL, der);
}

/** Any DER as a PEM block with `label`. */
export function pemBlock(label: string, der: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < der.length; i += 0x8000) {
    binary += String.fromCharCode(...der.subarray(i, i + 0x8000));
  }
  const b64 = btoa(binary).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/**
 * The capabilities block of a `.crt` file, when it has one.
 *
 * @param bytes the file
 * @param file named in errors
 * @returns the DER of the first such block, or undefined
 * @throws {SmimeError} E_CERT_INVALID when a PEM block is damaged
 */
export function readCapabilitiesBlock(bytes: Uint8Array, file: string): Uint8Array | undefined {
  return readPemBlocks(bytes, file, "E_CERT_INVALID").find((b) => b.label === CAPABILITIES_LABEL)
    ?.der;
}
