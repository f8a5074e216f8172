/**
 * The message half of the refusal corpus: odd, broken and hostile messages,
 * built in code (nothing large is committed). Each case says what `send`
 * must do with it: refuse with an exit status from the README table, or seal
 * it so that openssl decrypts and verifies the result.
 *
 * Every message is from alice@example.com (a signer of the test PKI) to
 * bob@example.com unless the case is about the addresses themselves.
 *
 * @module
 */

import { bytesToLatin1, concatBytes } from "../../core/bytes.ts";

const encoder = new TextEncoder();

/** A message written with "\n" line ends, as bytes. */
export function text(lines: string): Uint8Array {
  return encoder.encode(lines);
}

/** Bytes joined; strings are taken as UTF-8. */
export function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  return concatBytes(parts.map((p) => typeof p === "string" ? encoder.encode(p) : p));
}

/** Deterministic pseudo-random bytes (xorshift), so a failure can be replayed. */
export function noise(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const HEAD = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\nSubject: corpus\n";
const BODY = "\nHello Bob,\nbye\n";

/** A small PNG: signature, IHDR, a few chunks of noise, IEND. */
function png(): Uint8Array {
  return concat(
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    new Uint8Array([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 16, 0, 0, 0, 16, 8, 6, 0, 0, 0]),
    noise(4096, 7),
    new Uint8Array([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]),
  );
}

/** A message whose multipart/mixed parts nest `depth` levels deep. */
export function nested(depth: number): Uint8Array {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    open.push(`--b${i}\nContent-Type: multipart/mixed; boundary="b${i + 1}"\n\n`);
    close.unshift(`\n--b${i}--\n`);
  }
  return text(
    `${HEAD}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0"\n\n` +
      open.join("") + `--b${depth}\nContent-Type: text/plain\n\ninnermost\n--b${depth}--\n` +
      close.join(""),
  );
}

/** A message with a base64 attachment of `size` bytes of noise. */
export function withAttachment(size: number): Uint8Array {
  const data = noise(size, 0x2545f491);
  // base64 in 76-column lines without building one huge string at once
  const lines: string[] = [];
  const step = 57 * 1024;
  for (let i = 0; i < data.length; i += step) {
    const binary = bytesToLatin1(data.subarray(i, Math.min(i + step, data.length)));
    lines.push(btoa(binary).replace(/.{76}/g, "$&\n").replace(/\n$/, ""));
  }
  return concat(
    `${HEAD}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="att"\n\n`,
    "--att\nContent-Type: text/plain; charset=utf-8\n\nYour statement is attached.\n",
    "--att\nContent-Type: application/octet-stream; name=statement.bin\n",
    "Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=statement.bin\n\n",
    lines.join("\n"),
    "\n--att--\n",
  );
}

/** How `send` must treat a message: refuse it, or seal it. */
export interface MessageCase {
  /** Shown in the test name. */
  name: string;
  bytes: () => Uint8Array;
  /** send flags; default `--sign --encrypt`. */
  args?: string[];
  /** Expected exit status (0: sealed, and openssl must open it). */
  code: number;
  /** Parts the one stderr line must contain ("m.eml" is always checked). */
  names?: string[];
  /** Feed the message on stdin ("-") instead of as m.eml. */
  stdin?: boolean;
  /** Also refused with --send_smtp to a live sink, which must receive nothing. */
  deliver?: boolean;
}

