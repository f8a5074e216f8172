import { bytesToLatin1, concatBytes, latin1ToBytes } from "../bytes.ts";
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseMimeTree } from "./mime_tree.ts";
import { toCrlf } from "./line_ends.ts";
import {
  base64Length,
  base64Pieces,
  Base64Writer,
  decodeBase64,
  decodeBase64InPlace,
  decodeBody,
  decodeBodyInPlace,
  decodeQuotedPrintable,
  encodeBase64,
  encodeQuotedPrintable,
} from "./transfer_encoding.ts";
import { bytesOf, randomBytes, textOf } from "./test_helpers.ts";

/** Every line of `encoded` is at most `max` characters and ASCII. */
function checkLines(encoded: Uint8Array, max: number): void {
  for (const b of encoded) if (b > 127) throw new Error("8-bit byte in encoded output");
  for (const line of textOf(encoded).split("\r\n")) {
    if (line.length > max) throw new Error(`line of ${line.length}: ${line}`);
    if (/[\r\n]/.test(line)) throw new Error("bare line end in encoded output");
  }
}

Deno.test("encodeBase64() writes 76-character lines and round-trips", () => {
  for (const n of [0, 1, 2, 3, 56, 57, 58, 114, 1000]) {
    const data = randomBytes(n, n + 7);
    const encoded = encodeBase64(data);
    checkLines(encoded, 76);
    strictEqual(textOf(encoded).replaceAll("\r\n", ""), btoa(bytesToLatin1(data)));
    deepStrictEqual(decodeBase64(encoded), data);
  }
});

Deno.test("decodeBase64() skips whitespace and junk, tolerates missing padding", () => {
  strictEqual(textOf(decodeBase64(bytesOf(" aGVs\r\nbG8g\n d29y bGQ"))), "hello world");
  strictEqual(textOf(decodeBase64(bytesOf("aGk=\r\n"))), "hi");
});

Deno.test("encodeQuotedPrintable() round-trips random bytes in binary mode", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const data = randomBytes(seed * 37, seed);
    const encoded = encodeQuotedPrintable(data, false);
    checkLines(encoded, 76);
    deepStrictEqual(decodeQuotedPrintable(encoded), data);
  }
});

Deno.test("encodeQuotedPrintable() round-trips random text to its CRLF form in text mode", () => {
  const alphabet = latin1ToBytes(" \t\r\n.=Fromabc\xc3\xa9\x00\xff-");
  for (let seed = 1; seed <= 40; seed++) {
    const data = randomBytes(seed * 53, seed).map((b) => alphabet[b % alphabet.length]!);
    const encoded = encodeQuotedPrintable(data);
    checkLines(encoded, 76);
    deepStrictEqual(decodeQuotedPrintable(encoded), toCrlf(data));
  }
});

Deno.test("encodeQuotedPrintable() encodes '=', trailing whitespace, leading '.' and 'From '", () => {
  const out = textOf(encodeQuotedPrintable(bytesOf("a=b \n.\nFrom me\nx\t")));
  strictEqual(out, "a=3Db=20\r\n=2E\r\n=46rom me\r\nx=09");
  const long = textOf(encodeQuotedPrintable(bytesOf(`${"é".repeat(60)}`)));
  for (const line of long.split("\r\n")) strictEqual(line.length <= 76, true);
});

Deno.test("decodeQuotedPrintable() is tolerant: lower-case hex, stray '=', padded soft breaks", () => {
  strictEqual(textOf(decodeQuotedPrintable(bytesOf("caf=c3=a9 =\r\nx"))), "café x");
  strictEqual(textOf(decodeQuotedPrintable(bytesOf("a=zz=\n b  \r\nc=  \r\nd"))), "a=zz b\r\ncd");
});

Deno.test("decodeBody() undoes base64 and quoted-printable and leaves others as is", () => {
  const b64 = parseMimeTree(bytesOf("Content-Transfer-Encoding: BASE64\n\naGk=\n"), "m");
  strictEqual(textOf(decodeBody(b64)), "hi");
  const qp = parseMimeTree(bytesOf("Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"), "m");
  strictEqual(textOf(decodeBody(qp)), "é\n");
  const plain = parseMimeTree(bytesOf("Content-Transfer-Encoding: 8bit\n\nraw=41\n"), "m");
  strictEqual(textOf(decodeBody(plain)), "raw=41\n");
});

