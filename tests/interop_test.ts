/**
 * The interop matrix: everything smimepost signs and encrypts is decrypted
 * and verified by `openssl cms`, and what openssl recovers equals the
 * canonical input entity.
 *
 * {opaque, detached} x {RSA-2048, RSA-3072, EC P-256 signer}
 *   x {CBC + PKCS#1 v1.5, CBC + OAEP, GCM AuthEnveloped, EC recipient}
 *   x {LF input, CRLF input, 8-bit UTF-8 body, 5 MB attachment}
 */
import { bytesEqual } from "../core/bytes.ts";
import { assert, assertEquals } from "./support/assert.ts";
import {
  canonicalEntity,
  getHeader,
  parseContentType,
  parseMessage,
  parseMimeTree,
} from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import type { SealOptions } from "../core/pipeline.ts";
import { assertSmimeError } from "./support/assert.ts";
import { messageBytes, openssl, testKeyStore, testPki } from "./support/helpers.ts";

const signers = [
  { name: "RSA-2048", address: "alice@example.com" },
  { name: "RSA-3072", address: "bob@example.com" },
  { name: "EC P-256", address: "carol@example.net" },
] as const;

const encryptions = [
  { name: "CBC+PKCS#1 v1.5", to: "dave@example.org", options: { cipher: "aes-256-cbc" } },
  {
    name: "CBC+OAEP",
    to: "dave@example.org",
    options: { cipher: "aes-128-cbc", rsaKeyTransport: "oaep" },
  },
  { name: "GCM AuthEnveloped", to: "dave@example.org", options: { cipher: "aes-256-gcm" } },
  { name: "EC recipient", to: "erin@example.com", options: { cipher: "aes-256-cbc" } },
] as const satisfies readonly { name: string; to: string; options: Partial<SealOptions> }[];

function body5mb(): string {
  const line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n";
  return line.repeat(Math.ceil(5_000_000 / line.length));
}

const inputs = [
  { name: "LF input", build: (from: string, to: string) => messageBytes(plain(from, to)) },
  {
    name: "CRLF input",
    build: (from: string, to: string) => messageBytes(plain(from, to), "\r\n"),
  },
  {
    name: "8-bit UTF-8 body",
    build: (from: string, to: string) =>
      messageBytes(
        `From: ${from}\nTo: ${to}\nSubject: 8bit\nMIME-Version: 1.0\n` +
          `Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n` +
          `Grüße aus Köln — 1 234,56 €\n.a dot line\nFrom the start\n`,
      ),
  },
  {
    name: "5 MB attachment",
    build: (from: string, to: string) =>
      messageBytes(
        `From: ${from}\nTo: ${to}\nSubject: big\nMIME-Version: 1.0\n` +
          `Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n` +
          `Content-Type: text/plain\n\nSee attached.\n--b1\n` +
          `Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n` +
          `${body5mb()}--b1--\n`,
      ),
  },
] as const;

function plain(from: string, to: string): string {
  return `From: ${from}\nTo: ${to}\nSubject: plain\nDate: Sat, 28 Nov 2026 09:00:00 +0000\n\n` +
    `Hello,\n.leading dot\n\nbye\n`;
}

for (const detached of [false, true]) {
  for (const signer of signers) {
    for (const enc of encryptions) {
      for (const input of inputs) {
        const name = `${detached ? "detached" : "opaque"} / ${signer.name} / ${enc.name} / ` +
          input.name;
        Deno.test(`sealMessage() output opens with openssl cms: ${name}`, async () => {
          const dir = await testPki();
          const keys = await testKeyStore();
          const message = parseMessage(input.build(signer.address, enc.to), "matrix.eml");
          const { copies } = await sealMessage(message, keys, {
            sign: true,
            detached,
            encrypt: true,
            singleCopy: true,
            ...enc.options,
          });
          assertEquals(copies.length, 1);
          const decrypted = await openssl([
            "cms",
            "-decrypt",
            "-recip",
            `${dir}/${enc.to}.crt`,
            "-inkey",
            `${dir}/${enc.to}.pem`,
          ], copies[0]!.bytes);
          assertEquals(decrypted.code, 0, decrypted.stderr);
          const verified = await openssl([
            "cms",
            "-verify",
            "-CAfile",
            `${dir}/trust.pem`,
            "-purpose",
            "smimesign",
            // openssl reads a multipart/signed part canonically only in text mode
            ...(detached ? [] : ["-binary"]),
          ], decrypted.stdout);
          assertEquals(verified.code, 0, verified.stderr);
          const expected = canonicalEntity(message).entity;
          assert(bytesEqual(verified.stdout, expected), "recovered content differs from the input");
        });
      }
    }
  }
}