/** Messages `send` must refuse. */
export const refusedMessages: MessageCase[] = [
  // ---- not a message at all
  { name: "empty message on stdin", bytes: () => new Uint8Array(), code: 65, stdin: true },
  { name: "only a UTF-8 BOM", bytes: () => new Uint8Array([0xef, 0xbb, 0xbf]), code: 65 },
  { name: "only a blank line", bytes: () => text("\n"), code: 65, names: ["empty"] },
  {
    name: "only an mbox From_ line",
    bytes: () => text("From alice Mon Jan  1 00:00:00 2024\n"),
    code: 65,
  },
  { name: "a PNG image", bytes: png, deliver: true, code: 65, names: ["not a header field"] },
  { name: "64 KiB of random bytes", bytes: () => noise(65536), code: 65 },
  { name: "random bytes on stdin", bytes: () => noise(4096, 3), code: 65, stdin: true },
  { name: "a JSON document", bytes: () => text('{"from": "alice@example.com"}\n'), code: 65 },
  // ---- originator
  {
    name: "an empty From",
    bytes: () => text("From:\nTo: bob@example.com\n" + BODY),
    code: 65,
    names: ["From"],
  },
  {
    name: "two From headers",
    deliver: true,
    bytes: () =>
      text("From: alice@example.com\nFrom: bob@example.com\nTo: bob@example.com\n" + BODY),
    code: 65,
    names: ["From"],
  },
  {
    name: "a From with two mailboxes and no Sender",
    bytes: () => text("From: alice@example.com, erin@example.com\nTo: bob@example.com\n" + BODY),
    code: 65,
    names: ["Sender"],
  },
  {
    name: "a From without @",
    bytes: () => text("From: alice\nTo: bob@example.com\n" + BODY),
    code: 65,
    names: ["alice"],
  },
  // ---- recipients
  {
    name: "group syntax with no members as the only recipient",
    deliver: true,
    bytes: () => text("From: alice@example.com\nTo: undisclosed-recipients:;\n" + BODY),
    code: 65,
    names: ["recipients"],
  },
  {
    name: "an empty To and Cc",
    bytes: () => text("From: alice@example.com\nTo:\nCc: \n" + BODY),
    code: 65,
    names: ["recipients"],
  },
  {
    name: "two Bcc recipients only, --encrypt on one stream",
    bytes: () => text("From: alice@example.com\nBcc: bob@example.com, carol@example.net\n" + BODY),
    code: 64,
    // bob gets the first copy; carol would see his certificate, or he hers
    names: ["carol@example.net", "--bcc-shared"],
  },
  // ---- line ends and NUL smuggled into addresses
  {
    name: "NUL in To",
    deliver: true,
    bytes: () =>
      concat("From: alice@example.com\nTo: bob", new Uint8Array([0]), "@example.com\n" + BODY),
    code: 65,
    names: ["NUL", "To"],
  },
  {
    name: "NUL in a quoted local part of Cc",
    bytes: () =>
      concat(
        'From: alice@example.com\nTo: bob@example.com\nCc: "x',
        new Uint8Array([0]),
        'y"@example.com\n' + BODY,
      ),
    code: 65,
    names: ["NUL"],
  },
  {
    name: "a bare CR inside the To address",
    bytes: () =>
      text("From: alice@example.com\nTo: <bob@example.com\rRCPT TO:<evil@example.net>>\n" + BODY),
    code: 65,
    // A bare CR ends the line, as a receiver would read it: the rest is a stray line.
    names: ["line 3"],
  },
  {
    name: "an LF folded into a quoted local part",
    deliver: true,
    bytes: () =>
      text('From: alice@example.com\nTo: "bob\n RCPT TO:<evil@example.net>"@example.com\n' + BODY),
    code: 65,
    names: ["To"],
  },
  {
    name: "CR LF in the From address",
    deliver: true,
    bytes: () =>
      text(
        'From: "alice\r\n RCPT TO:<evil@example.net>"@example.com\nTo: bob@example.com\n' + BODY,
      ),
    code: 65,
    names: ["From"],
  },
  {
    name: "an encoded word decoding to CRLF as the local part",
    deliver: true,
    bytes: () =>
      text("From: alice@example.com\nTo: =?utf-8?Q?bob=0D=0ARCPT_TO=3Aevil?=@example.com\n" + BODY),
    code: 65,
    names: ["To"],
  },
  {
    name: "a base64 encoded word decoding to LF and NUL in a Cc address",
    bytes: () =>
      text(
        `From: alice@example.com\nTo: bob@example.com\nCc: =?utf-8?B?${
          btoa("x\n\0y")
        }?=@example.com\n` + BODY,
      ),
    code: 65,
    names: ["Cc"],
  },
  {
    name: "an encoded display name decoding to CRLF",
    deliver: true,
    bytes: () =>
      text(
        "From: alice@example.com\nTo: =?utf-8?Q?Bob=0D=0ABcc=3A_evil?= <bob@example.com>\n" + BODY,
      ),
    code: 65,
    names: ["To"],
  },
  {
    name: "a space inside an address",
    bytes: () => text("From: alice@example.com\nTo: <bob smith@example.com>\n" + BODY),
    code: 65,
    names: ["To"],
  },
  // ---- header syntax
  {
    name: "a To line of 999 characters",
    deliver: true,
    bytes: () =>
      text(`From: alice@example.com\nTo: ${"b".repeat(999 - 4 - 12)}@example.com\n` + BODY),
    code: 65,
    names: ["To", "999"],
  },
  {
    name: "a 100 000-character folded-free header",
    bytes: () => text(`${HEAD}X-Long: ${"y".repeat(100_000)}\n` + BODY),
    code: 65,
    names: ["X-Long"],
  },
  {
    name: "a stray line among the header fields",
    bytes: () => text("From: alice@example.com\nthis is not a field\nTo: bob@example.com\n" + BODY),
    code: 65,
    names: ["line 2"],
  },
  {
    name: "a continuation line first",
    bytes: () => text(" folded: nothing\nFrom: alice@example.com\nTo: bob@example.com\n" + BODY),
    code: 65,
    names: ["first line"],
  },
];

