/**
 * Makes the header fields of a MIME part 7-bit (RFC 8551 3.1.2: what is
 * signed must survive a relay that has no 8BITMIME). Mailers often write
 * an attachment's name in raw UTF-8 (`filename="Grüße.pdf"`), which
 * multipart/signed would otherwise carry on the wire as it is.
 *
 * - Content-Type and Content-Disposition: each parameter value with 8-bit
 *   bytes is written again as an RFC 2231 extended value
 *   (`filename*=utf-8''Gr%C3%BC%C3%9Fe.pdf`, in continuations when long);
 *   the rest of the field stays byte for byte.
 * - Content-Description, other Content-* and X-* fields (unstructured
 *   text): the words with 8-bit bytes become RFC 2047 encoded words.
 * - Other fields (Content-ID, Content-Location, addresses...) have no 7-bit
 *   form for 8-bit text, nor do bytes that are not UTF-8 (no charset label
 *   would be sure to be right): those fields are kept as they are. Opaque
 *   signing and encryption carry them in base64 unharmed; a detached
 *   signature over them is refused where it is made (signEntity).
 *
 * @module
 */

import { isAscii } from "node:buffer";
import { bytesToLatin1, latin1ToBytes } from "../bytes.ts";
import { scanParams } from "./content_type.ts";
import { encodeEncodedWords } from "./encoded_words.ts";
import { makeHeader } from "./header_build.ts";
import type { HeaderField } from "./types.ts";

const PARAMETRIC = new Set(["content-type", "content-disposition"]);
/** RFC 2047 5: encoded words may stand in unstructured text (these fields, and X-*). */
const UNSTRUCTURED = new Set(["content-description", "subject", "comments"]);
/** Structured Content-* fields with no place for an encoded word. */
const STRUCTURED = new Set([
  "content-id",
  "content-transfer-encoding",
  "content-location",
  "content-language",
  "content-md5",
  "content-base",
  "content-duration",
]);
/** RFC 2231 7 attribute-char: ASCII but CTLs, space, "*", "'", "%" and tspecials. */
const ATTRIBUTE_CHAR = /^[!#$&+\-.0-9A-Z^_`a-z{|}~]$/;
/** RFC 2047 2's line limit, which RFC 2231 sections keep to as well. */
const LINE = 76;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The fields with 8-bit bytes written 7-bit where they have a 7-bit form,
 * the others as they are; the same array when all are ASCII already (the
 * common case costs one native scan a field).
 *
 * @param headers a MIME part's fields (for the top level, its Content-* ones)
 */
export function sevenBitFields(headers: HeaderField[]): HeaderField[] {
  if (headers.every((h) => isAscii(h.raw))) return headers;
  return headers.map((h) => {
    if (isAscii(h.raw)) return h;
    try {
      return sevenBitField(h);
    } catch (err) {
      if (err instanceof NoSevenBitForm) return h;
      throw err;
    }
  });
}

/** A field's 8-bit bytes have no 7-bit form: it is kept as it is. */
class NoSevenBitForm extends Error {}

function sevenBitField(field: HeaderField): HeaderField {
  const name = field.name.toLowerCase();
  const text = bytesToLatin1(field.raw);
  if (PARAMETRIC.has(name)) return withExtendedParams(field, text);
  if (STRUCTURED.has(name) || !(UNSTRUCTURED.has(name) || /^(content|x)-/.test(name))) {
    refuse("it has 8-bit bytes and no 7-bit form for them");
  }
  if (!isUtf8(latin1ToBytes(text))) refuse("its 8-bit bytes are not UTF-8");
  // field.value is the unfolded value decoded as UTF-8: exact once that holds.
  return makeHeader(field.name, encodeEncodedWords(field.value));
}

/** RFC 2231 4: each parameter value with 8-bit bytes as `name*=utf-8''%XX...`. */
function withExtendedParams(field: HeaderField, text: string): HeaderField {
  const colon = text.indexOf(":");
  let out = text;
  // From the last so that earlier offsets hold.
  for (const p of scanParams(text, colon + 1).reverse()) {
    const written = text.slice(p.start, p.end);
    // deno-lint-ignore no-control-regex -- ASCII is what is kept
    if (/^[\x00-\x7f]*$/.test(written)) continue;
    const name = written.slice(0, p.name.length);
    if (/\*\d/.test(p.name)) refuse(`8-bit bytes in RFC 2231 section ${name}`);
    const bytes = latin1ToBytes(p.value);
    let replacement: string;
    if (p.name.endsWith("*")) {
      // Already extended (charset'language'value) with raw bytes in it.
      const m = /^([\x21-\x7e]*'[\x21-\x7e]*')(.*)$/s.exec(p.value);
      if (m === null) {
        refuse(`8-bit bytes in ${name}, which is not an RFC 2231 value`);
      }
      // Its "%XX" are already encoded: kept.
      replacement = `${name}=${m[1]}${percentEncode(latin1ToBytes(m[2]!), true)}`;
    } else {
      if (!isUtf8(bytes)) {
        refuse(`the 8-bit bytes of parameter ${name} are not UTF-8`);
      }
      const column = p.start - (text.lastIndexOf("\n", p.start) + 1);
      replacement = extendedParam(name, percentEncode(bytes), column);
    }
    // A fold replaces the space before it: no line ends in whitespace.
    const before = replacement.startsWith("\r\n")
      ? out.slice(0, p.start).replace(/[ \t]+$/, "")
      : out.slice(0, p.start);
    out = before + replacement + out.slice(p.end);
  }
  // deno-lint-ignore no-control-regex -- see above
  if (!/^[\x00-\x7f]*$/.test(out)) refuse("8-bit bytes outside a parameter value");
  const value = out.slice(colon + 1).replace(/\r\n/g, "").replace(/^[ \t]+|[ \t]+$/g, "");
  return { name: field.name, raw: latin1ToBytes(out), value };
}

/**
 * `name*=utf-8''...`, or RFC 2231 3 sections `name*0*=utf-8''...; name*1*=...`
 * each on a line of its own, so that no line is over 76 characters.
 *
 * @param column where the parameter starts on its line
 */
function extendedParam(name: string, encoded: string, column: number): string {
  const single = `${name}*=utf-8''${encoded}`;
  if (column + single.length + 1 <= LINE) return single;
  const sections: string[] = [];
  for (let i = 0; i < encoded.length;) {
    const prefix = `${name}*${sections.length}*=${sections.length === 0 ? "utf-8''" : ""}`;
    // A folded line: a space, the section, ";".
    let end = Math.min(i + Math.max(LINE - prefix.length - 2, 12), encoded.length);
    // Never split a %XX.
    const pct = encoded.lastIndexOf("%", end - 1);
    if (end < encoded.length && pct > end - 3 && pct > i) end = pct;
    sections.push(prefix + encoded.slice(i, end));
    i = end;
  }
  // A fold before the first section too, unless it starts its line already.
  return (column > 1 ? "\r\n " : "") + sections.join(";\r\n ");
}

/** RFC 2231 4: each byte that is not an attribute-char as %XX (a "%" too, unless `isEncoded`). */
function percentEncode(bytes: Uint8Array, isEncoded = false): string {
  let out = "";
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    const isKept = ATTRIBUTE_CHAR.test(ch) || (isEncoded && ch === "%");
    out += isKept ? ch : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function refuse(why: string): never {
  throw new NoSevenBitForm(why);
}
