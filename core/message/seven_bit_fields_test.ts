import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { latin1ToBytes } from "../bytes.ts";
import { parseContentType } from "./content_type.ts";
import { decodeEncodedWords } from "./encoded_words.ts";
import { parseHead } from "./parse_message.ts";
import { sevenBitFields } from "./seven_bit_fields.ts";
import { bytesOf, textOf } from "./test_helpers.ts";
import type { HeaderField } from "./types.ts";

/** The fields of a header block given as bytes. */
const fieldsOf = (bytes: Uint8Array): HeaderField[] =>
  parseHead(bytes, 0, bytes.length, false, "").headers;
const fields = (text: string) => fieldsOf(bytesOf(`${text}\r\n\r\n`));
const seven = (text: string) => sevenBitFields(fields(text));
/** Parameters the way a reader sees them: as a Content-Type's (Disposition given a type). */
const paramsOf = (field: HeaderField) => {
  const value = field.value;
  return parseContentType(/^[^;]*\//.test(value) ? value : `x/${value}`).params;
};
const isSevenBit = (f: HeaderField) => f.raw.every((b) => b < 128);

Deno.test("sevenBitFields() returns the same array when every field is ASCII", () => {
  const ascii = fields('Content-Type: text/plain;\r\n name="a.txt"\r\nContent-Description: hi');
  strictEqual(sevenBitFields(ascii), ascii);
});

Deno.test("sevenBitFields() writes an 8-bit parameter as RFC 2231 utf-8 and keeps the rest byte for byte", () => {
  const [type, disposition] = seven(
    'Content-Type: application/pdf; name="Grüße.pdf"\r\n' +
      'Content-Disposition: attachment;\r\n\tfilename="Grüße.pdf"; size=12 (comment)',
  );
  strictEqual(textOf(type!.raw), "Content-Type: application/pdf; name*=utf-8''Gr%C3%BC%C3%9Fe.pdf");
  strictEqual(
    textOf(disposition!.raw),
    "Content-Disposition: attachment;\r\n\tfilename*=utf-8''Gr%C3%BC%C3%9Fe.pdf; size=12 (comment)",
  );
  deepStrictEqual(paramsOf(type!), { name: "Grüße.pdf" });
  deepStrictEqual(paramsOf(disposition!), { filename: "Grüße.pdf", size: "12" });
});

Deno.test("sevenBitFields() splits a long 8-bit parameter into RFC 2231 sections on folded lines", () => {
  const name = "Jahresabschluss Prüfungsbericht Größenklasse — Anhang ".repeat(4) + "€.pdf";
  const [field] = seven(`Content-Disposition: attachment; filename="${name}"`);
  strictEqual(isSevenBit(field!), true);
  for (const line of textOf(field!.raw).split("\r\n")) strictEqual(line.length <= 78, true, line);
  match(textOf(field!.raw), /^Content-Disposition: attachment;\r\n filename\*0\*=utf-8''Jahr/);
  strictEqual(/[ \t]\r\n/.test(textOf(field!.raw)), false);
  strictEqual(paramsOf(field!).filename, name);
});

Deno.test("sevenBitFields() percent-encodes raw bytes in an extended parameter", () => {
  const [field] = seven("Content-Type: text/plain; name*=utf-8'de'Grüße%20a.txt");
  strictEqual(
    textOf(field!.raw),
    "Content-Type: text/plain; name*=utf-8'de'Gr%C3%BC%C3%9Fe%20a.txt",
  );
  strictEqual(paramsOf(field!).name, "Grüße a.txt");
});

Deno.test("sevenBitFields() writes 8-bit unstructured fields as RFC 2047 encoded words", () => {
  const [field] = seven("Content-Description: Rechnung für\r\n März");
  strictEqual(isSevenBit(field!), true);
  strictEqual(decodeEncodedWords(field!.value), "Rechnung für März");
  const long = "Größenklasse ".repeat(12).trim();
  const [folded] = seven(`X-Note: ${long}`);
  for (const line of textOf(folded!.raw).split("\r\n")) strictEqual(line.length <= 78, true, line);
  strictEqual(decodeEncodedWords(folded!.value), long);
});

Deno.test("sevenBitFields() keeps as they are the 8-bit fields it can't write 7-bit", () => {
  const kept = [
    // Latin-1, not UTF-8: no charset label would be sure to be right.
    fieldsOf(latin1ToBytes('Content-Type: text/plain; name="Gr\xfc\xdfe.txt"\r\n\r\n')),
    fieldsOf(latin1ToBytes("Content-Description: f\xfcr\r\n\r\n")),
    fields("Content-ID: <grüße@example.com>"),
    fields('Content-Type: text/plain; name*1="Grüße"'),
    fields("Content-Type: tëxt/plain"),
  ];
  // Opaque signing and encryption carry them in base64; a detached signature refuses them.
  for (const headers of kept) strictEqual(sevenBitFields(headers)[0], headers[0]);
});
