/**
 * Benchmarks of the hot path: parse, envelope and canonical form of a
 * typical 19 KB message, and a 5 MB attachment. Run: deno bench core/message/
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import { canonicalEntity, envelopeOf, parseMessage, toCrlf } from "./mod.ts";
import { bytesOf, randomBytes } from "./test_helpers.ts";

function message(attachment: Uint8Array, cte: string): Uint8Array {
  const head = bytesOf(
    [
      "From: Alice Example <alice@example.com>",
      "To: Bob <bob@example.com>, carol@example.net",
      "Bcc: dave@example.org",
      "Subject: =?utf-8?Q?Kontoauszug_f=C3=BCr_M=C3=A4rz?=",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      "Grüße, Bob.\n".repeat(40),
      "--b",
      "Content-Type: application/pdf",
      `Content-Transfer-Encoding: ${cte}`,
      "",
      "",
    ].join("\n"),
  );
  const tail = bytesOf("\n--b--\n");
  const out = new Uint8Array(head.length + attachment.length + tail.length);
  out.set(head);
  out.set(attachment, head.length);
  out.set(tail, head.length + attachment.length);
  return out;
}

const base64Lines = bytesOf(
  (btoa(bytesToLatin1(randomBytes(13_000, 1))).match(/.{1,76}/g) ?? []).join("\n"),
);
const typical = message(base64Lines, "base64");
const typicalCrlf = toCrlf(typical);
const big = message(randomBytes(5 * 1024 * 1024, 2), "binary");

Deno.bench(`parseMessage + envelopeOf + canonicalEntity, ${typical.length} B, LF`, () => {
  const m = parseMessage(typical, "bench.eml");
  envelopeOf(m);
  canonicalEntity(m);
});

Deno.bench(`parseMessage + envelopeOf + canonicalEntity, ${typicalCrlf.length} B, CRLF`, () => {
  const m = parseMessage(typicalCrlf, "bench.eml");
  envelopeOf(m);
  canonicalEntity(m);
});

Deno.bench("canonicalEntity, 5 MB binary attachment", { n: 5, warmup: 1 }, () => {
  canonicalEntity(parseMessage(big, "big.eml"));
});
