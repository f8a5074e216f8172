/**
 * Parses Content-Type values (RFC 2045 5.1) with RFC 2231 parameter
 * continuations and charset/language encoding.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { decoderFor } from "./encoded_words.ts";
import type { ContentType } from "./types.ts";

/** RFC 2045 tspecials plus whitespace: what ends a type or subtype token. */
const TSPECIAL = /[()<>@,;:\\"/[\]?=\s]/;
const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** RFC 2045 5.2: the default for a missing or unreadable Content-Type. */
function defaultType(): ContentType {
  return { type: "text", subtype: "plain", params: { charset: "us-ascii" } };
}

/** A small cursor over a field value that skips RFC 822 comments. */
class Cursor {
  i = 0;
  constructor(readonly s: string) {}

  skip(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === " " || c === "\t" || c === "\r" || c === "\n") this.i++;
      else if (c === "(") this.comment();
      else return;
    }
  }

  comment(): void {
    let depth = 0;
    for (; this.i < this.s.length; this.i++) {
      const c = this.s[this.i];
      if (c === "\\") this.i++;
      else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) {
        this.i++;
        return;
      }
    }
  }

  token(): string {
    const start = this.i;
    while (this.i < this.s.length && !TSPECIAL.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  /** A parameter value: quoted string or a lenient token (";" or space ends it). */
  value(): string {
    const s = this.s;
    if (s[this.i] !== '"') {
      const start = this.i;
      while (this.i < s.length && !/[;\s"(]/.test(s[this.i]!)) this.i++;
      return s.slice(start, this.i);
    }
    let out = "";
    for (this.i++; this.i < s.length; this.i++) {
      const c = s[this.i]!;
      if (c === "\\" && this.i + 1 < s.length) out += s[++this.i];
      else if (c === '"') {
        this.i++;
        break;
      } else out += c;
    }
    return out;
  }
}

/**
 * Parses a Content-Type field value.
 *
 * Type, subtype and parameter names come back lower-cased; parameter values
 * keep their case. RFC 2231 continuations (name*0, name*1*) are joined and
 * percent-encoded sections decoded with their charset; an RFC 2231 value wins
 * over a plain one of the same name; otherwise the first of a name wins.
 *
 * @param value the field value, or undefined when there is no field
 * @returns the parsed type; text/plain; charset=us-ascii when absent or
 *   unreadable (RFC 2045 5.2). Never throws.
 * @example
 * ```ts
 * parseContentType('Multipart/Mixed; Boundary="b1"');
 * // { type: "multipart", subtype: "mixed", params: { boundary: "b1" } }
 * ```
 */
export function parseContentType(value: string | undefined): ContentType {
  if (value === undefined) return defaultType();
  const c = new Cursor(value);
  c.skip();
  const type = c.token().toLowerCase();
  c.skip();
  if (type === "" || value[c.i] !== "/") return defaultType();
  c.i++;
  c.skip();
  const subtype = c.token().toLowerCase();
  if (subtype === "") return defaultType();
  const raw = scanParams(value, c.i).map((p): [string, string] => [p.name, p.value]);
  return { type, subtype, params: joinParams(raw) };
}

/** One parameter as written in a field value, before RFC 2231 joining. */
export interface ParamSpan {
  /** The name, lower-cased, with any RFC 2231 "*N" / "*" suffix. */
  name: string;
  /** The value, a quoted string's quotes and backslashes removed. */
  value: string;
  /** Where "name=value" starts in the field value. */
  start: number;
  /** Where it ends (after a quoted string's closing quote). */
  end: number;
}

/**
 * The parameters of a field value (RFC 2045 5.1 `*(";" parameter)`), as
 * written and where, from the first ";" at or after `from`: what
 * {@link parseContentType} reads, for a caller that rewrites one in place.
 * Text before the first ";" (a type, a disposition) is skipped. Never throws.
 *
 * @param value a Content-Type or Content-Disposition value (any string:
 *   a byte string of an 8-bit field works the same)
 * @param from where to start
 * @returns the parameters in order
 */
export function scanParams(value: string, from = 0): ParamSpan[] {
  const c = new Cursor(value);
  c.i = from;
  const out: ParamSpan[] = [];
  for (;;) {
    c.skip();
    if (c.i >= value.length) break;
    if (value[c.i] !== ";") {
      c.i = value.indexOf(";", c.i);
      if (c.i < 0) break;
    }
    c.i++;
    c.skip();
    const start = c.i;
    const name = c.token().toLowerCase();
    c.skip();
    if (name === "" || value[c.i] !== "=") continue;
    c.i++;
    c.skip();
    out.push({ name, value: c.value(), start, end: c.i });
  }
  return out;
}

interface Section {
  value: string;
  extended: boolean;
}

/** RFC 2231 3-4: join name*0, name*1, ... and decode name*=charset'lang'%XX. */
function joinParams(raw: [string, string][]): Record<string, string> {
  const params: Record<string, string> = {};
  const sections = new Map<string, Map<number, Section>>();
  for (const [name, value] of raw) {
    const m = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(name);
    if (m === null || (m[2] === undefined && m[3] === undefined)) {
      if (!(name in params)) params[name] = value;
      continue;
    }
    const base = m[1]!;
    const map = sections.get(base) ?? new Map<number, Section>();
    sections.set(base, map);
    const index = m[2] === undefined ? 0 : Number(m[2]);
    if (!map.has(index)) map.set(index, { value, extended: m[3] !== undefined });
  }
  for (const [base, map] of sections) {
    const chunks: Uint8Array[] = [];
    let charset = "utf-8";
    // Sections must run 0, 1, 2, ... without gaps (RFC 2231 3).
    for (let n = 0; map.has(n); n++) {
      const s = map.get(n)!;
      let text = s.value;
      if (s.extended && n === 0) {
        const parts = /^([^']*)'[^']*'(.*)$/s.exec(text);
        if (parts !== null) {
          charset = parts[1] || charset;
          text = parts[2]!;
        }
      }
      chunks.push(s.extended ? percentDecode(text) : encoder.encode(text));
    }
    if (chunks.length > 0) params[base] = (decoderFor(charset) ?? utf8).decode(concatBytes(chunks));
  }
  return params;
}

function percentDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of encoder.encode(text[i]!)) out.push(b);
    }
  }
  return new Uint8Array(out);
}
