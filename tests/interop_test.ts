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
import { canonicalEntity, parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import type { SealOptions } from "../core/pipeline.ts";
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
