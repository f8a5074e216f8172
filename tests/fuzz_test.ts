/**
 * Property-based fuzzing with fast-check, bounded and seeded.
 *
 * - Arbitrary messages (encoded words, 8-bit headers, bare CR/LF, dots,
 *   long lines, multipart and message/rfc822 trees) survive sign -> verify
 *   and encrypt -> decrypt exactly, checked against canonicalEntity, and a
 *   sample of them against `openssl cms`.
 * - verify, decrypt, inspect, openMessage and describeMessage on mutated CMS
 *   and mutated MIME either succeed or throw a SmimeError, within a time bound.
 * - The SMTP reply parser and the header parsers on random input: typed
 *   errors only, and 100 KB hostile inputs finish fast (no quadratic blowups).
 *
 * Every property runs with a seed that is printed on failure; rerun one with
 * `FUZZ_SEED=<seed> deno task test tests/fuzz_test.ts`. FUZZ_RUNS multiplies
 * the run counts (default 1) for a longer local session.
 *
 * @module
 */
import { bytesEqual, bytesToLatin1, latin1ToBytes } from "../core/bytes.ts";
import fc from "fast-check";
import { assert, assertEquals } from "./support/assert.ts";
import { openssl, testKeyStore, testPki } from "./support/helpers.ts";
import { decrypt, encrypt, inspect, sign, verify } from "../core/cms/mod.ts";
import type { RecipientKey } from "../core/cms/types.ts";
import { SmimeError } from "../core/errors.ts";
import { loadPemBundle } from "../core/keys/mod.ts";
import {
  canonicalEntity,
  decodeEncodedWords,
  parseAddressList,
  parseContentType,
  parseMessage,
  parseMimeTree,
} from "../core/message/mod.ts";
import type { Message } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import type { SealOptions } from "../core/pipeline.ts";
import { openMessage } from "../core/smime/open.ts";
import { decryptMessage } from "../core/smime/decrypt_message.ts";
import type { KeyCandidates } from "../core/smime/open.ts";
import { describeMessage } from "../core/smime/show.ts";
import { parseReplyLines, ReplyParser } from "../core/smtp/reply.ts";

// ------------------------------------------------------------------ harness

const BASE_SEED = Deno.env.get("FUZZ_SEED") !== undefined
  ? Number(Deno.env.get("FUZZ_SEED"))
  : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const SCALE = Number(Deno.env.get("FUZZ_RUNS") ?? "1") || 1;
// The default "small" size caps generated strings and arrays near 10 items,
// whatever their maxLength: let them reach theirs.
fc.configureGlobal({ baseSize: "medium" });

/** A call on hostile input that takes longer than this is a hang. */
const HANG_MS = 2_000;

/**
 * Runs a property with a fixed seed (printed on failure, with the shrunk
 * counterexample and how to replay it). It fails unless all `numRuns` runs
 * happened: no time limit cuts it short, and fast-check counting fewer runs
 * (too many skipped, or interrupted) is a failure, not a quiet pass.
 */
async function check<Ts extends [unknown, ...unknown[]]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  numRuns: number,
): Promise<void> {
  const seed = BASE_SEED;
  const asked = Math.ceil(numRuns * SCALE);
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    seed,
    numRuns: asked,
    endOnFailure: false,
    // Shrinking re-runs crypto; keep it bounded.
    maxSkipsPerRun: 20,
  });
  if (!details.failed && (details.interrupted || details.numRuns < asked)) {
    throw new Error(
      `${name}: only ${details.numRuns} of ${asked} runs` +
        `${details.interrupted ? " (interrupted)" : ""} (FUZZ_SEED=${seed})`,
    );
  }
  if (details.failed) {
    const error = details.errorInstance instanceof Error
      ? `${details.errorInstance.message}\n${details.errorInstance.stack ?? ""}`
      : String(details.errorInstance);
    const message = `${fc.defaultReportMessage(details) ?? "property failed"}\n${error}`;
    throw new Error(
      `${name}: FUZZ_SEED=${seed} (replay: FUZZ_SEED=${seed} deno task test tests/fuzz_test.ts)\n` +
        message,
    );
  }
}

/** Fails unless `err` is a SmimeError: anything else escaping is a bug. */
function assertTyped(err: unknown, what: string): void {
  if (err instanceof SmimeError) return;
  const shown = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err);
  throw new Error(`${what} threw a non-SmimeError (a bug): ${shown}`);
}

/**
 * Runs `fn`, failing when it throws anything but a SmimeError, never settles
 * within {@link HANG_MS}, or blocks the event loop that long.
 */
