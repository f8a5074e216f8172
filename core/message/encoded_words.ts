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

/**
 * UTF-8 bytes an encoded word takes: 40 base64 characters, 52 with
 * "=?utf-8?B?" and "?=", so that even after "Content-Description: " a line
 * stays within RFC 2047 2's 76 characters.
 */
const WORD_BYTES = 30;
const utf8 = new TextEncoder();

/**
 * Encodes the words of unstructured header text that are not ASCII as RFC
 * 2047 encoded words (utf-8, B), the reverse of {@link decodeEncodedWords}.
 *
 * A run of such words becomes one or more encoded words of at most 52
 * characters, split between characters and separated by a space, so that
 * the field can be folded there (RFC 2047 2, 5(1)); the spaces inside the
 * run are encoded with it. ASCII words stay as they are. Never throws.
 *
 * @param text unfolded header text, e.g. a Content-Description value
 * @returns ASCII text that decodes to `text`
 * @example
 * ```ts
 * encodeEncodedWords("Rechnung für März");
 * // "Rechnung =?utf-8?B?ZsO8ciBNw6Ryeg==?="
 * ```
 */
export function encodeEncodedWords(text: string): string {
  // deno-lint-ignore no-control-regex -- ASCII is what stays as it is
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  // Words and the whitespace after each: a run starts at a non-ASCII word
  // and takes the words after it while they are not ASCII too.
  const tokens = text.match(/[^ \t]+|[ \t]+/g) ?? [];
  // deno-lint-ignore no-control-regex -- see above
  const isPlain = (t: string) => /^[\x00-\x7f]*$/.test(t);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (isPlain(token)) {
      out.push(token);
      continue;
    }
    let run = token;
    while (i + 2 < tokens.length && !isPlain(tokens[i + 2]!)) {
      run += tokens[i + 1]! + tokens[i + 2]!;
      i += 2;
    }
    out.push(encodeRun(run));
  }
  return out.join("");
}

/** Encoded words for `text`, split between characters, joined by a space. */
function encodeRun(text: string): string {
  const words: string[] = [];
  let chunk = "";
  let size = 0;
  for (const ch of text) {
    const n = utf8.encode(ch).length;
    if (size + n > WORD_BYTES && chunk !== "") {
      words.push(encodeWord(chunk));
      chunk = "";
      size = 0;
    }
    chunk += ch;
    size += n;
  }
  if (chunk !== "") words.push(encodeWord(chunk));
  return words.join(" ");
}

function encodeWord(text: string): string {
  return `=?utf-8?B?${btoa(String.fromCharCode(...utf8.encode(text)))}?=`;
}
