import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { bytesToLatin1 } from "../bytes.ts";
import { childrenOf, DerReader, encode, parseTlv, seq, Tag, tlv } from "../cms/der.ts";
import { getTestPki, openssl, type TestPki } from "../cms/test_pki.ts";
import type { RecipientKey } from "../cms/types.ts";
import { isSmimeError } from "../errors.ts";
import { decryptMessage } from "./decrypt_message.ts";
import type { KeyCandidates } from "./open.ts";
import { openMessage } from "./open.ts";

const encoder = new TextEncoder();
const entity = encoder.encode("Content-Type: text/plain\r\n\r\nKontoauszug 42\r\n");
let fileNo = 0;

async function tempFile(pki: TestPki, bytes: Uint8Array): Promise<string> {
  const path = `${pki.dir}/m${fileNo++}.bin`;
  await Deno.writeFile(path, bytes);
  return path;
}

/** Candidate keys that count how often they were asked for. */
function countingKeys(keys: (RecipientKey & { file: string })[]) {
  let asked = 0;
  const candidates: KeyCandidates = () => {
    asked++;
    return Promise.resolve(keys);
  };
  return { candidates, asked: () => asked };
}

/** An application/pkcs7-mime entity around `der`. */
function pkcs7Mime(der: Uint8Array, smimeType: string): Uint8Array {
  const lines = btoa(bytesToLatin1(der)).replace(/.{76}/g, "$&\r\n");
  return encoder.encode(
    `From: alice@example.com\r\nContent-Type: application/pkcs7-mime; smime-type=${smimeType}; ` +
      `name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines}\r\n`,
  );
}

/** `openssl cms -sign` of `content` (opaque) by the P-256 user, DER. */
async function opensslSign(pki: TestPki, content: Uint8Array): Promise<Uint8Array> {
  const signer = pki.users.p256!;
  return await openssl([
    "cms",
    "-sign",
    "-nodetach",
    "-binary",
    "-in",
    await tempFile(pki, content),
    "-signer",
    signer.certPem,
    "-inkey",
    signer.keyPem,
    "-outform",
    "DER",
  ]);
}

/**
 * `signedData` with its SignerInfo repeated `copies` times, followed by one
 * that is not a SignerInfo at all: whoever reads the SignerInfos fails.
 */
function withManySigners(signedData: Uint8Array, copies: number): Uint8Array {
  const r = new DerReader(parseTlv(signedData));
  const contentType = r.next(Tag.oid);
  const sd = new DerReader(r.next(0xa0)).next(Tag.sequence);
  const children = childrenOf(sd);
  const signerInfos = children.pop()!;
  const signer = childrenOf(signerInfos)[0]!.raw;
  const garbage = encode(seq(new Uint8Array([0x02, 0x01, 0x63])));
  const many = tlv(Tag.set, ...Array(copies).fill(signer), garbage);
  return encode(seq(contentType.raw, tlv(0xa0, seq(...children.map((c) => c.raw), many))));
}

Deno.test("decryptMessage() says 'not encrypted' for a signed-only message without reading its 5,000 SignerInfos", async () => {
  const pki = await getTestPki();
  const bytes = pkcs7Mime(withManySigners(await opensslSign(pki, entity), 5_000), "signed-data");
  const keys = countingKeys([]);
  const err = await assertRejects(() => decryptMessage(bytes, "m.eml", keys.candidates));
  assert(isSmimeError(err, "E_DECRYPT"), String(err));
  assertEquals((err as Error).message, "m.eml: not encrypted");
  assertEquals(keys.asked(), 0, "no key was loaded");
  // verify reads every SignerInfo, so it trips over the last one.
  const verifying = await assertRejects(() => openMessage(bytes, "m.eml", {}));
  assert(isSmimeError(verifying, "E_CMS"), String(verifying));
});