async function typedWithin(what: string, fn: () => unknown): Promise<void> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), HANG_MS);
  });
  try {
    const outcome = await Promise.race([
      (async () => {
        await fn();
        return "ok" as const;
      })(),
      hang,
    ]);
    if (outcome === "hang") throw new Error(`${what}: no answer within ${HANG_MS} ms (a hang)`);
  } catch (err) {
    if (err instanceof Error && err.message.includes("(a hang)")) throw err;
    assertTyped(err, what);
  } finally {
    clearTimeout(timer);
  }
  const took = performance.now() - started;
  if (took > HANG_MS) throw new Error(`${what}: took ${took.toFixed(0)} ms (a hang)`);
}

/** Synchronous parsers: typed errors only and done within `ms`. */
function typedFast(what: string, fn: () => unknown, ms = 1_000): void {
  const started = performance.now();
  try {
    fn();
  } catch (err) {
    assertTyped(err, what);
  }
  const took = performance.now() - started;
  if (took > ms) throw new Error(`${what}: took ${took.toFixed(0)} ms (too slow: quadratic?)`);
}

// ------------------------------------------------------------------ bytes

/** UTF-8 of `text` as a binary string. */
function utf8Binary(text: string): string {
  return bytesToLatin1(new TextEncoder().encode(text));
}

function b64(binary: string): string {
  return btoa(binary);
}

function wrap(text: string, width: number, eol: string): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width));
  return lines.join(eol);
}

// ------------------------------------------------------------ arbitraries

const ascii = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom(
      ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"()<>@[]/+-",
    ),
    minLength: min,
    maxLength: max,
  });
const eightBit = fc.string({
  unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 12,
});
const unicode = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 });

/** One token of a header value: words, encoded words (valid and broken), 8-bit, UTF-8. */
const headerToken = fc.oneof(
  { weight: 4, arbitrary: ascii(1, 20) },
  { weight: 2, arbitrary: unicode.map((s) => `=?utf-8?B?${b64(utf8Binary(s))}?=`) },
  {
    weight: 2,
    arbitrary: fc.tuple(ascii(0, 10), eightBit).map(([a, e]) =>
      "=?iso-8859-1?Q?" +
      [...a + e].map((c) =>
        /[A-Za-z0-9]/.test(c)
          ? c
          : `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`
      ).join("") + "?="
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "=?",
      "?=",
      "=?utf-8?Q?",
      "=?bogus-charset?B?AAAA?=",
      "=?utf-8?B?!!!?=",
      "=?utf-8*en?Q?x?=",
      "=?=?=?",
      "=??=",
    ),
  },
  { weight: 1, arbitrary: eightBit },
  { weight: 1, arbitrary: unicode.map(utf8Binary) },
);

/** A header value, sometimes folded. */
const headerValue = (eol: string) =>
  fc.array(fc.tuple(headerToken, fc.constantFrom(" ", " ", " ", `${eol} `, `${eol}\t`, "")), {
    minLength: 1,
    maxLength: 8,
  }).map((parts) => parts.map(([t, s], i) => (i ? s : "") + t).join("").trim() || "x");

/** Body text fragments: the tricky ones included (dots, From, bare CR and LF, 8-bit, long lines). */
const bodyFragment = fc.oneof(
  { weight: 5, arbitrary: ascii(0, 60) },
  { weight: 3, arbitrary: fc.constantFrom("\n", "\r\n") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "\r",
      "\n.",
      "\r\n.\r\n",
      "\n..\n",
      ".",
      "From ",
      "\t",
      " \r\n",
      "=",
      "=\r\n",
      "=3D",
      "\0",
    ),
  },
  { weight: 1, arbitrary: eightBit },
  { weight: 1, arbitrary: unicode.map(utf8Binary) },
  { weight: 1, arbitrary: fc.integer({ min: 900, max: 2_100 }).map((n) => "L".repeat(n)) },
);
const bodyText = fc.array(bodyFragment, { maxLength: 40 }).map((parts) => parts.join(""));

interface Part {
  /** Builds the entity (header fields, blank line, body) with this line end. */
  build(eol: string, path: string): string;
}

const leafPart: fc.Arbitrary<Part> = fc.tuple(
  fc.constantFrom(
    "text/plain; charset=utf-8",
    "text/plain; charset=iso-8859-1",
    'text/html; charset="us-ascii"',
    'application/octet-stream; name="a b.bin"',
    "text/plain",
    "",
  ),
  fc.constantFrom("", "7bit", "8bit", "binary", "quoted-printable", "base64", "QUOTED-PRINTABLE"),
  bodyText,
  fc.uint8Array({ maxLength: 600 }),
).map(([type, cte, text, binary]) => ({
  build(eol: string) {
    const head = (type ? `Content-Type: ${type}${eol}` : "") +
      (cte ? `Content-Transfer-Encoding: ${cte}${eol}` : "");
    let body = text;
    if (cte === "base64") body = wrap(b64(bytesToLatin1(binary)), 76, eol) + eol;
    if (cte.toLowerCase() === "quoted-printable") {
      body = text.replace(
        /[^\t\n\r -<>-~]/g,
        (c) => `=${(c.charCodeAt(0) & 0xff).toString(16).toUpperCase().padStart(2, "0")}`,
      );
    }
    return `${head}${eol}${body}`;
  },
}));

