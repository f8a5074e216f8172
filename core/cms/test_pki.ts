/**
 * Throwaway test PKI made with the `openssl` CLI, and helpers that run
 * `openssl cms` as the independent judge of what this module produces.
 * Test support only: runtime code never imports this file.
 *
 * The hierarchy: an RSA-2048 root, an EC P-384 intermediate, and four users
 * (RSA-2048, RSA-3072, EC P-256, EC P-384) with the emailProtection EKU and
 * an rfc822Name SAN, plus an "outsider" RSA user under a second root that is
 * not trusted.
 *
 * @module
 */

import { latin1ToBytes } from "../bytes.ts";
import { tool } from "../../tests/support/helpers.ts";

/** One user: its files for openssl and its DER for our API. */
export interface TestUser {
  /** "rsa2048", "rsa3072", "p256", "p384", "outsider". */
  name: string;
  email: string;
  certPem: string;
  keyPem: string;
  certificate: Uint8Array;
  privateKey: Uint8Array;
}

/** The generated PKI and the directory it lives in. */
export interface TestPki {
  dir: string;
  rootPem: string;
  root: Uint8Array;
  intermediatePem: string;
  intermediate: Uint8Array;
  users: Record<string, TestUser>;
}

const CONFIG = `
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_int]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_rsa]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
[v3_ec]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = email:copy
`;

/** Runs openssl with `args`; returns stdout, throws with stderr on failure. */
export async function openssl(
  args: string[],
  stdin?: Uint8Array,
): Promise<Uint8Array> {
  const out = await tool("openssl", args, stdin);
  if (out.code !== 0) throw new Error(`openssl ${args.slice(0, 2).join(" ")}: ${out.stderr}`);
  return out.stdout;
}

/** The DER inside the first PEM block of `pem`. */
export function pemToDer(pem: string): Uint8Array {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return latin1ToBytes(atob(b64));
}

let pkiPromise: Promise<TestPki> | undefined;

/**
 * The PKI, generated on first call and shared by every test in the file;
 * the directory is removed when the test module unloads.
 */
export function getTestPki(): Promise<TestPki> {
  pkiPromise ??= makePki();
  return pkiPromise;
}

async function makePki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-cms-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  const cnf = `${dir}/openssl.cnf`;
  await Deno.writeTextFile(cnf, CONFIG);
  const p = (name: string) => `${dir}/${name}`;
  let serial = 0x1000;

  const genKey = (file: string, spec: string[]) => openssl(["genpkey", ...spec, "-out", p(file)]);
  const rsaSpec = (bits: number) => ["-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`];
  const ecSpec = (curve: string) => ["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`];
  const issue = async (name: string, subj: string, caName: string, ext: string) => {
    await openssl([
      "req",
      "-new",
      "-key",
      p(`${name}.key`),
      "-subj",
      subj,
      "-out",
      p(`${name}.csr`),
    ]);
    await openssl([
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p(`${caName}.pem`),
      "-CAkey",
      p(`${caName}.key`),
      "-set_serial",
      `0x${(serial++).toString(16)}ABCDEF`,
      "-days",
      "3650",
      "-sha256",
      "-extfile",
      cnf,
      "-extensions",
      ext,
      "-out",
      p(`${name}.pem`),
    ]);
  };
  const selfSign = async (name: string, subj: string) => {
    await openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      p(`${name}.key`),
      "-subj",
      subj,
      "-days",
      "3650",
      "-sha256",
      "-config",
      cnf,
      "-extensions",
      "v3_ca",
      "-out",
      p(`${name}.pem`),
    ]);
  };

  await Promise.all([
    genKey("root.key", rsaSpec(2048)),
    genKey("other.key", ecSpec("P-256")),
    genKey("int.key", ecSpec("P-384")),
    genKey("rsa2048.key", rsaSpec(2048)),
    genKey("rsa3072.key", rsaSpec(3072)),
    genKey("p256.key", ecSpec("P-256")),
    genKey("p384.key", ecSpec("P-384")),
    genKey("outsider.key", rsaSpec(2048)),
  ]);
  await selfSign("root", "/O=smimepost test/CN=Test Root CA");
  await selfSign("other", "/O=somebody else/CN=Untrusted Root");
  await issue("int", "/O=smimepost test/CN=Test Intermediate CA", "root", "v3_int");
  const users: Record<string, TestUser> = {};
  const specs: [string, string, string][] = [
    ["rsa2048", "int", "v3_rsa"],
    ["rsa3072", "int", "v3_rsa"],
    ["p256", "int", "v3_ec"],
    ["p384", "int", "v3_ec"],
    ["outsider", "other", "v3_rsa"],
  ];
  await Promise.all(specs.map(async ([name, ca, ext]) => {
    const email = `${name}@example.com`;
    await issue(name, `/C=DE/O=Example Bank, AG/CN=User ${name}/emailAddress=${email}`, ca, ext);
    const certPem = p(`${name}.pem`);
    const keyPem = p(`${name}.key`);
    users[name] = {
      name,
      email,
      certPem,
      keyPem,
      certificate: pemToDer(await Deno.readTextFile(certPem)),
      privateKey: pemToDer(await Deno.readTextFile(keyPem)),
    };
  }));
  return {
    dir,
    rootPem: p("root.pem"),
    root: pemToDer(await Deno.readTextFile(p("root.pem"))),
    intermediatePem: p("int.pem"),
    intermediate: pemToDer(await Deno.readTextFile(p("int.pem"))),
    users,
  };
}
