import { bytesToLatin1, concatBytes, latin1ToBytes } from "../bytes.ts";
import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
import { canonicalEntity } from "./canonical.ts";
import { toCrlf } from "./line_ends.ts";
import { parseMimeTree } from "./mime_tree.ts";
import { parseMessage } from "./parse_message.ts";
import { decodeBody } from "./transfer_encoding.ts";
import { decodeEncodedWords } from "./encoded_words.ts";
import { assertThrowsSmimeError } from "../../tests/support/assert.ts";
import { bytesOf, deepMessage, mixLineEnds, randomBytes, textOf } from "./test_helpers.ts";
import type { MimeNode } from "./types.ts";

/** The canonical entity; every test also checks that its source streams the same bytes. */
const canon = (text: string | Uint8Array) => {
  const result = canonicalEntity(
    parseMessage(typeof text === "string" ? bytesOf(text) : text, "m.eml"),
  );
  const streamed = concatBytes(Array.from(result.source.pieces(), (p) => p.slice()));
  strictEqual(result.source.size, result.entity.length);
  deepStrictEqual(streamed, result.entity);
  return result;
};
const entityText = (text: string) => textOf(canon(text).entity);
/** The entity parsed back, as the S/MIME layer's receiver would. */
const reparse = (entity: Uint8Array): MimeNode => parseMimeTree(entity, "entity");

const MULTIPART = [
  "From: alice@example.com",
  "To: bob@example.com",
  "Bcc: dave@example.org",
  "Subject: report",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="b1"',
  "",
  "This is a preamble.",
  "--b1",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: 8bit",
  "",
  "Grüße, Bob. = not an escape   ",
  ".leading dot",
  "From here on",
  "--b1",
  "Content-Type: text/plain; charset=us-ascii",
  "",
  "already 7-bit",
  "",
  "--b1--",
  "epilogue",
  "",
].join("\n");

Deno.test("canonicalEntity() gives identical entities for LF, CRLF and mixed line ends", () => {
  const lf = canon(MULTIPART);
  const crlf = canon(MULTIPART.replaceAll("\n", "\r\n"));
  const mixed = canon(mixLineEnds(MULTIPART));
  deepStrictEqual(crlf.entity, lf.entity);
  deepStrictEqual(mixed.entity, lf.entity);
  deepStrictEqual(crlf.outer.map((h) => h.raw), lf.outer.map((h) => h.raw));
});

Deno.test("canonicalEntity() makes every line end CRLF and the entity 7-bit", () => {
  const { entity } = canon(mixLineEnds(MULTIPART));
  deepStrictEqual(toCrlf(entity), entity);
  strictEqual(entity.some((b) => b > 127), false);
});

Deno.test("canonicalEntity() keeps Bcc, MIME-Version and Content-* out of the outer fields", () => {
  const { outer, entity } = canon(MULTIPART);
  deepStrictEqual(outer.map((h) => h.name), ["From", "To", "Subject"]);
  const text = textOf(entity);
  strictEqual(text.startsWith('Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'), true);
  strictEqual(/bcc|mime-version|dave@/i.test(text), false);
  const resent = canon("From: a@x.org\nResent-Bcc: e@x.org\nBCC: d@x.org\nTo: b@x.org\n\nhi\n");
  deepStrictEqual(resent.outer.map((h) => h.name), ["From", "To"]);
});

Deno.test("canonicalEntity() keeps outer fields' raw bytes, CRLF-normalised", () => {
  const { outer } = canon("Subject: folded\n  subject\nFrom: a@x.org\n\nhi\n");
  strictEqual(textOf(outer[0]!.raw), "Subject: folded\r\n  subject");
});

Deno.test("canonicalEntity() re-encodes an 8bit text part as quoted-printable", () => {
  const { entity } = canon(MULTIPART);
  const part = reparse(entity).children[0]!;
  strictEqual(part.headers[1]!.value, "quoted-printable");
  const original = "Grüße, Bob. = not an escape   \n.leading dot\nFrom here on";
  deepStrictEqual(decodeBody(part), toCrlf(bytesOf(original)));
  match(textOf(part.body), /=2Eleading dot\r\n=46rom here on$/);
});