const { part: partArb } = fc.letrec<{ part: Part; multi: Part; rfc822: Part }>((tie) => ({
  part: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafPart,
    tie("multi"),
    tie("rfc822"),
  ),
  multi: fc.tuple(
    fc.constantFrom("mixed", "alternative", "related", "signed"),
    fc.array(tie("part"), { minLength: 1, maxLength: 3 }),
    bodyText,
    bodyText,
    fc.boolean(),
  ).map(([subtype, children, preamble, epilogue, quoted]) => ({
    build(eol: string, path: string) {
      const boundary = `=_b${path}_${subtype}`;
      const param = `"${boundary}"` +
        (subtype === "signed" && quoted ? '; protocol="application/pgp-signature"' : "");
      const parts = children.map((c, i) =>
        `--${boundary}${eol}${c.build(eol, `${path}${i}`)}${eol}`
      );
      return `Content-Type: multipart/${subtype}; boundary=${param}${eol}${eol}` +
        `${preamble.replaceAll("-", "")}${eol}${parts.join("")}--${boundary}--${eol}` +
        epilogue.replaceAll("-", "");
    },
  })),
  rfc822: fc.tuple(tie("part"), headerValue("\n")).map(([inner, subject]) => ({
    build(eol: string, path: string) {
      return `Content-Type: message/rfc822${eol}${eol}` +
        `From: inner@example.org${eol}Subject: ${subject.replaceAll("\n", eol)}${eol}` +
        `MIME-Version: 1.0${eol}${inner.build(eol, `${path}m`)}`;
    },
  })),
}));

/** A whole message from alice to carol, as bytes. */
const messageArb = fc.tuple(
  fc.constantFrom("\n", "\r\n"),
  headerValue("\n"),
  headerValue("\n"),
  fc.oneof(leafPart, partArb),
  fc.boolean(),
  fc.array(fc.tuple(fc.constantFrom("X-A", "Comments", "Keywords", "X-Tag"), headerValue("\n")), {
    maxLength: 3,
  }),
).map(([eol, subject, name, body, mimeVersion, extra]) => {
  const fix = (v: string) => v.replaceAll("\n", eol);
  const head = `From: ${fix(name).replace(/[<>@,;:"\\()[\]]/g, "")} <alice@example.com>${eol}` +
    `To: carol@example.net${eol}Subject: ${fix(subject)}${eol}` +
    extra.map(([n, v]) => `${n}: ${fix(v)}${eol}`).join("") +
    (mimeVersion ? `MIME-Version: 1.0${eol}` : "");
  return latin1ToBytes(head + body.build(eol, "0"));
});

// -------------------------------------------------------------- fixtures

const SENDER = "alice@example.com";
const RECIPIENT = "carol@example.net";

let fixtures:
  | Promise<{
    dir: string;
    trust: Uint8Array[];
    keys: Awaited<ReturnType<typeof testKeyStore>>;
    candidates: KeyCandidates;
    recipientKeys: (RecipientKey & { certificate: Uint8Array; file: string })[];
  }>
  | undefined;

function setup() {
  fixtures ??= (async () => {
    const dir = await testPki();
    const trust = loadPemBundle(await Deno.readFile(`${dir}/trust.pem`), "trust.pem");
    const keys = await testKeyStore();
    const recipientKeys = [
      { ...await keys.recipientKeysFor(RECIPIENT), file: RECIPIENT },
      { ...await keys.recipientKeysFor(SENDER), file: SENDER },
    ];
    return { dir, trust, keys, candidates: () => Promise.resolve(recipientKeys), recipientKeys };
  })();
  return fixtures;
}

/** Parses and seals; undefined when the generated message is refused with a SmimeError. */
async function seal(bytes: Uint8Array, options: Omit<SealOptions, "singleCopy">) {
  const { keys } = await setup();
  let message: Message;
  try {
    message = parseMessage(bytes, "fuzz.eml");
    const result = await sealMessage(message, keys, { ...options, singleCopy: true });
    return { message, bytes: result.copies[0]!.bytes };
  } catch (err) {
    assertTyped(err, "parseMessage/sealMessage");
    return undefined;
  }
}

// -------------------------------------------------------------- round trips