/**
 * multipart/signed carries the signed part as it is (RFC 8551 3.1.2): what
 * the canonical form used to let through 8-bit or over-long.
 */
const unsafeInputs = [
  {
    name: "8-bit file name in a part's Content-Type and Content-Disposition",
    head: "Content-Type: multipart/mixed; boundary=z",
    body:
      '--z\nContent-Type: text/plain\n\nhi\n--z\nContent-Type: application/pdf; name="Grüße.pdf"\n' +
      'Content-Disposition: attachment; filename="Grüße.pdf"\nContent-Transfer-Encoding: base64\n\n' +
      "JVBERi0xLjQK\n--z--\n",
    fileName: "Grüße.pdf",
  },
  {
    name: "8-bit top-level Content-Description",
    head: "Content-Type: text/plain; charset=us-ascii\nContent-Description: Grüße aus München",
    body: "hi\n",
    fileName: undefined,
  },
  {
    name: "8-bit preamble and epilogue, a preamble line over 998 octets",
    head: "Content-Type: multipart/mixed; boundary=b",
    body: `Préambule\n${"p".repeat(1500)}\n--b\nContent-Type: text/plain\n\nhi\n--b--\népilogue\n`,
    fileName: undefined,
  },
] as const;

function unsafeMessage(head: string, body: string): Uint8Array {
  return messageBytes(
    `From: alice@example.com\nTo: bob@example.com\nSubject: 8-bit MIME\nMIME-Version: 1.0\n` +
      `${head}\n\n${body}`,
  );
}

for (const input of unsafeInputs) {
  Deno.test(`sealMessage() detached is 7-bit, lines within 998, and verifies: ${input.name}`, async () => {
    const dir = await testPki();
    const message = parseMessage(unsafeMessage(input.head, input.body), "f1.eml");
    const { copies } = await sealMessage(message, await testKeyStore(), {
      sign: true,
      detached: true,
      encrypt: false,
    });
    const bytes = copies[0]!.bytes;
    assert(bytes.every((b) => b < 128), "a byte over 127 in the output");
    const lines = new TextDecoder().decode(bytes).split("\r\n");
    assert(lines.every((line) => line.length <= 998), "a line over 998 octets in the output");
    const verified = await openssl(
      ["cms", "-verify", "-CAfile", `${dir}/trust.pem`, "-purpose", "smimesign"],
      bytes,
    );
    assertEquals(verified.code, 0, verified.stderr);
    // What is signed is what is sent: openssl recovers the canonical entity.
    assert(bytesEqual(verified.stdout, canonicalEntity(message).entity), "signed part differs");
    if (input.fileName !== undefined) {
      // As a reader decodes it, with the project's own parser.
      const pdf = parseMimeTree(bytes, "out.eml").children[0]!.children[1]!;
      assertEquals(pdf.contentType.params.name, input.fileName);
      const disposition = getHeader(pdf, "Content-Disposition")!.value;
      assertEquals(parseContentType(`x/${disposition}`).params.filename, input.fileName);
    }
  });
}

Deno.test("an 8-bit multipart with no boundary: a detached signature is refused in one line, opaque signing carries it", async () => {
  const message = parseMessage(
    unsafeMessage("Content-Type: multipart/mixed", "été no boundary parameter\n"),
    "f1b.eml",
  );
  const keys = await testKeyStore();
  const error = await assertSmimeError(
    () => sealMessage(message, keys, { sign: true, detached: true, encrypt: false }),
    "E_MESSAGE",
  );
  assert(error.message.startsWith("f1b.eml: cannot sign detached"), error.message);
  assert(!error.message.includes("\n"), error.message);
  const opaque = await sealMessage(message, keys, { sign: true, detached: false, encrypt: false });
  assertEquals(opaque.copies.length, 1);
});
