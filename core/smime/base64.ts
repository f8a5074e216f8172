/**
 * Base64 with MIME line wrapping (RFC 2045 6.8: at most 76 characters a
 * line), which every S/MIME body part uses.
 *
 * @module
 */
import { Buffer } from "node:buffer";

const LINE = 76;
const CRLF = [13, 10];

/** Encodes `bytes` as base64 in CRLF-terminated lines of 76 characters. */
export function encodeBase64Lines(bytes: Uint8Array): Uint8Array {
  const flat = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  const lines = Math.ceil(flat.length / LINE);
  const out = new Uint8Array(flat.length + lines * 2);
  let o = 0;
  for (let i = 0; i < flat.length; i += LINE) {
    const end = Math.min(i + LINE, flat.length);
    for (let j = i; j < end; j++) out[o++] = flat.charCodeAt(j);
    out[o++] = CRLF[0]!;
    out[o++] = CRLF[1]!;
  }
  return out;
}

/**
 * Decodes base64 leniently, as mail readers do: line ends, whitespace and
 * anything outside the alphabet are skipped.
 */
export function decodeBase64(bytes: Uint8Array): Uint8Array {
  const text = new TextDecoder("latin1").decode(bytes);
  const buf = Buffer.from(text, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