Deno.test("fuzz: sign (opaque and detached) then verify round-trips to the canonical entity; openssl agrees on a sample", async () => {
  const { dir, trust } = await setup();
  let sealed = 0;
  let checkedWithOpenssl = 0;
  await check(
    "sign/verify",
    fc.asyncProperty(messageArb, fc.boolean(), async (bytes, detached) => {
      const done = await seal(bytes, { sign: true, detached, encrypt: false });
      if (!done) return;
      sealed++;
      const expected = canonicalEntity(done.message).entity;
      const opened = await openMessage(done.bytes, "fuzz.eml", { trustAnchors: trust });
      assertEquals(opened.layers.length, 1);
      const layer = opened.layers[0]!;
      assert(layer.kind === "signed" && layer.detached === detached, "layer kind");
      const signer = layer.result.signers[0]!;
      assert(signer.signatureValid, `signature invalid: ${JSON.stringify(signer)}`);
      assertEquals(signer.chain, "trusted");
      assert(bytesEqual(opened.content, expected), "verified content differs from canonicalEntity");
      if (checkedWithOpenssl < 10) {
        checkedWithOpenssl++;
        const run = await openssl([
          "cms",
          "-verify",
          "-CAfile",
          `${dir}/trust.pem`,
          "-purpose",
          "smimesign",
          ...(detached ? [] : ["-binary"]),
        ], done.bytes);
        assertEquals(run.code, 0, `openssl cms -verify: ${run.stderr}`);
        if (!detached) assert(bytesEqual(run.stdout, expected), "openssl's content differs");
      }
    }),
    60,
  );
  assert(sealed >= 30, `only ${sealed} generated messages could be sealed`);
  assert(checkedWithOpenssl >= 10, "openssl sample not reached");
});

Deno.test("fuzz: encrypt then decrypt returns exactly the canonical input; openssl agrees on a sample", async () => {
  const { dir, candidates } = await setup();
  let sealed = 0;
  let checkedWithOpenssl = 0;
  await check(
    "encrypt/decrypt",
    fc.asyncProperty(
      messageArb,
      fc.constantFrom("aes-256-cbc", "aes-128-cbc", "aes-256-gcm", "aes-128-gcm" as const),
      fc.constantFrom("pkcs1" as const, "oaep" as const),
      async (bytes, cipher, rsaKeyTransport) => {
        const done = await seal(bytes, {
          sign: false,
          detached: false,
          encrypt: true,
          cipher,
          rsaKeyTransport,
        });
        if (!done) return;
        sealed++;
        const expected = canonicalEntity(done.message).entity;
        const opened = await openMessage(done.bytes, "fuzz.eml", { keys: candidates });
        assertEquals(opened.layers.map((l) => l.kind), [
          cipher.endsWith("gcm") ? "auth-enveloped-data" : "enveloped-data",
        ]);
        assert(bytesEqual(opened.content, expected), "decrypted content differs from the input");
        // openssl 3 opens AuthEnvelopedData too; check with carol (EC) and alice (RSA).
        if (checkedWithOpenssl < 10) {
          const who = checkedWithOpenssl % 2 ? SENDER : RECIPIENT;
          checkedWithOpenssl++;
          const run = await openssl([
            "cms",
            "-decrypt",
            "-binary",
            "-recip",
            `${dir}/${who}.crt`,
            "-inkey",
            `${dir}/${who}.pem`,
          ], done.bytes);
          assertEquals(run.code, 0, `openssl cms -decrypt: ${run.stderr}`);
          assert(bytesEqual(run.stdout, expected), "openssl's plaintext differs");
        }
      },
    ),
    50,
  );
  assert(sealed >= 25, `only ${sealed} generated messages could be sealed`);
});

Deno.test("fuzz: CMS encrypt/decrypt and sign/verify of arbitrary bytes are exact", async () => {
  const { keys, recipientKeys } = await setup();
  const alice = await keys.signerFor(SENDER);
  const certs = recipientKeys.map((k) => k.certificate);
  await check(
    "cms bytes",
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 4_000 }),
      fc.constantFrom("aes-256-cbc", "aes-128-gcm" as const),
      async (content, cipher) => {
        const { der } = await encrypt(content, certs, { cipher });
        for (const key of recipientKeys) {
          assert(bytesEqual(await decrypt(der, key), content), `decrypt with ${key.file}`);
        }
        const signed = await sign(content, alice.identity, { detached: false });
        const result = await verify(signed);
        assert(result.signers[0]?.signatureValid === true, "signature invalid");
        assert(bytesEqual(result.content, content), "signed content differs");
      },
    ),
    25,
  );
});

// ------------------------------------------------------------- mutations

