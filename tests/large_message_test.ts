/**
 * A large message through the paths that avoid copies (DER written straight
 * into base64, AES-CBC a piece at a time into the output, the entity built
 * behind the message head, line ends converted while joining): an 8 MB
 * message with LF line ends, many times the 1 MB AES piece, is opened by
 * `openssl cms` and gives back the canonical entity byte for byte, with
 * OpenSSL's AES (libcrypto) and with node:crypto's, and smimepost's own
 * `decrypt` agrees with openssl's.
 */
import { bytesEqual, latin1ToBytes } from "../core/bytes.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { decrypt } from "../core/cms/mod.ts";
import { overrideLibcrypto } from "../core/cms/libcrypto.ts";
import { canonicalEntity, parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import { decodeBody, parseMimeTree } from "../core/message/mod.ts";
import { messageBytes, openssl, testKeyStore, testPki } from "./support/helpers.ts";

/** About 8 MB: a text part and a base64 "attachment" whose size is no multiple of 16 or 3. */
function largeMessage(from: string, to: string): Uint8Array {
  const line = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZUR\n";
  return messageBytes(
    `From: ${from}\nTo: ${to}\nSubject: large\nMIME-Version: 1.0\n` +
      `Content-Type: multipart/mixed; boundary="b1"\n\npreamble\n--b1\n` +
      `Content-Type: text/plain\n\n${"Dear customer,\n.a dot line\n".repeat(1000)}--b1\n` +
      `Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n` +
      `${line.repeat(110_000)}QUJD\n--b1--\nepilogue\n`,
  );
}

const cases = [
  { name: "opaque, sign + encrypt (RSA and EC recipients)", sign: true, encrypt: true },
  { name: "detached, sign + encrypt", sign: true, encrypt: true, detached: true },
  { name: "opaque, sign only", sign: true, encrypt: false },
  { name: "encrypt only", sign: false, encrypt: true },
] as const;

for (const engine of ["libcrypto", "node:crypto"] as const) {
  for (const c of cases) {
    Deno.test(`an 8 MB message round-trips through openssl cms byte for byte: ${c.name}, AES by ${engine}`, async () => {
      const dir = await testPki();
      const keys = await testKeyStore();
      const message = parseMessage(
        largeMessage("alice@example.com", "bob@example.com, erin@example.com"),
        "large.eml",
      );
      if (engine === "node:crypto") overrideLibcrypto(undefined);
      let sealed: Uint8Array;
      try {
        const { copies } = await sealMessage(message, keys, {
          sign: c.sign,
          detached: "detached" in c,
          encrypt: c.encrypt,
          singleCopy: true,
          ecRecipients: "shared",
        });
        assertEquals(copies.length, 1);
        sealed = copies[0]!.bytes;
      } finally {
        overrideLibcrypto(null);
      }
      assert(sealed.length > 8_000_000, `sealed only ${sealed.length} bytes`);
      let signed = sealed;
      if (c.encrypt) {
        for (const to of ["bob@example.com", "erin@example.com"]) {
          const opened = await openssl(
            ["cms", "-decrypt", "-recip", `${dir}/${to}.crt`, "-inkey", `${dir}/${to}.pem`],
            sealed,
          );
          assertEquals(opened.code, 0, opened.stderr);
          signed = opened.stdout;
        }
        // smimepost's own decrypt, through the same AES engine, agrees with openssl's.
        const der = decodeBody(parseMimeTree(sealed, "large.eml"));
        const bob = await Deno.readFile(`${dir}/bob@example.com.pem`);
        const pem = new TextDecoder().decode(bob).replace(/-----[^-]+-----|\s/g, "");
        const privateKey = latin1ToBytes(atob(pem));
        if (engine === "node:crypto") overrideLibcrypto(undefined);
        try {
          assert(bytesEqual(await decrypt(der, { privateKey }), signed), "decrypt() differs");
        } finally {
          overrideLibcrypto(null);
        }
      }
      const expected = canonicalEntity(message).entity;
      if (!c.sign) {
        assert(bytesEqual(signed, expected), "decrypted content differs from the input");
        return;
      }
      const verified = await openssl([
        "cms",
        "-verify",
        "-CAfile",
        `${dir}/trust.pem`,
        ...("detached" in c ? [] : ["-binary"]),
      ], signed);
      assertEquals(verified.code, 0, verified.stderr);
      assert(bytesEqual(verified.stdout, expected), "verified content differs from the input");
    });
  }
}
