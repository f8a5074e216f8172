/**
 * Parses RFC 5322 3.4 address lists: mailboxes, groups, display names,
 * comments, angle addresses and the cheap obsolete forms of RFC 5322 4.4
 * (routes, CFWS around "." and "@", empty list elements).
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import { decodeEncodedWords } from "./encoded_words.ts";
import { escapeControls, snippet } from "./line_ends.ts";
import type { Mailbox } from "./types.ts";

type Kind = "atom" | "quoted" | "comment" | "literal" | "special";

interface Token {
  kind: Kind;
  /** Content: unescaped for quoted strings and comments, the char for specials. */
  text: string;
  /** As written. */
  raw: string;
  /** Whitespace or a comment came before it. */
  spaced: boolean;
}

/** RFC 5322 3.2.3 specials that break atoms; "(", "\"" and "[" open tokens. */
const SPECIALS = new Set(["<", ">", "@", ",", ";", ":", ".", ")", "]"]);
const WSP = new Set([" ", "\t", "\r", "\n"]);

class ParseError extends Error {}

/** Splits an address list into tokens; CR and LF outside quotes are folding. */
function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let spaced = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (WSP.has(c)) {
      spaced = true;
      i++;
      continue;
    }
    const start = i;
    let kind: Kind;
    let text: string;
    if (c === '"' || c === "(" || c === "[") {
      [text, i] = c === "(" ? readComment(s, i) : readDelimited(s, i, c === '"' ? '"' : "]");
      kind = c === '"' ? "quoted" : c === "(" ? "comment" : "literal";
    } else if (SPECIALS.has(c)) {
      if (c === ")") throw new ParseError("unbalanced )");
      kind = "special";
      text = c;
      i++;
    } else {
      while (i < s.length && !WSP.has(s[i]!) && !SPECIALS.has(s[i]!) && !'"(['.includes(s[i]!)) i++;
      kind = "atom";
      text = s.slice(start, i);
    }
    tokens.push({ kind, text, raw: s.slice(start, i), spaced });
    // RFC 5322 3.2.2: a comment separates like whitespace.
    spaced = kind === "comment";
  }
  return tokens;
}

/** A quoted string or domain literal from `s[i]`; returns content and end. */
function readDelimited(s: string, i: number, close: string): [string, number] {
  let text = "";
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === "\\" && j + 1 < s.length) text += s[++j];
    else if (c === close) return [text, j + 1];
    else text += c;
  }
  throw new ParseError(close === '"' ? "unterminated quoted string" : "unterminated [");
}

/** A comment, nested comments included (RFC 5322 3.2.2). */
function readComment(s: string, i: number): [string, number] {
  let depth = 0;
  let text = "";
  for (let j = i; j < s.length; j++) {
    const c = s[j]!;
    if (c === "\\" && j + 1 < s.length) text += s[++j];
    else if (c === "(") {
      if (depth++ > 0) text += c;
    } else if (c === ")") {
      if (--depth === 0) return [text, j + 1];
      text += c;
    } else text += c;
  }
  throw new ParseError("unterminated comment");
}

const isSpecial = (t: Token | undefined, chars: string): boolean =>
  t !== undefined && t.kind === "special" && chars.includes(t.text);

/** The address text of addr-spec tokens, comments dropped, domain lower-cased. */
function addressOf(tokens: Token[]): string {
  let words = tokens.filter((t) => t.kind !== "comment");
  // RFC 5322 4.4 obs-route: "<@relay1,@relay2:bob@example.com>".
  const routeEnd = words.findLastIndex((t) => isSpecial(t, ":"));
  if (routeEnd >= 0 && isSpecial(words[0], "@,")) words = words.slice(routeEnd + 1);
  const at = words.findLastIndex((t) => isSpecial(t, "@"));
  const join = (part: Token[]) => {
    let out = "";
    part.forEach((t, k) => {
      // CFWS is allowed around "." and "@" (obs-local-part); elsewhere a space
      // means two words, which is kept so the address is refused later.
      const prev = part[k - 1];
      if (t.spaced && prev && t.kind !== "special" && prev.kind !== "special") out += " ";
      out += t.raw;
    });
    return out;
  };
  if (at < 0) return join(words);
  return `${join(words.slice(0, at))}@${join(words.slice(at + 1)).toLowerCase()}`;
}