/** Byte-level mutations of valid input: flips, truncations, insertions, deletions, length bombs. */
const mutation = fc.oneof(
  fc.record({
    op: fc.constant("flip" as const),
    at: fc.nat(),
    bits: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    op: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    op: fc.constant("delete" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    op: fc.constant("length" as const),
    at: fc.nat(),
    bytes: fc.constantFrom(
      [0x84, 0xff, 0xff, 0xff, 0xff],
      [0x80],
      [0x81, 0x00],
      [0x82, 0x7f, 0xff],
      [0x88, 1, 0, 0, 0, 0, 0, 0, 0],
    ),
  }),
  fc.record({
    op: fc.constant("duplicate" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 200 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function splice(bytes: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const tail = bytes.subarray(Math.min(bytes.length, at + remove));
  const out = new Uint8Array(at + insert.length + tail.length);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(tail, at + insert.length);
  return out;
}

function mutate(input: Uint8Array, edits: Mutation[]): Uint8Array {
  let bytes: Uint8Array = input.slice();
  for (const edit of edits) {
    const at = bytes.length ? edit.at % bytes.length : 0;
    switch (edit.op) {
      case "flip":
        if (bytes.length) bytes[at] = bytes[at]! ^ edit.bits;
        break;
      case "set":
        if (bytes.length) bytes[at] = edit.value;
        break;
      case "truncate":
        bytes = bytes.slice(0, at);
        break;
      case "insert":
        bytes = splice(bytes, at, 0, edit.bytes);
        break;
      case "length":
        // A length octet replaced by a long form: huge, zero, indefinite.
        bytes = splice(bytes, at, 1, new Uint8Array(edit.bytes));
        break;
      case "delete":
        bytes = splice(bytes, at, edit.length, new Uint8Array());
        break;
      case "duplicate": {
        bytes = splice(bytes, at, 0, bytes.slice(at, at + edit.length));
        break;
      }
    }
  }
  return bytes;
}

Deno.test("fuzz: verify, decrypt and inspect on mutated CMS: success or a SmimeError, never a crash or hang", async () => {
  const { keys, trust, recipientKeys } = await setup();
  const alice = await keys.signerFor(SENDER);
  const content = new TextEncoder().encode("Content-Type: text/plain\r\n\r\nhello\r\n");
  const certs = recipientKeys.map((k) => k.certificate);
  const opaque = await sign(content, alice.identity, { detached: false });
  const detached = await sign(content, alice.identity, { detached: true, rsaPadding: "pss" });
  const carolSigner = await keys.signerFor(RECIPIENT);
  const ecSigned = await sign(content, carolSigner.identity, {
    detached: false,
    digest: "SHA-384",
  });
  const enveloped = (await encrypt(content, certs, { cipher: "aes-256-cbc" })).der;
  const oaep =
    (await encrypt(content, certs, { cipher: "aes-128-cbc", rsaKeyTransport: "oaep" })).der;
  const gcm = (await encrypt(content, certs, { cipher: "aes-256-gcm" })).der;
  const samples = [opaque, detached, ecSigned, enveloped, oaep, gcm];
  let accepted = 0;
  await check(
    "mutated CMS",
    fc.asyncProperty(
      fc.nat({ max: samples.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      async (which, edits) => {
        const der = mutate(samples[which]!, edits);
        await typedWithin("inspect", () => inspect(der));
        await typedWithin("verify", async () => {
          await verify(der, { trustAnchors: trust });
          accepted++;
        });
        await typedWithin("verify detached", () => verify(der, { detachedContent: content }));
        for (const key of recipientKeys) {
          await typedWithin(`decrypt (${key.file})`, () => decrypt(der, key));
        }
      },
    ),
    1_500,
  );
  // Most mutations must be refused; the count only shows the run did something.
  assert(accepted < 1_500 * SCALE, "every mutation verified?");
});

Deno.test("fuzz: openMessage and describeMessage on mutated sealed messages: success or a SmimeError", async () => {
  const { trust, candidates } = await setup();
  const text = "From: alice@example.com\nTo: carol@example.net\nSubject: =?utf-8?B?w6k=?=\n" +
    "Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nhi\n.\n" +
    "--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAEC\n--XX--\n";
  const sealed: Uint8Array[] = [];
  for (
    const options of [
      { sign: true, detached: false, encrypt: false },
      { sign: true, detached: true, encrypt: false },
      { sign: true, detached: false, encrypt: true, cipher: "aes-256-gcm" as const },
      { sign: true, detached: true, encrypt: true },
    ]
  ) {
    const done = await seal(latin1ToBytes(text), options);
    assert(done, "fixture message did not seal");
    sealed.push(done.bytes);
  }
  const lineEdit = fc.record({
    kind: fc.constantFrom("drop", "dup", "header", "boundary", "b64", "swap", "crlf"),
    at: fc.nat(),
    with: fc.constantFrom(
      'Content-Type: multipart/signed; boundary=""',
      "Content-Type: application/pkcs7-mime; smime-type=enveloped-data",
      "Content-Type: message/rfc822",
      "Content-Transfer-Encoding: quoted-printable",
      "Content-Transfer-Encoding: x-uuencode",
      "Content-Type: multipart/mixed; boundary*0=a; boundary*1=b",
      "--",
      "====",
      "",
    ),
  });
  await check(
    "mutated MIME",
    fc.asyncProperty(
      fc.nat({ max: sealed.length - 1 }),
      fc.array(fc.oneof(mutation.map((m) => ({ bytes: m })), lineEdit.map((l) => ({ line: l }))), {
        minLength: 1,
        maxLength: 4,
      }),
      async (which, edits) => {
        let bytes = sealed[which]!;
        for (const edit of edits) {
          if ("bytes" in edit) bytes = mutate(bytes, [edit.bytes]);
          else bytes = editLines(bytes, edit.line);
        }
        await typedWithin(
          "openMessage",
          () => openMessage(bytes, "mutated.eml", { trustAnchors: trust, keys: candidates }),
        );
        await typedWithin(
          "decryptMessage",
          () => decryptMessage(bytes, "mutated.eml", candidates),
        );
        await typedWithin(
          "describeMessage",
          () => describeMessage(bytes, "mutated.eml", { keys: candidates }),
        );
        await typedWithin("describeMessage (no keys)", () => describeMessage(bytes, "mutated.eml"));
      },
    ),
    600,
  );
});

function editLines(
  bytes: Uint8Array,
  edit: { kind: string; at: number; with: string },
): Uint8Array {
  const text = bytesToLatin1(bytes);
  const lines = text.split("\r\n");
  const at = edit.at % Math.max(1, lines.length);
  switch (edit.kind) {
    case "drop":
      lines.splice(at, 1);
      break;
    case "dup":
      lines.splice(at, 0, lines[at] ?? "");
      break;
    case "header":
      lines.splice(at, 0, edit.with);
      break;
    case "boundary": {
      const i = lines.findIndex((l, n) => n >= at && l.startsWith("--"));
      if (i >= 0) lines[i] = lines[i]!.slice(0, -1) + "Z";
      break;
    }
    case "b64": {
      const line = lines[at] ?? "";
      lines[at] = line.replace(/[A-Za-z0-9+/]/, "!");
      break;
    }
    case "swap":
      if (at + 1 < lines.length) [lines[at], lines[at + 1]] = [lines[at + 1]!, lines[at]!];
      break;
    case "crlf":
      return latin1ToBytes(lines.join(at % 2 ? "\n" : "\r"));
  }
  return latin1ToBytes(lines.join("\r\n"));
}

// ------------------------------------------------------------- SMTP replies

const replyLine = fc.oneof(
  fc.tuple(
    fc.constantFrom("220", "250", "354", "421", "451", "535", "550", "999", "25", "2500", "abc"),
    fc.constantFrom(" ", "-", "", "\t", "--"),
    fc.oneof(ascii(0, 40), fc.constantFrom("2.0.0 ok", "5.7.8 bad", "4.2.2", "9.9.9 x", "2.0.0")),
  ).map(([c, s, t]) => c + s + t),
  fc.string({ maxLength: 60 }),
  fc.constant("x".repeat(5_000)),
);

Deno.test("fuzz: the SMTP reply parser on random bytes and lines: bounded, typed errors only", async () => {
  await check(
    "ReplyParser bytes",
    fc.property(
      fc.array(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.array(replyLine, { maxLength: 8 }).chain((lines) =>
            fc.constantFrom("\r\n", "\n", "\r").map((eol) =>
              new TextEncoder().encode(lines.join(eol) + eol)
            )
          ),
        ),
        { maxLength: 12 },
      ),
      (chunks) => {
        const parser = new ReplyParser();
        let replies = 0;
        typedFast("ReplyParser", () => {
          for (const chunk of chunks) {
            parser.push(chunk);
            for (let reply = parser.next(); reply; reply = parser.next()) {
              replies++;
              assert(reply.code >= 200 && reply.code <= 599, `code ${reply.code}`);
              assert(reply.lines.length <= 100, "too many lines kept");
            }
          }
        });
        assert(replies <= 10_000, "unbounded");
        parser.discard();
      },
    ),
    1_500,
  );
  await check(
    "parseReplyLines",
    fc.property(fc.array(replyLine, { maxLength: 120 }), (lines) => {
      typedFast("parseReplyLines", () => parseReplyLines(lines));
    }),
    1_500,
  );
  // A server that streams without end is cut off, not buffered.
  typedFast("ReplyParser flood", () => {
    const parser = new ReplyParser();
    const chunk = new TextEncoder().encode("250-" + "a".repeat(1_000) + "\r\n");
    for (let i = 0; i < 1_000; i++) {
      parser.push(chunk);
      parser.next();
    }
  });
  const parser = new ReplyParser();
  const bytes = new TextEncoder().encode("250-ok\r\n".repeat(20_000));
  let thrown: unknown;
  const started = performance.now();
  try {
    parser.push(bytes);
    parser.next();
  } catch (err) {
    thrown = err;
  }
  assert(thrown instanceof SmimeError, "20,000 continuation lines must be refused");
  assert(performance.now() - started < 1_000, "the flood took too long");
});

// --------------------------------------------------------- header parsers

/** Strings biased toward the syntax of addresses, content types and encoded words. */
const syntaxString = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(..."\"\\()<>,;:@[].=?*'% \t\r\n-_/") },
    { weight: 4, arbitrary: fc.constantFrom(..."abcxyzBQ019") },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "=?",
        "?=",
        "=?utf-8?B?",
        "=?iso-8859-1?Q?",
        "*0*=",
        "*1=",
        "utf-8''",
        "%C3%A9",
        "boundary=",
        "charset=",
        "\u00e9",
        "\u{1F600}",
        "\u0000",
        "\uFFFD",
        "\uD800",
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
  ),
  maxLength: 200,
});

Deno.test("fuzz: parseAddressList, parseContentType, decodeEncodedWords and parseMessage: typed errors only", async () => {
  await check(
    "header parsers",
    fc.property(syntaxString, (text) => {
      typedFast("parseAddressList", () => parseAddressList(text, "fuzz"));
      typedFast("parseContentType", () => parseContentType(text));
      typedFast("decodeEncodedWords", () => {
        const out = decodeEncodedWords(text);
        assert(typeof out === "string", "not a string");
      });
    }),
    10_000,
  );
  await check(
    "parseMessage",
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 2_000 }),
        fc.array(
          fc.oneof(
            syntaxString,
            fc.constantFrom(
              "\r\n",
              "\n",
              "\n\n",
              "From: a@b\n",
              "Content-Type: multipart/mixed; boundary=a\n",
              "--a\n",
              "--a--\n",
              " folded\n",
              ":\n",
            ),
          ),
          { maxLength: 30 },
        )
          .map((parts) => latin1ToBytes(parts.join(""))),
      ),
      (bytes) => {
        typedFast("parseMessage", () => parseMessage(bytes, "fuzz.eml"));
        typedFast("parseMimeTree", () => parseMimeTree(bytes, "fuzz.eml"));
        typedFast("canonicalEntity", () => canonicalEntity(parseMessage(bytes, "fuzz.eml")));
      },
    ),
    1_500,
  );
});

