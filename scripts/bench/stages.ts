/**
 * What each stage of sealing one message costs, in CPU per message, one
 * stage at a time in one process: the stages a seal worker runs for every
 * message of a batch (parse, canonical form, CMS signing, MIME/base64,
 * CMS encryption, the outer message) and the structured clone that hands a
 * sealed copy between threads. A developer tool for finding what to attack
 * next, not part of `deno task bench`:
 *
 *     deno run --allow-read --allow-write --allow-ffi scripts/bench/stages.ts KEYS_DIR FILE [N]
 *
 * KEYS_DIR is a test key folder (scripts/make_pki.ts); FILE a plain message
 * from alice@example.com. CPU time is the process's, every thread included
 * (WebCrypto's work runs on a thread pool), per message.
 *
 * @module
 */
import process from "node:process";
import { KeyStore, loadPemBundle } from "../../core/keys/mod.ts";
import { encrypt, sign } from "../../core/cms/mod.ts";
import { canonicalEntity, envelopeOf, parseMessage } from "../../core/message/mod.ts";
import { sealMessage, type SealOptions } from "../../core/pipeline.ts";
import { pkcs7MimeEntity } from "../../core/smime/entity.ts";
import { encryptEntity, messageBytes, signEntity } from "../../core/smime/seal.ts";

/** CPU and wall milliseconds per call of `run`, over `n` calls after a warm-up. */
async function measure(n: number, run: () => unknown): Promise<{ cpuMs: number; wallMs: number }> {
  for (let i = 0; i < Math.min(50, n); i++) await run();
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / n, wallMs: (performance.now() - start) / n };
}

if (import.meta.main) {
  const [dir, file, count] = Deno.args;
  if (!dir || !file) {
    console.error("usage: scripts/bench/stages.ts KEYS_DIR FILE [N]");
    Deno.exit(64);
  }
  const n = Number(count ?? 2000);
  const keys = new KeyStore({
    dir,
    trustAnchors: loadPemBundle(await Deno.readFile(`${dir}/trust.pem`), "trust.pem"),
  });
  const options: SealOptions = {
    sign: true,
    detached: false,
    encrypt: true,
    singleCopy: true,
    ecRecipients: "shared",
  };
  const bytes = await Deno.readFile(file);
  const message = parseMessage(bytes, file);
  const envelope = envelopeOf(message);
  const signer = await keys.signerFor(envelope.sender);
  const certs = await Promise.all(
    [...envelope.recipients, envelope.sender].map(async (a) =>
      (await keys.certificateFor(a, "encrypt")).certificate
    ),
  );
  const { outer, entity } = canonicalEntity(message);
  const plain = { stage: "plain" as const, entity };
  const signedDer = await sign(entity, signer.identity, { detached: false });
  const signed = await signEntity(plain, signer.identity, { detached: false });
  const { der: envelopedDer } = await encrypt(signed.entity, certs, {});
  const sealed = await encryptEntity(signed, certs, {});
  const result = await sealMessage(parseMessage(bytes, file), keys, options);
  const stages: [string, () => unknown][] = [
    ["read the file", () => Deno.readFile(file)],
    ["parse (headers, MIME tree, envelope)", () => envelopeOf(parseMessage(bytes, file))],
    ["canonical form", () => canonicalEntity(message)],
    [
      "sign: CMS SignedData (digest, RSA, DER)",
      () => sign(entity, signer.identity, { detached: false }),
    ],
    ["sign: MIME wrapper (base64)", () => pkcs7MimeEntity(signedDer, "signed-data")],
    ["encrypt: CMS EnvelopedData (3 recipients, AES)", () => encrypt(signed.entity, certs, {})],
    ["encrypt: MIME wrapper (base64)", () => pkcs7MimeEntity(envelopedDer, "enveloped-data")],
    ["outer message bytes", () => messageBytes(outer, sealed)],
    [
      "hand-off: structured clone of the copies",
      () => structuredClone(result.copies.map((c) => c.toRecord())),
    ],
    [
      "sealMessage() whole (keys cached)",
      () => sealMessage(parseMessage(bytes, file), keys, options),
    ],
  ];
  console.log(
    `${file}: ${bytes.length} bytes, sealed ${result.copies[0]!.bytes.length}; ${n} runs`,
  );
  console.log(`${"stage".padEnd(48)}  CPU ms/msg  wall ms/msg`);
  for (const [name, run] of stages) {
    const { cpuMs, wallMs } = await measure(n, run);
    console.log(
      `${name.padEnd(48)}  ${cpuMs.toFixed(3).padStart(10)}  ${wallMs.toFixed(3).padStart(11)}`,
    );
  }
}
