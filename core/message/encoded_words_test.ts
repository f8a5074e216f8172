import { strictEqual } from "node:assert/strict";
import { decodeEncodedWords, encodeEncodedWords } from "./encoded_words.ts";

Deno.test("decodeEncodedWords() decodes B encoding", () => {
  strictEqual(decodeEncodedWords("=?UTF-8?B?R3LDvMOfZQ==?="), "Grüße");
  // Missing padding is tolerated.
  strictEqual(decodeEncodedWords("=?utf-8?b?R3LDvMOfZQ?="), "Grüße");
});

Deno.test("decodeEncodedWords() decodes Q encoding with underscores as spaces", () => {
  strictEqual(decodeEncodedWords("=?utf-8?Q?Caf=C3=A9_au_lait?="), "Café au lait");
  strictEqual(decodeEncodedWords("=?utf-8?q?caf=c3=a9?="), "café");
});

Deno.test("decodeEncodedWords() decodes iso-8859-1, iso-8859-15 and windows-1252", () => {
  strictEqual(decodeEncodedWords("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "André Pirard");
  strictEqual(decodeEncodedWords("=?iso-8859-15?Q?=A4?="), "€");
  strictEqual(decodeEncodedWords("=?windows-1252?Q?=80?="), "€");
  strictEqual(decodeEncodedWords("=?iso-8859-2?B?6Q==?="), "é");
});

Deno.test("decodeEncodedWords() joins adjacent words, dropping the whitespace between", () => {
  strictEqual(decodeEncodedWords("=?utf-8?Q?a?= =?utf-8?Q?b?=  \r\n =?utf-8?Q?c?="), "abc");
  strictEqual(decodeEncodedWords("=?utf-8?Q?a?= x =?utf-8?Q?b?="), "a x b");
  // A character split across two words (RFC 2047 5 forbids it; it happens).
  strictEqual(decodeEncodedWords("=?utf-8?Q?=C3?= =?utf-8?Q?=A9?="), "é");
  strictEqual(decodeEncodedWords("=?iso-8859-1?Q?=E9?= =?utf-8?Q?=C3=A9?="), "éé");
});

Deno.test("decodeEncodedWords() leaves broken words as written and never throws", () => {
  const broken = [
    "=?x-unknown-charset?Q?abc?=",
    "=?utf-8?B?###?=",
    "=?utf-8?Q?=ZZ?=",
    "=?utf-8?X?abc?=",
    "=?utf-8?Q?unterminated",
    "=??Q?abc?=",
  ];
  for (const b of broken) strictEqual(decodeEncodedWords(b), b);
  strictEqual(decodeEncodedWords("=?utf-8?B?###?= =?utf-8?Q?ok?="), "=?utf-8?B?###?= ok");
});

Deno.test("decodeEncodedWords() ignores an RFC 2231 language suffix and keeps plain text", () => {
  strictEqual(decodeEncodedWords("=?utf-8*en?Q?hi?="), "hi");
  strictEqual(decodeEncodedWords("plain text, no words"), "plain text, no words");
  strictEqual(decodeEncodedWords("pre =?utf-8?Q?x?= post"), "pre x post");
});

Deno.test("encodeEncodedWords() keeps ASCII text and encodes only the words that are not", () => {
  strictEqual(encodeEncodedWords("plain text"), "plain text");
  strictEqual(encodeEncodedWords("Rechnung für März"), "Rechnung =?utf-8?B?ZsO8ciBNw6Ryeg==?=");
  strictEqual(decodeEncodedWords(encodeEncodedWords("Grüße aus München")), "Grüße aus München");
});

Deno.test("encodeEncodedWords() splits long text between characters into words of at most 75", () => {
  const text = "Ünïcödé ".repeat(20) + "€😀 end";
  const encoded = encodeEncodedWords(text);
  strictEqual(decodeEncodedWords(encoded), text);
  for (const word of encoded.split(" ")) strictEqual(word.length <= 75, true, word);
  strictEqual(/^[\x21-\x7e ]*$/.test(encoded), true);
});