Deno.test("fuzz: 100 KB hostile inputs to the header and MIME parsers finish fast", async (t) => {
  const K = 100_000;
  const rep = (s: string) => s.repeat(Math.ceil(K / s.length)).slice(0, K);
  const strings: Record<string, string> = {
    "open parens": rep("("),
    "comments": rep("(a"),
    "quotes": rep('"'),
    "backslashes": rep("\\"),
    "quoted pairs": '"' + rep('\\"'),
    "angles": rep("<"),
    "commas": rep(","),
    "semicolons": rep(";"),
    "colons (groups)": rep("a:"),
    "at signs": rep("@"),
    "brackets": rep("["),
    "encoded-word starts": rep("=?"),
    "encoded words": rep("=?utf-8?Q?a?= "),
    "unclosed encoded words": rep("=?utf-8?Q?"),
    "adjacent encoded words": rep("=?utf-8?B?w6k=?="),
    "rfc2231 continuations": "text/plain" + rep("; a*0*=x"),
    "many params": "text/plain" + rep("; a=b"),
    "quoted param": 'text/plain; a="' + rep("x\\"),
    "addresses": rep("a@b.c, "),
    "display names": rep("a b c "),
    "spaces": rep(" "),
    "folds": rep("\r\n "),
  };
  for (const [name, text] of Object.entries(strings)) {
    await t.step(`header text: ${name}`, () => {
      typedFast(`parseAddressList(${name})`, () => parseAddressList(text, "fuzz"));
      typedFast(`parseContentType(${name})`, () => parseContentType(text));
      typedFast(`decodeEncodedWords(${name})`, () => decodeEncodedWords(text));
    });
  }
  const messages: Record<string, string> = {
    "many header fields": "From: a@b\n" + rep("X-A: b\n") + "\n\nbody",
    "one long folded field": "From: a@b\nSubject: " + rep("x\n ") + "\n\nbody",
    "long header line": "From: a@b\nSubject: " + rep("x") + "\n\nbody",
    "no blank line": rep("a: b\n"),
    "bare CRs": "From: a@b\n\n" + rep("\r"),
    "many parts": "From: a@b\nContent-Type: multipart/mixed; boundary=a\n\n" + rep("--a\n\nx\n"),
    "empty parts": "From: a@b\nContent-Type: multipart/mixed; boundary=a\n\n" + rep("--a\n"),
    "almost boundaries": "From: a@b\nContent-Type: multipart/mixed; boundary=abc\n\n" +
      rep("--ab\n"),
    "deep nesting": "From: a@b\n" +
      Array.from(
        { length: 2_000 },
        (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n`,
      ).join(""),
    "deep rfc822": "From: a@b\n" + rep("Content-Type: message/rfc822\n\n"),
    "base64 junk": "From: a@b\nContent-Transfer-Encoding: base64\n\n" + rep("!=A"),
    "qp soft breaks":
      "From: a@b\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n" +
      rep("=\n"),
    "8bit long lines": "From: a@b\nContent-Transfer-Encoding: 8bit\n\n" + rep("\u00e9"),
  };
  for (const [name, text] of Object.entries(messages)) {
    await t.step(`message: ${name}`, () => {
      const bytes = latin1ToBytes(text);
      typedFast(`parseMessage(${name})`, () => parseMessage(bytes, "big.eml"));
      typedFast(`parseMimeTree(${name})`, () => parseMimeTree(bytes, "big.eml"));
      typedFast(`canonicalEntity(${name})`, () => canonicalEntity(parseMessage(bytes, "big.eml")));
    });
  }
});

Deno.test("fuzz: 100 KB hostile sealed-message shapes to openMessage and describeMessage finish fast", async (t) => {
  const { candidates } = await setup();
  const K = 100_000;
  const shapes: Record<string, string> = {
    "deep multipart/signed": "From: a@b\n" +
      Array.from(
        { length: 1_500 },
        (_, i) => `Content-Type: multipart/signed; boundary=b${i}\n\n--b${i}\n`,
      ).join(""),
    "pkcs7 with junk base64": "Content-Type: application/pkcs7-mime; smime-type=signed-data\n" +
      "Content-Transfer-Encoding: base64\n\n" + "MIAGCSqGSIb3DQEHAqCAMIACAQE".repeat(K / 27),
    "pkcs7 indefinite nesting":
      "Content-Type: application/pkcs7-mime\nContent-Transfer-Encoding: base64\n\n" +
      btoa(bytesToLatin1(new Uint8Array(K).map((_, i) => i % 2 ? 0x80 : 0x30))),
    "pkcs7 definite nesting":
      "Content-Type: application/pkcs7-mime\nContent-Transfer-Encoding: base64\n\n" +
      btoa(bytesToLatin1(new Uint8Array(K).map((_, i) => i % 2 ? 0x84 : 0x30))),
    "show: many signature parts": "Content-Type: multipart/mixed; boundary=a\n\n" +
      "--a\nContent-Type: application/pkcs7-signature\n\nMAA=\n".repeat(K / 50),
  };
  for (const [name, text] of Object.entries(shapes)) {
    await t.step(name, async () => {
      const bytes = latin1ToBytes(text);
      const started = performance.now();
      await typedWithin(
        `openMessage(${name})`,
        () => openMessage(bytes, "big.eml", { keys: candidates }),
      );
      await typedWithin(
        `describeMessage(${name})`,
        () => describeMessage(bytes, "big.eml", { keys: candidates }),
      );
      const took = performance.now() - started;
      assert(took < 3_000, `${name}: ${took.toFixed(0)} ms`);
    });
  }
});

// ------------------------------------------------------------ regressions

Deno.test("fuzz regression: signed content that is itself a non-S/MIME multipart/signed is content, not a layer", async () => {
  const { trust } = await setup();
  const text = "From: alice@example.com\nTo: carol@example.net\nSubject: pgp inside\n" +
    'Content-Type: multipart/signed; boundary="p"; protocol="application/pgp-signature"\n\n' +
    "--p\nContent-Type: text/plain\n\nhello\n--p--\n";
  const done = await seal(latin1ToBytes(text), { sign: true, detached: false, encrypt: false });
  assert(done, "did not seal");
  const opened = await openMessage(done.bytes, "pgp.eml", { trustAnchors: trust });
  assertEquals(opened.layers.length, 1);
  assert(bytesEqual(opened.content, canonicalEntity(done.message).entity), "content differs");
});

Deno.test("fuzz regression: verify with a signer certificate whose EC point is broken reports, not throws", async () => {
  const { keys, trust } = await setup();
  const carol = await keys.signerFor(RECIPIENT);
  const content = new TextEncoder().encode("Content-Type: text/plain\r\n\r\nhello\r\n");
  const der = await sign(content, carol.identity, { detached: false });
  for (let at = 0; at < der.length; at++) {
    const bad = der.slice();
    bad[at] = 0;
    await typedWithin(`verify (byte ${at} zeroed)`, () => verify(bad, { trustAnchors: trust }));
  }
});
