/**
 * Distinguished names as RFC 4514 text, for messages and `smimepost show`.
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import { childrenOf, DerReader, readOid, Tag, type Tlv, toHex } from "./der.ts";

/** Short names RFC 4514 3 lists, plus registered ones common in S/MIME certificates. */
const shortNames: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.42": "GN",
  "2.5.4.97": "organizationIdentifier",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "emailAddress",
};

/** Decodes the directory string types; undefined for anything else. */
function decodeString(value: Tlv): string | undefined {
  const v = value.value;
  switch (value.tag) {
    case Tag.utf8String:
    case Tag.printableString:
    case Tag.ia5String:
      return new TextDecoder().decode(v);
    case Tag.teletexString:
      return bytesToLatin1(v); // in practice Latin-1
    case Tag.bmpString: {
      let s = "";
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode(v[i]! * 256 + v[i + 1]!);
      return s;
    }
    case Tag.universalString: {
      let s = "";
      for (let i = 0; i + 3 < v.length; i += 4) {
        const cp = ((v[i]! * 256 + v[i + 1]!) * 256 + v[i + 2]!) * 256 + v[i + 3]!;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd";
      }
      return s;
    }
    default:
      return undefined;
  }
}

/** Escapes an attribute value as RFC 4514 2.4 requires. */
function escapeValue(s: string): string {
  let out = s.replace(/["+,;<>\\]/g, (c) => "\\" + c).replace(/\0/g, "\\00");
  if (out.startsWith(" ") || out.startsWith("#")) out = "\\" + out;
  if (out.endsWith(" ") && out.length > 1) out = out.slice(0, -1) + "\\ ";
  return out;
}

/**
 * RFC 4514 text of an encoded Name: RDNs in reverse order joined by ",",
 * multi-valued RDNs joined by "+". Unknown types appear as dotted OIDs,
 * non-string values as "#" and the hex of their encoding.
 */
export function formatName(name: Tlv): string {
  const rdns: string[] = [];
  for (const rdn of childrenOf(name)) {
    const parts: string[] = [];
    for (const atv of childrenOf(rdn)) {
      const r = new DerReader(atv);
      const type = readOid(r.next(Tag.oid, "attribute type"));
      const value = r.next();
      const key = shortNames[type];
      const text = key ? decodeString(value) : undefined;
      parts.push(
        `${key ?? type}=${text === undefined ? "#" + toHex(value.raw) : escapeValue(text)}`,
      );
    }
    rdns.push(parts.join("+"));
  }
  return rdns.reverse().join(",");
}

/** Tags of the ASN.1 character string types (X.680 41). */
const STRING_TAGS = new Set([
  0x0c, // UTF8String
  0x12, // NumericString
  0x13, // PrintableString
  0x14, // TeletexString
  0x15, // VideotexString
  0x16, // IA5String
  0x19, // GraphicString
  0x1a, // VisibleString
  0x1b, // GeneralString
  0x1c, // UniversalString
  0x1d, // CHARACTER STRING
  0x1e, // BMPString
]);

/** Case-folded value with inner runs of spaces collapsed, for comparing names. */
function prepared(value: Tlv): string {
  const text = decodeString(value) ?? bytesToLatin1(value.value);
  return text.trim().replace(/ +/g, " ").toLowerCase();
}

/**
 * `a.localeCompare(b) === 0` (pkijs compares names so), without building the
 * collator when the answer is plain: creating it loads ICU's collation data,
 * about 10 ms of a one-message `send`. Identical text collates
 * equal under any locale. Printable-ASCII text whose letters and digits
 * differ collates unequal under any locale: no collation ignores a letter
 * or digit, or makes two different ones equal, and punctuation and spaces
 * (ignored in a locale that ignores punctuation, th) are no letters.
 * Anything else (text beyond ASCII, a difference in punctuation or spaces
 * alone) is left to the collator.
 */
export function sameText(a: string, b: string): boolean {
  if (a === b) return true;
  if (PRINTABLE_ASCII.test(a) && PRINTABLE_ASCII.test(b) && alphanumerics(a) !== alphanumerics(b)) {
    return false;
  }
  return a.localeCompare(b) === 0;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const alphanumerics = (text: string) => text.replace(/[^a-z0-9]/gi, "");

function attributes(name: Tlv): { type: string; value: Tlv }[] {
  const out: { type: string; value: Tlv }[] = [];
  for (const rdn of childrenOf(name)) {
    for (const atv of childrenOf(rdn)) {
      const r = new DerReader(atv);
      out.push({ type: readOid(r.next(Tag.oid, "attribute type")), value: r.next() });
    }
  }
  return out;
}

/**
 * True when two encoded Names are the same name for chain building
 * (RFC 5280 7.1, simplified as pkijs does it): the attributes in order
 * match by type; string values, whatever their string type, match
 * case-insensitively with runs of spaces collapsed; other values byte for
 * byte.
 *
 * @throws AsnError when either is not a Name
 */
export function namesMatch(a: Tlv, b: Tlv): boolean {
  if (a.raw.length === b.raw.length && a.raw.every((x, i) => x === b.raw[i])) return true;
  const left = attributes(a);
  const right = attributes(b);
  if (left.length !== right.length) return false;
  return left.every((x, i) => {
    const y = right[i]!;
    if (x.type !== y.type) return false;
    const xs = STRING_TAGS.has(x.value.tag);
    if (xs !== STRING_TAGS.has(y.value.tag)) return false;
    if (xs) return sameText(prepared(x.value), prepared(y.value));
    return x.value.raw.length === y.value.raw.length &&
      x.value.raw.every((v, j) => v === y.value.raw[j]);
  });
}

/**
 * One string per RDN of an encoded Name, equal for RDNs that
 * {@link namesMatch} treats as equal: each attribute's type and prepared
 * value (string types) or hex encoding (others), sorted within the RDN.
 *
 * @throws AsnError when `name` is not a Name
 */
export function rdnKeys(name: Tlv): string[] {
  return childrenOf(name).map((rdn) =>
    childrenOf(rdn).map((atv) => {
      const r = new DerReader(atv);
      const type = readOid(r.next(Tag.oid, "attribute type"));
      const value = r.next();
      const text = STRING_TAGS.has(value.tag) ? "s:" + prepared(value) : "b:" + toHex(value.raw);
      return `${type}=${JSON.stringify(text)}`;
    }).sort().join("+")
  );
}

/** A key for indexing names: equal for names {@link namesMatch} treats as equal. */
export function nameKey(name: Tlv): string {
  return rdnKeys(name).join(",");
}