Deno.test("canonicalEntity() keeps 7-bit parts, preamble, epilogue and boundary lines", () => {
  const text = entityText(MULTIPART);
  const second = "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nalready 7-bit\r\n\r\n";
  strictEqual(text.includes(`\r\n${second}--b1--\r\nepilogue\r\n`), true);
  strictEqual(text.includes("\r\n\r\nThis is a preamble.\r\n--b1\r\n"), true);
});

Deno.test("canonicalEntity() leaves an all-7-bit message byte-identical except line ends", () => {
  const seven = MULTIPART.replace("Grüße", "Hello").replace("8bit", "7bit");
  const body = seven.slice(seven.indexOf("\n\n") + 2);
  const head = 'Content-Type: multipart/mixed; boundary="b1"\n\n';
  strictEqual(entityText(seven), textOf(toCrlf(bytesOf(head + body))));
});

Deno.test("canonicalEntity() re-encodes a binary attachment as base64, decoding to the same bytes", () => {
  const data = randomBytes(3000, 42);
  const message = new Uint8Array([
    ...bytesOf("From: a@x.org\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n"),
    ...bytesOf("Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n"),
    ...data,
    ...bytesOf("\r\n--zz--\r\n"),
  ]);
  const part = reparse(canon(message).entity).children[0]!;
  strictEqual(part.headers[1]!.value, "base64");
  deepStrictEqual(decodeBody(part), data);
});

Deno.test("canonicalEntity() fixes nested multiparts and relabels 8bit containers 7bit", () => {
  const text = [
    "From: a@x.org",
    "Content-Type: multipart/mixed; boundary=o",
    "Content-Transfer-Encoding: 8bit",
    "",
    "--o",
    "Content-Type: multipart/alternative; boundary=i",
    "Content-Transfer-Encoding: 8bit",
    "",
    "--i",
    "Content-Type: text/html",
    "",
    "<p>naïve</p>",
    "--i--",
    "--o",
    "Content-Type: message/rfc822",
    "",
    "Subject: inner",
    "X-Kept: yes",
    "",
    "inner café",
    "--o--",
  ].join("\n");
  const root = reparse(canon(text).entity);
  strictEqual(root.headers[1]!.value, "7bit");
  const alt = root.children[0]!;
  strictEqual(alt.headers[1]!.value, "7bit");
  const html = alt.children[0]!;
  strictEqual(html.headers[1]!.value, "quoted-printable");
  strictEqual(textOf(decodeBody(html)), "<p>naïve</p>");
  const inner = root.children[1]!.children[0]!;
  deepStrictEqual(inner.headers.map((h) => h.value), ["inner", "yes", "quoted-printable"]);
  strictEqual(textOf(decodeBody(inner)), "inner café");
});

Deno.test("canonicalEntity() adds text/plain with the charset the body needs", () => {
  match(
    entityText("From: a@x.org\n\nhi\n"),
    /^Content-Type: text\/plain; charset=us-ascii\r\n\r\nhi\r\n$/,
  );
  const utf8 = entityText("From: a@x.org\n\ncafé\n");
  strictEqual(
    utf8,
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n",
  );
  const latin1 = textOf(canon(latin1ToBytes("From: a@x.org\n\ncaf\xe9\n")).entity);
  match(latin1, /^Content-Type: text\/plain; charset=unknown-8bit\r\n/);
});

Deno.test("canonicalEntity() re-encodes lines over 998 octets and NULs under 7bit", () => {
  const long = "x".repeat(1500);
  const node = reparse(canon(`From: a@x.org\nContent-Type: text/plain\n\n${long}\n`).entity);
  strictEqual(textOf(decodeBody(node)), `${long}\r\n`);
  const nul = reparse(
    canon(latin1ToBytes("From: a@x.org\nContent-Type: image/x\n\na\x00b")).entity,
  );
  strictEqual(nul.headers[1]!.value, "base64");
});

Deno.test("canonicalEntity() re-wraps a one-line base64 body and re-encodes 8-bit quoted-printable", () => {
  const data = randomBytes(2000, 3);
  const oneLine = btoa(bytesToLatin1(data));
  const b64 = reparse(
    canon(`From: a@x.org\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n${oneLine}`)
      .entity,
  );
  deepStrictEqual(decodeBody(b64), data);
  const qp = reparse(
    canon("From: a@x.org\nContent-Transfer-Encoding: quoted-printable\n\ncaf\u00e9 =C3=A9\n")
      .entity,
  );
  strictEqual(textOf(decodeBody(qp)), "café é\r\n");
});