/** Messages `send --sign --encrypt` must seal, and openssl must open. */
export const sealedMessages: MessageCase[] = [
  {
    name: "headers only, no blank line (a valid message with an empty body)",
    bytes: () => text(HEAD.trimEnd()),
    code: 0,
  },
  {
    name: "mixed LF, CRLF and bare CR line ends",
    bytes: () =>
      text(
        "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\nSubject: mixed\r" +
          "\r\nline one\nline two\r\nline three\rline four\n",
      ),
    code: 0,
  },
  {
    name: "10 000 header fields",
    bytes: () => {
      const extra = Array.from({ length: 10_000 }, (_, i) => `X-Trace-${i}: hop ${i}\n`).join("");
      return text(HEAD + extra + BODY);
    },
    code: 0,
  },
  {
    name: "broken encoded words in Subject and the display name",
    bytes: () =>
      text(
        "From: =?utf-8?Q?Al=ZZice?= <alice@example.com>\nTo: =?x-unknown?B?!!!?= <bob@example.com>\n" +
          "Subject: =?utf-8?B?not base64 at all?= =?utf-8?Q?unterminated\n" + BODY,
      ),
    code: 0,
  },
  {
    name: "a MIME boundary that never closes",
    bytes: () =>
      text(
        `${HEAD}MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="open"\n\n` +
          "--open\nContent-Type: text/plain\n\nfirst\n--open\nContent-Type: text/plain\n\nsecond, no end\n",
      ),
    code: 0,
  },
  { name: "parts nested 1 000 deep", bytes: () => nested(1000), code: 0 },
  {
    name: "raw 8-bit UTF-8 in Subject and display names",
    bytes: () =>
      text(
        "From: Zoë Ålander <alice@example.com>\nTo: Björn <bob@example.com>\n" +
          "Subject: Kontoauszug für März – €\n" + BODY,
      ),
    code: 0,
  },
  {
    name: "Latin-1 bytes (invalid UTF-8) in Subject",
    bytes: () =>
      concat(
        HEAD.replace("Subject: corpus\n", "Subject: caf"),
        new Uint8Array([0xe9, 0xff]),
        "\n" + BODY,
      ),
    code: 0,
  },
  {
    name: "a From with two mailboxes and a Sender",
    bytes: () =>
      text(
        "From: alice@example.com, erin@example.com\nSender: alice@example.com\nTo: bob@example.com\n" +
          BODY,
      ),
    code: 0,
  },
  {
    name: "an empty group beside a real recipient",
    bytes: () =>
      text("From: alice@example.com\nTo: undisclosed-recipients:;, bob@example.com\n" + BODY),
    code: 0,
  },
  {
    name: "one Bcc recipient only (no one else to see the certificate)",
    bytes: () => text("From: alice@example.com\nBcc: bob@example.com\nSubject: bcc\n" + BODY),
    code: 0,
  },
  {
    name: "a header line of exactly 998 characters",
    bytes: () => text(`${HEAD}X-Edge: ${"z".repeat(998 - 8)}\n` + BODY),
    code: 0,
  },
];

