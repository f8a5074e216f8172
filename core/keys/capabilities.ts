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

import { AsnError, DerReader, parseTlv, readOid, Tag } from "../cms/der.ts";

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
  const text = new TextDecoder("latin1").decode(bytes);
  const start = text.indexOf(BEGIN);
  if (start === -1) return { rest: bytes };
  const endAt = text.indexOf(END, start);
  const nextBegin = text.indexOf("-----BEGIN ", start + BEGIN.length);
  const truncated = endAt === -1 || (nextBegin !== -1 && nextBegin < endAt);
  const stop = truncated ? (nextBegin === -1 ? text.length : nextBegin) : endAt + END.length;
  const remaining = text.slice(0, start) + text.slice(stop);
  const rest = Uint8Array.from(remaining, (c) => c.charCodeAt(0));
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
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  try {
    return { rest, capabilities: parseSmimeCapabilities(der) };
  } catch (err) {
    if (!(err instanceof AsnError)) throw err;
    return unusable(`bad DER: ${err.message}`);
  }
}