Deno.test("canonicalEntity() refuses 8-bit data under an unknown transfer encoding", () => {
  const err = assertThrowsSmimeError(
    () => canon("From: a@x.org\nContent-Transfer-Encoding: x-uuencode\n\ncafé\n"),
    "E_MESSAGE",
  );
  match(err.message, /^m\.eml: .*x-uuencode/);
});

Deno.test("canonicalEntity() handles 1000-deep nesting without blowing the stack", () => {
  const ascii = canon(deepMessage(1000, "plain"));
  strictEqual(ascii.entity.some((b) => b > 127), false);
  // 8-bit data below the depth cap can't be fixed safely: refused, not crashed.
  assertThrowsSmimeError(() => canon(deepMessage(1000)), "E_MESSAGE");
  const shallow = reparse(canon(deepMessage(20)).entity);
  let node = shallow;
  while (node.children.length > 0) node = node.children[0]!;
  strictEqual(textOf(decodeBody(node)), "café\r\n");
});

Deno.test("canonicalEntity() canonicalises a 5 MB 8-bit attachment", () => {
  const data = randomBytes(5 * 1024 * 1024, 9);
  const head = bytesOf(
    "From: a@x.org\nTo: b@x.org\nContent-Type: multipart/mixed; boundary=big\n\n--big\n" +
      "Content-Type: text/plain\n\nsee attached\n--big\n" +
      "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n",
  );
  const tail = bytesOf("\n--big--\n");
  const message = new Uint8Array(head.length + data.length + tail.length);
  message.set(head);
  message.set(data, head.length);
  message.set(tail, head.length + data.length);
  const { entity } = canon(message);
  const attachment = reparse(entity).children[1]!;
  strictEqual(attachment.headers[1]!.value, "base64");
  deepStrictEqual(decodeBody(attachment), data);
});

Deno.test("canonicalEntity() keeps a 998-octet line and re-encodes a 999-octet one, whatever ends the lines", () => {
  const isReencoded = (body: string) =>
    /Content-Transfer-Encoding: quoted-printable/.test(
      textOf(canon(`From: a@x.org\nContent-Type: text/plain\n\n${body}`).entity),
    );
  for (const end of ["\n", "\r\n", "\r"]) {
    for (const [length, expected] of [[998, false], [999, true]] as const) {
      const line = "y".repeat(length);
      strictEqual(
        isReencoded(`a${end}${line}${end}b${end}`),
        expected,
        `${length} ${JSON.stringify(end)}`,
      );
      strictEqual(
        isReencoded(`a${end}${line}`),
        expected,
        `last line, ${length} ${JSON.stringify(end)}`,
      );
      strictEqual(
        isReencoded(`${"z".repeat(1500).replaceAll("zzzzz", `zzzz${end}`)}${line}${end}`),
        expected,
      );
    }
  }
});

/** A multipart with `preamble` and `epilogue` around two 7-bit parts. */
const framed = (preamble: string, epilogue: string) =>
  `From: a@x.org\nContent-Type: multipart/mixed; boundary=b\n\n${preamble}` +
  `--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\n--b--\n${epilogue}`;

Deno.test("canonicalEntity() drops a preamble and an epilogue with 8-bit bytes (RFC 2046 5.1.1)", () => {
  const { entity } = canon(framed("Préambule\nmore\n", "épilogue\n"));
  strictEqual(
    textOf(entity),
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
      "--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n",
  );
  deepStrictEqual(reparse(entity).children.map((c) => textOf(decodeBody(c))), ["one", "two"]);
});

Deno.test("canonicalEntity() drops a preamble with a line over 998 octets, keeps a 7-bit epilogue", () => {
  const text = textOf(canon(framed(`${"p".repeat(1500)}\n`, "bye\n")).entity);
  strictEqual(text.includes("ppp"), false);
  strictEqual(text.endsWith("--b--\r\nbye\r\n"), true);
  strictEqual(text.includes("boundary=b\r\n\r\n--b\r\n"), true);
});

