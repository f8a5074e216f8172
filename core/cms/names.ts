/**
 * Distinguished names as RFC 4514 text, for messages and `smimepost show`.
 *
 * @module
 */

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
      return String.fromCharCode(...v); // in practice Latin-1
    case Tag.bmpString: {
      let s = "";
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode(v[i]! * 256 + v[i + 1]!);
      return s;
    }
    case Tag.universalString: {
      let s = "";
      for (let i = 0; i + 3 < v.length; i += 4) {
        s += String.fromCodePoint(((v[i]! * 256 + v[i + 1]!) * 256 + v[i + 2]!) * 256 + v[i + 3]!);
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