Deno.test("Base64Writer gives encodeBase64() of the pieces joined, wherever they are cut", () => {
  for (let n = 0; n < 300; n += 7) {
    const input = randomBytes(n, n + 1);
    const expected = textOf(encodeBase64(input));
    strictEqual(base64Length(n), expected.length);
    for (let cut = 1; cut < 9; cut++) {
      const out = new Uint8Array(5 + base64Length(n));
      const writer = new Base64Writer(out, 5);
      for (let at = 0; at < n; at += cut) writer.write(input.subarray(at, at + cut));
      writer.write(new Uint8Array(0));
      strictEqual(writer.finish(), out.length);
      strictEqual(textOf(out.subarray(5)), expected);
    }
  }
});

Deno.test("encodeBase64() writes 76-character lines joined by CRLF, none at the end", () => {
  const encoded = encodeBase64(randomBytes(57 * 3, 9));
  const expected = btoa(bytesToLatin1(randomBytes(57 * 3, 9)));
  strictEqual(textOf(encoded), expected.match(/.{76}/g)!.join("\r\n"));
});

Deno.test("base64Pieces() streams encodeBase64() of the chunks joined, small and past a piece", () => {
  for (const sizes of [[0], [1, 2], [100, 7, 3000], [2_000_000, 5, 1_000_001]]) {
    const chunks = sizes.map((n, i) => randomBytes(n, i + 3));
    const total = sizes.reduce((a, b) => a + b, 0);
    const expected = textOf(encodeBase64(concatBytes(chunks)));
    for (const hint of [undefined, total]) {
      const streamed = Array.from(base64Pieces(chunks, hint), (p) => textOf(p)).join("");
      strictEqual(streamed === expected, true, `base64Pieces differs for sizes ${sizes}`);
    }
  }
});

Deno.test("Base64Writer equals btoa's lines for long and short pieces mixed, the native runs starting mid-line", () => {
  const reference = (data: Uint8Array) =>
    (btoa(bytesToLatin1(data)).match(/.{1,76}/g) ?? []).join("\r\n");
  let seed = 11;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 300; round++) {
    // Pieces of 0 to 4 bytes (the loop and the carry) and of 200 to 1,200
    // (the native encoder), so that long runs begin at every line offset.
    const pieces = Array.from(
      { length: 1 + next(6) },
      (_, i) => randomBytes(next(2) ? next(5) : 200 + next(1000), round * 7 + i),
    );
    const input = concatBytes(pieces);
    const out = new Uint8Array(3 + base64Length(input.length));
    const writer = new Base64Writer(out, 3);
    for (const piece of pieces) writer.write(piece);
    strictEqual(writer.finish(), out.length);
    strictEqual(textOf(out.subarray(3)), reference(input), `round ${round}`);
    strictEqual(textOf(encodeBase64(input)), reference(input));
  }
});

Deno.test("decodeBase64InPlace() gives decodeBase64() over its own input, for any junk and padding", () => {
  const texts = [" aGVs\r\nbG8g\n d29y bGQ", "aGk=\r\n", "", "QQ", "QUI", "=", "a!b@c#d$"];
  for (let n = 0; n < 400; n += 13) texts.push(textOf(encodeBase64(randomBytes(n, n + 3))));
  for (const text of texts) {
    const input = bytesOf(`${text}\r\n`);
    const expected = decodeBase64(input);
    const decoded = decodeBase64InPlace(input);
    deepStrictEqual(decoded.slice(), expected, JSON.stringify(text));
    strictEqual(decoded.buffer, input.buffer, "a view of the input, not a copy");
    strictEqual(decoded.byteOffset, input.byteOffset);
  }
});

Deno.test("decodeBodyInPlace() decodes base64 over the message's bytes, the rest as decodeBody()", () => {
  const message = bytesOf("Content-Transfer-Encoding: base64\n\naGVsbG8gd29y\nbGQ=\n");
  const node = parseMimeTree(message, "m");
  const decoded = decodeBodyInPlace(node);
  strictEqual(textOf(decoded), "hello world");
  strictEqual(decoded.buffer, message.buffer);
  strictEqual(textOf(message.subarray(0, 35)), "Content-Transfer-Encoding: base64\n\n");
  const qp = parseMimeTree(bytesOf("Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"), "m");
  strictEqual(textOf(decodeBodyInPlace(qp)), "é\n");
  const plain = parseMimeTree(bytesOf("Content-Transfer-Encoding: 8bit\n\nraw=41\n"), "m");
  strictEqual(textOf(decodeBodyInPlace(plain)), "raw=41\n");
});