/** Bcc only, signed (no encryption): one copy, no Bcc header in it. */
export const BCC_ONLY = text(
  "From: alice@example.com\nBcc: bob@example.com\nSubject: bcc\n" + BODY,
);

/** A message `verify` or `decrypt` must refuse. */
export interface OpenCase {
  name: string;
  command: "verify" | "decrypt";
  bytes: () => Uint8Array;
  code: number;
  names: string[];
}

const P7M_HEAD = "From: alice@example.com\nTo: bob@example.com\nMIME-Version: 1.0\n" +
  'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\n' +
  "Content-Transfer-Encoding: base64\n\n";
const SIGNED_HEAD = "From: alice@example.com\nTo: bob@example.com\nMIME-Version: 1.0\n" +
  'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; ' +
  "boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n";

function base64Lines(bytes: Uint8Array): string {
  return btoa(bytesToLatin1(bytes)).replace(/.{76}/g, "$&\n") + "\n";
}

/** DER that opens 10 000 indefinite-length SEQUENCEs and never closes one. */
function deepDer(): Uint8Array {
  const der = new Uint8Array(20_000);
  for (let i = 0; i < der.length; i += 2) der.set([0x30, 0x80], i);
  return der;
}

/** Sealed-looking messages that are not what they claim. */
export const refusedToOpen: OpenCase[] = [
  {
    name: "an enveloped-data body of random bytes",
    command: "decrypt",
    bytes: () => text(P7M_HEAD + base64Lines(noise(512, 11))),
    code: 65,
    names: ["m.eml", "CMS"],
  },
  {
    name: "an enveloped-data body that is not base64",
    command: "decrypt",
    bytes: () => text(P7M_HEAD + "!!!! not base64 ****\n"),
    code: 65,
    names: ["m.eml"],
  },
  {
    name: "a pkcs7-mime body nested 10 000 DER levels deep",
    command: "verify",
    bytes: () => text(P7M_HEAD + base64Lines(deepDer())),
    code: 65,
    names: ["m.eml", "too deep"],
  },
  {
    name: "a multipart/signed without its signature part",
    command: "verify",
    bytes: () => text(SIGNED_HEAD + "--b--\n"),
    code: 65,
    names: ["m.eml", "two parts"],
  },
  {
    name: "a multipart/signed whose signature is a truncated DER",
    command: "verify",
    bytes: () =>
      text(
        SIGNED_HEAD + "--b\nContent-Type: application/pkcs7-signature\n" +
          "Content-Transfer-Encoding: base64\n\nMIIBAAAA\n--b--\n",
      ),
    code: 65,
    names: ["m.eml"],
  },
  {
    name: "a plain message",
    command: "decrypt",
    bytes: () => text(HEAD + BODY),
    code: 65,
    names: ["m.eml", "not an S/MIME message"],
  },
  {
    name: "a plain message",
    command: "verify",
    bytes: () => text(HEAD + BODY),
    code: 65,
    names: ["m.eml", "not an S/MIME message"],
  },
];
