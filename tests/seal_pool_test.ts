/**
 * The seal pool with real workers: a small run never starts one, a longer
 * run moves to them, and replies crossing in batches each reach the message
 * they belong to. openssl decrypts and verifies a copy from each path.
 *
 * @module
 */
import { strictEqual } from "node:assert/strict";
import { SealPool, type SealPoolOptions } from "../core/batch/seal_pool.ts";
import { loadPemBundle } from "../core/keys/mod.ts";
import { messageBytes, openssl, testPki } from "./support/helpers.ts";

const message = (i: number) =>
  messageBytes(
    `From: alice@example.com\nTo: bob@example.com\nMessage-ID: <pool-${i}@example.com>\n` +
      `Subject: pool ${i}\n\nmessage number ${i}\n`,
  );

async function poolOptions(extra: Partial<SealPoolOptions>): Promise<SealPoolOptions> {
  const dir = await testPki();
  return {
    workers: 2,
    keys: {
      dir,
      trustAnchors: loadPemBundle(await Deno.readFile(`${dir}/trust.pem`), "trust.pem"),
      allowInvalid: false,
      allowInsecurePermissions: false,
    },
    seal: { sign: true, detached: false, encrypt: true },
    passphrase: () => Promise.resolve(undefined),
    ...extra,
  };
}

/** Seals messages 0..n-1 at once; checks each reply is its own message's. */
async function sealAll(pool: SealPool, n: number): Promise<Uint8Array[]> {
  const outcomes = await Promise.all(
    Array.from(
      { length: n },
      (_, i) => pool.seal({ key: `m${i}`, label: `m${i}`, bytes: message(i) }),
    ),
  );
  return outcomes.map((outcome, i) => {
    if (!outcome.ok) throw new Error(`m${i}: ${outcome.reason}`);
    strictEqual(outcome.messageId, `<pool-${i}@example.com>`);
    return outcome.copies[0]!.bytes;
  });
}

/** openssl opens the copy (bob's key, then the signature against the test root) and finds message i. */
async function checkWithOpenssl(sealed: Uint8Array, i: number): Promise<void> {
  const dir = await testPki();
  const inner = await openssl(
    [
      "cms",
      "-decrypt",
      "-recip",
      `${dir}/bob@example.com.crt`,
      "-inkey",
      `${dir}/bob@example.com.pem`,
    ],
    sealed,
  );
  strictEqual(inner.code, 0, inner.stderr);
  const plain = await openssl(["cms", "-verify", "-CAfile", `${dir}/trust.pem`], inner.stdout);
  strictEqual(plain.code, 0, plain.stderr);
  strictEqual(new TextDecoder().decode(plain.stdout).includes(`message number ${i}\r\n`), true);
}

Deno.test("SealPool: a run of a few messages is sealed on the main thread; no worker starts", async () => {
  const pool = new SealPool(await poolOptions({}));
  try {
    const sealed = await sealAll(pool, 5);
    strictEqual(pool.threads, 0);
    await checkWithOpenssl(sealed[4]!, 4);
  } finally {
    pool.close();
  }
});

Deno.test("SealPool: once the main thread's time is up, the workers start and take over", async () => {
  const pool = new SealPool(await poolOptions({ inlineFirstMs: 1, perWorker: 4 }));
  try {
    // Sealed on the main thread; its clock starts when it is done.
    await sealAll(pool, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The workers start now; the main thread seals until one is ready.
    const first = await sealAll(pool, 30);
    strictEqual(pool.threads, 2);
    await checkWithOpenssl(first[29]!, 29);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const later = await sealAll(pool, 60);
    await checkWithOpenssl(later[59]!, 59);
  } finally {
    pool.close();
  }
});

Deno.test("SealPool: with workers from the start, 100 replies in batches each reach their message", async () => {
  const pool = new SealPool(await poolOptions({ inlineFirstMs: 0, perWorker: 6 }));
  try {
    const sealed = await sealAll(pool, 100);
    strictEqual(pool.threads, 2);
    await checkWithOpenssl(sealed[37]!, 37);
  } finally {
    pool.close();
  }
});

Deno.test("SealPool: a message's own buffer moves to the worker; a view into a shared one is copied", async () => {
  const pool = new SealPool(await poolOptions({ inlineFirstMs: 0 }));
  try {
    const own = message(1);
    // Two messages in one buffer, as an mbox read in chunks gives them.
    const a = message(2);
    const b = message(3);
    const shared = new Uint8Array(a.length + b.length);
    shared.set(a);
    shared.set(b, a.length);
    const views = [shared.subarray(0, a.length), shared.subarray(a.length)];
    const outcomes = await Promise.all([
      pool.seal({ key: "m1", label: "m1", bytes: own }),
      pool.seal({ key: "m2", label: "m2", bytes: views[0]! }),
      pool.seal({ key: "m3", label: "m3", bytes: views[1]! }),
    ]);
    strictEqual(pool.threads, 2);
    strictEqual(own.byteLength, 0, "a whole buffer is moved, not copied");
    strictEqual(shared.byteLength, a.length + b.length, "a shared buffer stays");
    for (const [i, outcome] of outcomes.entries()) {
      if (!outcome.ok) throw new Error(`m${i + 1}: ${outcome.reason}`);
      await checkWithOpenssl(outcome.copies[0]!.bytes, i + 1);
    }
  } finally {
    pool.close();
  }
});
