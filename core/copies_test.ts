import { strict as assert } from "node:assert";
import { planCopies } from "./copies.ts";
import type { CertificateEntry } from "./keys/mod.ts";
import { parseSmimeCapabilities, type SmimeCapability } from "./keys/capabilities.ts";
import { announce } from "./keys/test_util.ts";

const GCM_OAEP = parseSmimeCapabilities(await announce(["gcm256", "oaep256", "cbc256"]));

/** An entry as the key store hands it out; planCopies reads no certificate bytes. */
function entry(
  address: string,
  keyAlgorithm: "RSA-2048" | "EC P-256",
  capabilities?: SmimeCapability[],
): CertificateEntry {
  return {
    address,
    file: `keys/${address}.crt`,
    certificate: new TextEncoder().encode(address),
    chain: [],
    notAfter: new Date(0),
    subject: `CN=${address}`,
    keyAlgorithm,
    ...(capabilities ? { capabilities } : {}),
    warnings: [],
  };
}

const rsa = entry("rsa@example.com", "RSA-2048");
const rsaGcm = entry("gcm@example.com", "RSA-2048", GCM_OAEP);
const ec = entry("ec@example.net", "EC P-256");
const ecGcm = entry("ecgcm@example.net", "EC P-256", GCM_OAEP);
const self = entry("sender@example.com", "RSA-2048");
const selfGcm = entry("sender@example.com", "RSA-2048", GCM_OAEP);
const selfEc = entry("sender@example.com", "EC P-256");
const all = new Map([rsa, rsaGcm, ec, ecGcm].map((e) => [e.address, e]));

/** Each copy as "recipients | cipher | who it is encrypted to with what". */
function summary(plans: ReturnType<typeof planCopies>): string[] {
  const name = (cert: Uint8Array) => new TextDecoder().decode(cert);
  return plans.copies.map((c) =>
    `${c.recipients.join(",")} | ${c.cipher} | ` +
    c.encryptTo.map((r) =>
      `${name(r.certificate)}${r.rsaKeyTransport ? `:${r.rsaKeyTransport}` : ""}`
    )
      .join(",")
  );
}

Deno.test("planCopies() gives RSA and EC recipients of one group copies of their own", () => {
  const plans = planCopies([[rsa.address, ec.address, rsaGcm.address]], all, self, {});
  assert.deepEqual(summary(plans), [
    "rsa@example.com,gcm@example.com | aes-256-cbc | " +
    "rsa@example.com:pkcs1,gcm@example.com:oaep,sender@example.com:pkcs1",
    "ec@example.net | aes-256-cbc | ec@example.net,sender@example.com:pkcs1",
  ]);
  assert.deepEqual(plans.warnings, []);
});

Deno.test("planCopies() uses GCM for a copy only when all of it, the sender included, announced GCM", () => {
  const group = [[rsaGcm.address, ecGcm.address]];
  assert.deepEqual(summary(planCopies(group, all, selfGcm, {})), [
    "gcm@example.com | aes-256-gcm | gcm@example.com:oaep,sender@example.com:oaep",
    "ecgcm@example.net | aes-256-gcm | ecgcm@example.net,sender@example.com:oaep",
  ]);
  assert.deepEqual(summary(planCopies(group, all, self, {})), [
    "gcm@example.com | aes-256-cbc | gcm@example.com:oaep,sender@example.com:pkcs1",
    "ecgcm@example.net | aes-256-cbc | ecgcm@example.net,sender@example.com:pkcs1",
  ], "the sender announced nothing");
  assert.deepEqual(summary(planCopies(group, all, undefined, {})), [
    "gcm@example.com | aes-256-gcm | gcm@example.com:oaep",
    "ecgcm@example.net | aes-256-gcm | ecgcm@example.net",
  ], "--no-encrypt-to-self");
});

Deno.test("planCopies() keeps a sender's EC certificate out of copies to RSA recipients, with a warning", () => {
  const plans = planCopies([[rsa.address, ec.address], [rsaGcm.address]], all, selfEc, {});
  assert.deepEqual(summary(plans), [
    "rsa@example.com | aes-256-cbc | rsa@example.com:pkcs1",
    "ec@example.net | aes-256-cbc | ec@example.net,sender@example.com",
    "gcm@example.com | aes-256-gcm | gcm@example.com:oaep",
  ]);
  assert.equal(plans.warnings.length, 1);
  assert.match(plans.warnings[0]!, /copy to rsa@example\.com, gcm@example\.com to the sender's EC/);
});

Deno.test("planCopies() with ecRecipients shared (--single-copy) keeps one copy for everyone", () => {
  const plans = planCopies([[rsa.address, ec.address]], all, selfEc, { ecRecipients: "shared" });
  assert.deepEqual(summary(plans), [
    "rsa@example.com,ec@example.net | aes-256-cbc | " +
    "rsa@example.com:pkcs1,ec@example.net,sender@example.com",
  ]);
  assert.deepEqual(plans.warnings, []);
});

Deno.test("planCopies() with --cipher and --oaep forces them on every copy and RSA recipient", () => {
  const plans = planCopies([[rsa.address, ec.address]], all, self, {
    cipher: "aes-128-gcm",
    rsaKeyTransport: "oaep",
  });
  assert.deepEqual(summary(plans), [
    "rsa@example.com | aes-128-gcm | rsa@example.com:oaep,sender@example.com:oaep",
    "ec@example.net | aes-128-gcm | ec@example.net,sender@example.com:oaep",
  ]);
});

Deno.test("planCopies() leaves Bcc copies, all-RSA and all-EC groups as they are", () => {
  const groups = [[rsa.address, rsaGcm.address], [ec.address, ecGcm.address], [ecGcm.address]];
  const plans = planCopies(groups, all, self, {});
  assert.deepEqual(plans.copies.map((c) => c.recipients), groups);
});

Deno.test("planCopies() does not add the sender twice when the sender is a recipient", () => {
  const withSelf = new Map([...all, [selfEc.address, selfEc]]);
  const plans = planCopies([[rsa.address, selfEc.address]], withSelf, selfEc, {});
  assert.deepEqual(summary(plans), [
    "rsa@example.com | aes-256-cbc | rsa@example.com:pkcs1",
    "sender@example.com | aes-256-cbc | sender@example.com",
  ]);
  assert.deepEqual(plans.warnings, [], "the sender gets a copy it can read as a recipient");
});