/** A display name: words joined by single spaces, encoded words decoded. */
function phraseOf(tokens: Token[]): string | undefined {
  let out = "";
  for (const t of tokens) {
    if (t.kind === "comment") continue;
    if (t.spaced && out !== "") out += " ";
    // Line ends inside a quoted display name are folding (RFC 5322 3.2.4).
    out += t.kind === "quoted" ? t.text.replace(/\r\n|\r|\n/g, "") : t.text;
  }
  const name = decodeEncodedWords(out).trim();
  return name === "" ? undefined : name;
}

/** Recursive-descent reader over the tokens of one list. */
class Reader {
  i = 0;
  readonly out: Mailbox[] = [];
  constructor(readonly tokens: Token[]) {}

  list(): Mailbox[] {
    const t = this.tokens;
    while (this.i < t.length) {
      if (isSpecial(t[this.i], ",;")) {
        this.i++;
        continue;
      }
      let j = this.i;
      while (j < t.length && !isSpecial(t[j], ",;<:")) j++;
      if (isSpecial(t[j], ":")) this.group(j);
      else this.mailbox();
    }
    return this.out;
  }

  /** RFC 5322 3.4 group: display-name ":" [mailbox-list] ";". */
  group(colon: number): void {
    const t = this.tokens;
    this.i = colon + 1;
    while (this.i < t.length) {
      if (isSpecial(t[this.i], ";")) {
        this.i++;
        return;
      }
      if (isSpecial(t[this.i], ",")) this.i++;
      else this.mailbox();
    }
  }

  /** One mailbox; ";" ends it too (a group, or the common "a@x; b@y" form). */
  mailbox(): void {
    const t = this.tokens;
    const stops = ",;";
    const phrase: Token[] = [];
    while (this.i < t.length && !isSpecial(t[this.i], stops + "<")) phrase.push(t[this.i++]!);
    if (!isSpecial(t[this.i], "<")) {
      if (phrase.every((p) => p.kind === "comment")) return;
      const comment = phrase.findLast((p) => p.kind === "comment");
      const name = comment ? decodeEncodedWords(comment.text).trim() : "";
      this.push(addressOf(phrase), name === "" ? undefined : name);
      return;
    }
    const open = ++this.i;
    while (this.i < t.length && !isSpecial(t[this.i], ">")) this.i++;
    if (this.i >= t.length) throw new ParseError("unterminated <");
    const address = addressOf(t.slice(open, this.i++));
    for (; this.i < t.length && !isSpecial(t[this.i], stops); this.i++) {
      // Missing commas must not silently drop a recipient.
      if (t[this.i]!.kind !== "comment") throw new ParseError(`unexpected "${t[this.i]!.raw}"`);
    }
    this.push(address, phraseOf(phrase));
  }

  push(address: string, name: string | undefined): void {
    this.out.push(name === undefined ? { address } : { address, name });
  }
}

/**
 * Parses an address list (To, Cc, Bcc, From, Reply-To) into mailboxes.
 *
 * Groups are flattened ("undisclosed-recipients:;" gives none). Display names
 * may be quoted, hold commas, and carry encoded words; the old
 * "addr (Name)" form takes its name from the comment. Addresses come back as
 * written (domain lower-cased) and are not validated here: see envelopeOf.
 *
 * @param value the unfolded field value; CR/LF outside quotes count as folding
 * @param source file name for error messages
 * @returns the mailboxes, in order
 * @throws {SmimeError} E_MESSAGE for an unterminated quoted string, comment,
 *   domain literal or angle address, or text after an angle address that
 *   is not separated by a comma
 * @example
 * ```ts
 * parseAddressList('"Smith, Bob" <bob@Example.COM>, team: carol@example.net;');
 * // [{ address: "bob@example.com", name: "Smith, Bob" }, { address: "carol@example.net" }]
 * ```
 */
export function parseAddressList(value: string, source?: string): Mailbox[] {
  try {
    return new Reader(tokenize(value)).list();
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const where = escapeControls(snippet(value));
    throw new SmimeError(
      "E_MESSAGE",
      `${source ?? "<address list>"}: cannot parse address list: ${err.message} in "${where}"`,
    );
  }
}
