import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { canonicalEntity, decodeEncodedWords, envelopeOf, getHeader, parseMessage } from "./mod.ts";
import { parseMimeTree } from "./mime_tree.ts";
import { toCrlf } from "./line_ends.ts";
import { decodeBody } from "./transfer_encoding.ts";
import { textOf } from "./test_helpers.ts";

const DIR = new URL("../../fixtures/messages/", import.meta.url);
const load = (name: string) => parseMessage(Deno.readFileSync(new URL(name, DIR)), name);

const SAMPLES = [
  "plain_lf.eml",
  "plain_crlf.eml",
  "utf8_body.eml",
  "multipart_attachment.eml",
  "encoded_words.eml",
  "bcc_group.eml",
];

Deno.test("fixtures: every sample parses, has alice as sender, and canonicalises 7-bit CRLF", () => {
  for (const name of SAMPLES) {
    const message = load(name);
    strictEqual(envelopeOf(message).sender, "alice@example.com", name);
    const { outer, entity } = canonicalEntity(message);
    deepStrictEqual(toCrlf(entity), entity, name);
    strictEqual(entity.some((b) => b > 127), false, name);
    strictEqual(outer.some((h) => h.name.toLowerCase() === "bcc"), false, name);
  }
});

Deno.test("fixtures: LF and CRLF samples give bob and carol as recipients", () => {
  for (const name of ["plain_lf.eml", "plain_crlf.eml", "multipart_attachment.eml"]) {
    deepStrictEqual(envelopeOf(load(name)).recipients, ["bob@example.com", "carol@example.net"]);
  }
  strictEqual(
    getHeader(load("plain_crlf.eml"), "Subject")!.value,
    "Monthly statement (CRLF line ends, folded subject line)",
  );
});

Deno.test("fixtures: encoded words in Subject and display names decode", () => {
  const message = load("encoded_words.eml");
  strictEqual(decodeEncodedWords(getHeader(message, "Subject")!.value), "Kontoauszug für März");
  const env = envelopeOf(message);
  deepStrictEqual(env.to.map((m) => m.name), ["Bob André", "Carol Nüñez"]);
});

Deno.test("fixtures: bcc_group keeps dave in the envelope and out of the entity", () => {
  const message = load("bcc_group.eml");
  const env = envelopeOf(message);
  deepStrictEqual(env.recipients, ["bob@example.com", "carol@example.net", "dave@example.org"]);
  deepStrictEqual(env.bcc, [{ address: "dave@example.org", name: "Dave" }]);
  const { outer, entity } = canonicalEntity(message);
  const all = outer.map((h) => textOf(h.raw)).join("\n") + textOf(entity);
  strictEqual(all.includes("dave@"), false);
});

Deno.test("fixtures: the 8-bit parts re-encode and decode back to their text", () => {
  const utf8 = parseMimeTree(canonicalEntity(load("utf8_body.eml")).entity, "entity");
  strictEqual(textOf(decodeBody(utf8)).includes("12,50 € — naïve café."), true);
  const multi = parseMimeTree(canonicalEntity(load("multipart_attachment.eml")).entity, "entity");
  strictEqual(
    textOf(decodeBody(multi.children[0]!)),
    "Hello Bob, your statement is attached. Grüße, Alice",
  );
  strictEqual(textOf(decodeBody(multi.children[1]!)).startsWith("%PDF-1.4"), true);
});
