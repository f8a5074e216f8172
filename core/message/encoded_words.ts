/**
 * Decodes RFC 2047 encoded words ("=?charset?B|Q?text?=") in header text.
 *
 * @module
 */

import { concatBytes, latin1ToBytes } from "../bytes.ts";

/** charset, optional RFC 2231 language suffix, encoding, encoded text (RFC 2047 2). */
const WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;
/** RFC 2047 6.2: whitespace between two encoded words is not displayed. */
const ONLY_SPACE = /^[ \t\r\n]*$/;

const decoders = new Map<string, TextDecoder | null>();

/** A decoder for a charset label, or null when TextDecoder has none. */
export function decoderFor(charset: string): TextDecoder | null {
  const label = charset.toLowerCase();
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    decoders.set(label, decoder);
  }
  return decoder;
}

/**
 * Decodes the RFC 2047 encoded words in `text`.
 *
 * B and Q encodings; any charset TextDecoder knows (utf-8, iso-8859-1..16,
 * windows-125x, koi8-r, ...). Adjacent encoded words are joined without the
 * whitespace between them, and their bytes are joined before decoding, so a
 * character split across two words survives. A word with an unknown charset
 * or a broken payload stays as written. Never throws.
 *
 * @param text header text, e.g. a Subject value or a display name
 * @returns the text with encoded words decoded
 * @example
 * ```ts
 * decodeEncodedWords("=?utf-8?Q?Caf=C3=A9?= =?iso-8859-1?B?6Q==?=");
 * // "Caféé"
 * ```
 */
export function decodeEncodedWords(text: string): string {
  if (!text.includes("=?")) return text;
  let out = "";
  let last = 0;
  let pending: { charset: string; decoder: TextDecoder; chunks: Uint8Array[] } | null = null;
  const flush = () => {
    if (pending !== null) out += pending.decoder.decode(concatBytes(pending.chunks));
    pending = null;
  };
  for (const m of text.matchAll(WORD)) {
    const gap = text.slice(last, m.index);
    last = m.index + m[0].length;
    const charset = m[1]!.toLowerCase();
    const decoder = decoderFor(charset);
    const bytes = decoder === null ? null : decodePayload(m[2]!, m[3]!);
    if (decoder === null || bytes === null) {
      flush();
      out += gap + m[0];
      continue;
    }
    const p = pending as { charset: string; chunks: Uint8Array[] } | null;
    if (p !== null && ONLY_SPACE.test(gap)) {
      if (p.charset === charset) {
        p.chunks.push(bytes);
        continue;
      }
      flush();
    } else {
      flush();
      out += gap;
    }
    pending = { charset, decoder, chunks: [bytes] };
  }
  flush();
  return out + text.slice(last);
}

/** The bytes of a B or Q payload, or null when it is broken. */
function decodePayload(encoding: string, payload: string): Uint8Array | null {
  if (encoding === "B" || encoding === "b") {
    try {
      return latin1ToBytes(atob(payload));
    } catch {
      return null;
    }
  }
  return decodeQ(payload);
}

/** RFC 2047 4.2: "_" is space, "=XX" a byte, other printable ASCII itself. */
function decodeQ(payload: string): Uint8Array | null {
  const out = new Uint8Array(payload.length);
  let o = 0;
  for (let i = 0; i < payload.length; i++) {
    const c = payload.charCodeAt(i);
    if (c > 126 || c < 33) return null;
    if (c === 0x5f) {
      out[o++] = 0x20;
    } else if (c === 0x3d) {
      const hex = payload.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      out[o++] = parseInt(hex, 16);
      i += 2;
    } else {
      out[o++] = c;
    }
  }
  return out.subarray(0, o);
}