Deno.test("canonicalEntity() keeps a 7-bit preamble and epilogue byte for byte", () => {
  const message = framed("This is MIME.\n\n", "\nthe end\n");
  const body = message.slice(message.indexOf("\n\n") + 2);
  strictEqual(
    entityText(message),
    textOf(toCrlf(bytesOf(`Content-Type: multipart/mixed; boundary=b\n\n${body}`))),
  );
});

Deno.test("canonicalEntity() keeps a multipart with no boundary, or one that opens no part, as it is", () => {
  const head = "From: a@x.org\nContent-Type: multipart/mixed";
  // Not MIME, and not to be relabelled: kept (a detached signature over 8-bit refuses it).
  strictEqual(
    entityText(`${head}\n\nno boundary\n`),
    "Content-Type: multipart/mixed\r\n\r\nno boundary\r\n",
  );
  strictEqual(
    entityText(`${head}; boundary=q\n\nété\n--z\n\nx\n--z--\n`),
    "Content-Type: multipart/mixed; boundary=q\r\n\r\nété\r\n--z\r\n\r\nx\r\n--z--\r\n",
  );
});

const ATTACHMENT = [
  "From: a@x.org",
  "MIME-Version: 1.0",
  "Content-Type: multipart/mixed; boundary=z",
  "Content-Description: Grüße aus München",
  "",
  "--z",
  "Content-Type: text/plain",
  "",
  "hi",
  "--z",
  'Content-Type: application/pdf; name="Grüße.pdf"',
  'Content-Disposition: attachment; filename="Grüße.pdf"; size=12',
  "Content-Transfer-Encoding: base64",
  "",
  "JVBERi0xLjQK",
  "--z--",
  "",
].join("\n");

Deno.test("canonicalEntity() writes a part's 8-bit file name as an RFC 2231 parameter", () => {
  const { entity } = canon(ATTACHMENT);
  strictEqual(entity.every((b) => b < 128), true);
  const text = textOf(entity);
  strictEqual(
    text.includes(
      "--z\r\nContent-Type: application/pdf; name*=utf-8''Gr%C3%BC%C3%9Fe.pdf\r\n" +
        "Content-Disposition: attachment; filename*=utf-8''Gr%C3%BC%C3%9Fe.pdf; size=12\r\n" +
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--z--\r\n",
    ),
    true,
  );
  const pdf = reparse(entity).children[1]!;
  strictEqual(pdf.contentType.params.name, "Grüße.pdf");
  strictEqual(textOf(decodeBody(pdf)), "%PDF-1.4\n");
});

Deno.test("canonicalEntity() writes an 8-bit top-level Content-Description as encoded words", () => {
  const { entity } = canon(ATTACHMENT);
  const description = reparse(entity).headers.find((h) => h.name === "Content-Description")!;
  strictEqual(description.value, "=?utf-8?B?R3LDvMOfZQ==?= aus =?utf-8?B?TcO8bmNoZW4=?=");
  strictEqual(decodeEncodedWords(description.value), "Grüße aus München");
});

Deno.test("canonicalEntity() keeps a 7-bit message's Content-* fields and parts byte for byte", () => {
  const seven = ATTACHMENT.replaceAll("Grüße", "Gruesse").replaceAll("München", "Muenchen")
    .replace("Content-Type: text/plain", "Content-Type: text/plain;\n\tcharset=us-ascii (c)");
  const body = seven.slice(seven.indexOf("\n\n") + 2);
  const head =
    "Content-Type: multipart/mixed; boundary=z\nContent-Description: Gruesse aus Muenchen\n\n";
  deepStrictEqual(canon(seven).entity, toCrlf(bytesOf(head + body)));
});

Deno.test("canonicalEntity() leaves an embedded message's 8-bit header to message/global", () => {
  const text = "From: a@x.org\nContent-Type: multipart/mixed; boundary=z\n\n--z\n" +
    "Content-Type: message/rfc822\n\nSubject: Grüße\nContent-Description: für\n\nhi\n--z--\n";
  const part = reparse(canon(text).entity).children[0]!;
  strictEqual(part.contentType.type + "/" + part.contentType.subtype, "message/global");
  match(textOf(decodeBody(part)), /^Subject: Grüße\r\nContent-Description: für\r\n/);
});
