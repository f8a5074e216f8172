/**
 * The SMIMECapabilities a recipient announced (RFC 8551 2.5.2), as `keys
 * import` records them in `ADDRESS.crt`: after the certificates, one PEM
 * block `-----BEGIN SMIME CAPABILITIES-----` holding the DER of the
 * attribute value, `SEQUENCE OF SMIMECapability { capabilityID OID,
 * parameters ANY OPTIONAL }`, most preferred first.
 *
 * The file is read from the key folder, where anything may have put it, so
 * the block is bounded and a damaged one is reported and ignored: a
 * recipient without usable capabilities gets the algorithms every client
 * opens.
 *
 * @module
 */

import { bytesToLatin1, latin1ToBytes } from "../bytes.ts";
import {
  AsnError,
  childrenOf,
  DerReader,
  parseTlv,
  readOid,
  readSmallInt,
  Tag,
} from "../cms/der.ts";
import { Oid } from "../cms/oids.ts";

/** One announced capability: an algorithm OID and its DER parameters, if any. */
export interface SmimeCapability {
  /** Dotted OID, e.g. "2.16.840.1.101.3.4.1.46" for aes256-GCM. */
  readonly oid: string;
  /** The DER of the parameters field, when present. */
  readonly parameters?: Uint8Array;
}

/** The PEM label of the block `keys import` writes. */
export const CAPABILITIES_LABEL = "SMIME CAPABILITIES";

/** Largest block accepted (DER bytes); real clients announce well under 1 KB. */
export const MAX_CAPABILITIES_BYTES = 16 * 1024;

/** Most capabilities accepted in one block. */
export const MAX_CAPABILITIES = 128;

/**
 * Parses the DER of an SMIMECapabilities attribute value.
 *
 * @param der SEQUENCE OF SMIMECapability
 * @returns the capabilities in the order given (preference order)
 * @throws {AsnError} when the DER is damaged, too large or not that shape
 */
export function parseSmimeCapabilities(der: Uint8Array): SmimeCapability[] {
  if (der.length > MAX_CAPABILITIES_BYTES) {
    throw new AsnError(`over ${MAX_CAPABILITIES_BYTES} bytes`);
  }
  const outer = parseTlv(der);
  if (outer.tag !== Tag.sequence) throw new AsnError("not a SEQUENCE OF SMIMECapability");
  const reader = new DerReader(outer);
  const out: SmimeCapability[] = [];
  while (!reader.done) {
    if (out.length === MAX_CAPABILITIES) {
      throw new AsnError(`more than ${MAX_CAPABILITIES} capabilities`);
    }
    const item = reader.enter(Tag.sequence, "SMIMECapability");
    const oid = readOid(item.next(Tag.oid, "capabilityID"));
    const parameters = item.done ? undefined : item.next().raw;
    if (!item.done) throw new AsnError(`capability ${oid} has extra fields`);
    out.push(parameters ? { oid, parameters } : { oid });
  }
  return out;
}

/** What {@link splitCapabilities} found in a certificate file. */
export interface CapabilitySplit {
  /** The file without the capabilities block: what the certificate reader gets. */
  readonly rest: Uint8Array;
  /** The capabilities, when a readable block was there. */
  readonly capabilities?: SmimeCapability[];
  /** The block's DER, when it was readable. */
  readonly der?: Uint8Array;
  /** Why a block that was there is ignored; the caller names the file. */
  readonly warning?: string;
}

const BEGIN = `-----BEGIN ${CAPABILITIES_LABEL}-----`;
const END = `-----END ${CAPABILITIES_LABEL}-----`;

/**
 * Takes the SMIMECapabilities block out of a certificate file's bytes.
 * Absent: the bytes unchanged and no capabilities. Damaged (truncated,
 * bad base64, bad DER, several blocks): no capabilities and a warning, and
 * the block still removed so that the certificates stay readable.
 *
 * @param bytes the `.crt` file's contents (PEM; DER files have no block)
 */
export function splitCapabilities(bytes: Uint8Array): CapabilitySplit {
  if (bytes[0] === 0x30) return { rest: bytes }; // a DER certificate file
  const text = bytesToLatin1(bytes);
  const start = text.indexOf(BEGIN);
  if (start === -1) return { rest: bytes };
  const endAt = text.indexOf(END, start);
  const nextBegin = text.indexOf("-----BEGIN ", start + BEGIN.length);
  const truncated = endAt === -1 || (nextBegin !== -1 && nextBegin < endAt);
  const stop = truncated ? (nextBegin === -1 ? text.length : nextBegin) : endAt + END.length;
  const remaining = text.slice(0, start) + text.slice(stop);
  const rest = latin1ToBytes(remaining);
  const unusable = (why: string): CapabilitySplit => ({
    rest,
    warning: `recorded SMIMECapabilities ignored (${why}); default algorithms used`,
  });
  if (truncated) return unusable("block is truncated");
  if (remaining.includes(BEGIN)) return unusable("more than one block");
  const body = text.slice(start + BEGIN.length, endAt).replace(/\s+/g, "");
  if (body === "" || !/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    return unusable("block is not valid base64");
  }
  if (body.length > Math.ceil(MAX_CAPABILITIES_BYTES / 3) * 4) {
    return unusable(`block over ${MAX_CAPABILITIES_BYTES} bytes`);
  }
  const der = latin1ToBytes(atob(body));
  try {
    return { rest, capabilities: parseSmimeCapabilities(der), der };
  } catch (err) {
    if (!(err instanceof AsnError)) throw err;
    return unusable(`bad DER: ${err.message}`);
  }
}

// ------------------------------------------------ names, and the block written

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

/** True when `der` is a readable, bounded SEQUENCE OF SMIMECapability: worth keeping. */
export function isCapabilityList(der: Uint8Array): boolean {
  try {
    parseSmimeCapabilities(der);
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
  const b64 = btoa(bytesToLatin1(der)).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/**
 * The DER of a `.crt` file's capabilities block, when it has a readable one
 * (see {@link splitCapabilities}).
 */
export function readCapabilitiesBlock(bytes: Uint8Array): Uint8Array | undefined {
  return splitCapabilities(bytes).der;
}