Deno.test("decryptMessage() peels unverified signed layers around the encrypted one", async () => {
  const pki = await getTestPki();
  const bob = pki.users.rsa2048!;
  const encrypted = await openssl([
    "cms",
    "-encrypt",
    "-binary",
    "-aes256",
    "-in",
    await tempFile(pki, entity),
    "-outform",
    "DER",
    bob.certPem,
  ]);
  const inner = pkcs7Mime(encrypted, "enveloped-data");
  // Opaque signed with unreadable SignerInfos, inside a multipart/signed
  // whose signature part is junk: decrypt looks at neither.
  const opaque = pkcs7Mime(withManySigners(await opensslSign(pki, inner), 100), "signed-data");
  const detached = encoder.encode(
    'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; ' +
      'micalg=sha-256; boundary="b"\r\n\r\n--b\r\n',
  );
  const tail = encoder.encode(
    "\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nnot a signature\r\n--b--\r\n",
  );
  const body = opaque.slice(opaque.indexOf(0x0a) + 1); // without the From line
  const bytes = new Uint8Array([...detached, ...body, ...tail]);
  const keys = countingKeys([{ privateKey: bob.privateKey, file: "bob.pem" }]);
  const decrypted = await decryptMessage(bytes, "m.eml", keys.candidates);
  assertEquals(decrypted.content, entity);
  assertEquals(decrypted.kind, "enveloped-data");
  assertEquals(decrypted.decryptedWith, "bob.pem");
  assertEquals(decrypted.signedLayersSkipped, 2);
  assertEquals(keys.asked(), 1);
});

Deno.test("decryptMessage() names the message and every key file when none opens it", async () => {
  const pki = await getTestPki();
  const encrypted = await openssl([
    "cms",
    "-encrypt",
    "-binary",
    "-aes-256-gcm",
    "-in",
    await tempFile(pki, entity),
    "-outform",
    "DER",
    pki.users.rsa3072!.certPem,
  ]);
  const bytes = pkcs7Mime(encrypted, "authEnveloped-data");
  const keys = countingKeys([
    { privateKey: pki.users.rsa2048!.privateKey, file: "a.pem" },
    { privateKey: pki.users.p256!.privateKey, file: "b.p12" },
  ]);
  const err = await assertRejects(() => decryptMessage(bytes, "m.eml", keys.candidates));
  assert(isSmimeError(err, "E_DECRYPT"), String(err));
  assertEquals(
    (err as Error).message,
    "Cannot decrypt m.eml with a.pem, b.p12: wrong key or corrupted message",
  );
});

Deno.test("decryptMessage() refuses a message that is not S/MIME", async () => {
  const err = await assertRejects(() =>
    decryptMessage(
      encoder.encode("From: a@example.com\r\n\r\nhello\r\n"),
      "m.eml",
      countingKeys([]).candidates,
    )
  );
  assert(isSmimeError(err, "E_MESSAGE"), String(err));
});

Deno.test("decryptMessage() in place: the content is a view of the message, past a wrong key", async () => {
  const pki = await getTestPki();
  const large = encoder.encode(
    "Content-Type: text/plain\r\n\r\n" + "Kontoauszug 42\r\n".repeat(100_000),
  );
  for (const cipher of ["-aes-256-cbc", "-aes-256-gcm"]) {
    const encrypted = await openssl([
      "cms",
      "-encrypt",
      "-binary",
      cipher,
      "-in",
      await tempFile(pki, large),
      "-outform",
      "DER",
      pki.users.rsa3072!.certPem,
      pki.users.rsa2048!.certPem,
    ]);
    const smimeType = cipher.endsWith("gcm") ? "authEnveloped-data" : "enveloped-data";
    const bytes = pkcs7Mime(encrypted, smimeType);
    const keys = countingKeys([
      { privateKey: pki.users.outsider!.privateKey, file: "wrong.pem" },
      { privateKey: pki.users.rsa2048!.privateKey, file: "right.pem" },
    ]);
    const copy = bytes.slice();
    const apart = await decryptMessage(copy, "m.eml", keys.candidates);
    assertEquals(copy, bytes, "without inPlace the message is left as it was");
    const opened = await decryptMessage(bytes, "m.eml", keys.candidates, { inPlace: true });
    assertEquals(opened.content, large, cipher);
    assertEquals([opened.decryptedWith, opened.contentCipher], ["right.pem", apart.contentCipher]);
    assertEquals(opened.recipients, apart.recipients);
    // CBC is decrypted over the message's own bytes; GCM (WebCrypto) into a new array.
    assertEquals(opened.content.buffer === bytes.buffer, !cipher.endsWith("gcm"), cipher);
  }
});
