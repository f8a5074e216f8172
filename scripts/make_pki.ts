/**
 * Makes a fresh test PKI: a root, an intermediate, and key-folder files for
 * a set of test identities, following the key folder convention
 * (`<address>.crt` = leaf + intermediate, `<address>.pem` = key, mode 0600).
 * Pure WebCrypto + @peculiar/x509 + pkijs: no openssl needed. Nothing it
 * makes is committed (every certificate has an expiry).
 *
 *     deno run -A scripts/make_pki.ts DIR
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey } from "node:crypto";
import { bytesToLatin1 } from "../core/bytes.ts";
import { join } from "node:path";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

/** Key types the test PKI can make. */
export type TestKeyType = "RSA-1024" | "RSA-2048" | "RSA-3072" | "EC P-256" | "EC P-384";

/** What to put in one test certificate. */
export interface LeafSpec {
  /** The SAN rfc822Name; omitted from the certificate when `""`. */
  email: string;
  key: TestKeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** keyUsage flags; default signature + keyEncipherment (RSA) / keyAgreement (EC); null: none. */
  keyUsage?: x509.KeyUsageFlags | null;
  /** EKU OIDs; default emailProtection; null: no extension. */
  extKeyUsage?: string[] | null;
  /** basicConstraints cA=true. */
  ca?: boolean;
  /** Self-signed instead of issued by the intermediate. */
  selfSigned?: boolean;
}

/** A certificate and key made by {@link TestPki.issue}. */
export interface IssuedIdentity {
  /** Leaf, DER. */
  certificate: Uint8Array;
  /** PEM leaf followed by the intermediate (self-signed: the leaf only). */
  chainPem: string;
  /** Unencrypted PKCS#8 DER. */
  privateKey: Uint8Array;
  /** The same key as PEM "PRIVATE KEY". */
  privateKeyPem: string;
}

/** Files of one identity in the key folder. */
export interface TestIdentityFiles {
  certFile?: string;
  keyFile?: string;
  p12File?: string;
  keyType: TestKeyType;
}

/** What {@link makeTestPki} made. */
export interface TestPki {
  dir: string;
  rootFile: string;
  intermediateFile: string;
  /** The root only: pass as --trust. */
  trustFile: string;
  rootDer: Uint8Array;
  intermediateDer: Uint8Array;
  identities: Record<string, TestIdentityFiles>;
  /** Passphrases of the encrypted files, by address. */
  passphrases: Record<string, string>;
  /** Issues another certificate (not written anywhere). */
  issue(spec: LeafSpec): Promise<IssuedIdentity>;
}

const DAY = 86_400_000;
const EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";
const { digitalSignature, keyEncipherment, keyAgreement, keyCertSign, cRLSign } =
  x509.KeyUsageFlags;

x509.cryptoProvider.set(crypto);

function algorithmOf(type: TestKeyType): RsaHashedKeyGenParams | EcKeyGenParams {
  if (type.startsWith("EC ")) return { name: "ECDSA", namedCurve: type.slice(3) };
  const modulusLength = Number(type.slice(4));
  const publicExponent = new Uint8Array([1, 0, 1]);
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent, modulusLength };
}

function generate(type: TestKeyType): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(algorithmOf(type), true, ["sign", "verify"]);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(bytesToLatin1(der)).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Writes a file; key files get mode 0600. */
export async function writeTestFile(path: string, data: string | Uint8Array, secret = false) {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await Deno.writeFile(path, bytes, { mode: secret ? 0o600 : 0o644 });
  await Deno.chmod(path, secret ? 0o600 : 0o644);
}

async function makeCa(now: Date) {
  const rootKeys = await generate("EC P-384");
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=smimepost Test Root,O=smimepost test",
    notBefore: new Date(now.getTime() - 2 * DAY),
    notAfter: new Date(now.getTime() + 365 * DAY),
    keys: rootKeys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(keyCertSign | cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const keys = await generate("EC P-256");
  const cert = await x509.X509CertificateGenerator.create({
    subject: "CN=smimepost Test Intermediate,O=smimepost test",
    issuer: root.subject,
    notBefore: new Date(now.getTime() - 2 * DAY),
    notAfter: new Date(now.getTime() + 180 * DAY),
    publicKey: keys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(keyCertSign | cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  return { root, intermediate: { cert, keys } };
}

type Ca = Awaited<ReturnType<typeof makeCa>>["intermediate"];

async function issueLeaf(ca: Ca, spec: LeafSpec, now: Date): Promise<IssuedIdentity> {
  const keys = await generate(spec.key);
  const isEc = spec.key.startsWith("EC");
  const usage = spec.keyUsage === undefined
    ? digitalSignature | (isEc ? keyAgreement : keyEncipherment)
    : spec.keyUsage;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(spec.ca === true, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (spec.email !== "") {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([{ type: "email", value: spec.email }]),
    );
  }
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  const eku = spec.extKeyUsage === undefined ? [EMAIL_PROTECTION] : spec.extKeyUsage;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  const name = `CN=${spec.email.split("@")[0] || "nobody"},O=smimepost test`;
  const common = {
    notBefore: spec.notBefore ?? new Date(now.getTime() - DAY),
    notAfter: spec.notAfter ?? new Date(now.getTime() + 30 * DAY),
    signingAlgorithm: spec.selfSigned ? algorithmOf(spec.key) : { name: "ECDSA", hash: "SHA-256" },
  };
  const cert = spec.selfSigned
    ? await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys, extensions })
    : await x509.X509CertificateGenerator.create({
      ...common,
      subject: name,
      issuer: ca.cert.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      extensions: [
        ...extensions,
        await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ],
    });
  const privateKey = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const leafDer = new Uint8Array(cert.rawData);
  const chainPem = pem("CERTIFICATE", leafDer) +
    (spec.selfSigned ? "" : pem("CERTIFICATE", new Uint8Array(ca.cert.rawData)));
  return {
    certificate: leafDer,
    chainPem,
    privateKey,
    privateKeyPem: pem("PRIVATE KEY", privateKey),
  };
}

/**
 * Builds a PKCS#12 file the way OpenSSL 3 does by default: key in a
 * PBES2 (PBKDF2-SHA256, AES-256-CBC) shrouded bag, certificates in an
 * encrypted SafeContents, SHA-256 MAC.
 *
 * @param privateKey unencrypted PKCS#8 DER, or undefined for a key-less file
 * @param certs DER, the user's first
 */
export async function makePkcs12(
  privateKey: Uint8Array | undefined,
  certs: Uint8Array[],
  options: { password: string },
): Promise<Uint8Array> {
  const password = new TextEncoder().encode(options.password).buffer as ArrayBuffer;
  const pbes2 = {
    password,
    contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 },
    hmacHashAlgorithm: "SHA-256",
    iterationCount: 2048,
  } as unknown as Parameters<pkijs.PKCS8ShroudedKeyBag["makeInternalValues"]>[0]; // pkijs makes the IV
  const localKeyId = new pkijs.Attribute({
    type: "1.2.840.113549.1.9.21",
    values: [new asn1js.OctetString({ valueHex: new Uint8Array([1]) })],
  });
  const certBags = certs.map((der, i) =>
    new pkijs.SafeBag({
      bagId: "1.2.840.113549.1.12.10.1.3",
      bagValue: new pkijs.CertBag({ parsedValue: pkijs.Certificate.fromBER(der.slice()) }),
      ...(i === 0 && privateKey ? { bagAttributes: [localKeyId] } : {}),
    })
  );
  const safeContents = [{ privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certBags }) }];
  const params: object[] = [pbes2];
  if (privateKey) {
    const keyBag = new pkijs.PKCS8ShroudedKeyBag({
      parsedValue: pkijs.PrivateKeyInfo.fromBER(privateKey.slice()),
    });
    await keyBag.makeInternalValues(pbes2);
    const bag = new pkijs.SafeBag({
      bagId: "1.2.840.113549.1.12.10.1.2",
      bagValue: keyBag,
      bagAttributes: [localKeyId],
    });
    safeContents.push({ privacyMode: 0, value: new pkijs.SafeContents({ safeBags: [bag] }) });
    params.push({});
  }
  const authenticatedSafe = new pkijs.AuthenticatedSafe({ parsedValue: { safeContents } });
  await authenticatedSafe.makeInternalValues({ safeContents: params });
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues({
    password,
    iterations: 2048,
    pbkdf2HashAlgorithm: "SHA-256",
    hmacHashAlgorithm: "SHA-256",
  });
  return new Uint8Array(pfx.toSchema().toBER(false));
}

const PLAIN: [string, TestKeyType, Partial<LeafSpec>?][] = [
  ["alice@example.com", "RSA-2048"],
  ["bob@example.com", "RSA-3072"],
  ["carol@example.net", "EC P-256"],
  ["erin@example.com", "EC P-384"],
  ["dave@example.org", "RSA-2048"],
  ["expired@example.com", "RSA-2048"],
  ["wrongaddr@example.com", "RSA-2048", { email: "someone@else.example" }],
];

/**
 * Makes the test PKI in `dir` (created if missing; existing files of the
 * same names are replaced).
 *
 * @param dir the folder to write into
 * @param options `now`: the time the certificates are valid around
 */
export async function makeTestPki(dir: string, options: { now?: Date } = {}): Promise<TestPki> {
  const now = options.now ?? new Date();
  await Deno.mkdir(dir, { recursive: true });
  const { root, intermediate } = await makeCa(now);
  const rootDer = new Uint8Array(root.rawData);
  const pki: TestPki = {
    dir,
    rootFile: join(dir, "root.crt"),
    intermediateFile: join(dir, "intermediate.crt"),
    trustFile: join(dir, "trust.pem"),
    rootDer,
    intermediateDer: new Uint8Array(intermediate.cert.rawData),
    identities: {},
    passphrases: {
      "frank@example.com": "frank-test-passphrase",
      "grace@example.com": "grace-test-passphrase",
    },
    issue: (spec) => issueLeaf(intermediate, spec, now),
  };
  await writeTestFile(pki.rootFile, pem("CERTIFICATE", rootDer));
  await writeTestFile(pki.trustFile, pem("CERTIFICATE", rootDer));
  await writeTestFile(pki.intermediateFile, pem("CERTIFICATE", pki.intermediateDer));
  const expired = {
    notBefore: new Date(now.getTime() - 30 * DAY),
    notAfter: new Date(now.getTime() - DAY),
  };
  const specs = PLAIN.map(([address, key, extra]) => ({
    address,
    spec: { email: address, key, ...(address.startsWith("expired") ? expired : {}), ...extra },
  }));
  specs.push({
    address: "grace@example.com",
    spec: { email: "grace@example.com", key: "RSA-2048" },
  });
  specs.push({
    address: "frank@example.com",
    spec: { email: "frank@example.com", key: "RSA-2048" },
  });
  const issued = await Promise.all(specs.map(({ spec }) => pki.issue(spec)));
  for (const [i, { address, spec }] of specs.entries()) {
    const id = issued[i]!;
    const base = join(dir, address);
    if (address.startsWith("frank")) {
      const p12 = await makePkcs12(id.privateKey, [id.certificate, pki.intermediateDer], {
        password: pki.passphrases[address]!,
      });
      await writeTestFile(`${base}.p12`, p12, true);
      pki.identities[address] = { p12File: `${base}.p12`, keyType: spec.key };
      continue;
    }
    let keyPem = id.privateKeyPem;
    if (address.startsWith("grace")) {
      keyPem = createPrivateKey({ key: id.privateKeyPem, format: "pem" }).export({
        format: "pem",
        type: "pkcs8",
        cipher: "aes-256-cbc",
        passphrase: pki.passphrases[address]!,
      }) as string;
    }
    await writeTestFile(`${base}.crt`, id.chainPem);
    await writeTestFile(`${base}.pem`, keyPem, true);
    pki.identities[address] = {
      certFile: `${base}.crt`,
      keyFile: `${base}.pem`,
      keyType: spec.key,
    };
  }
  return pki;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: deno run -A scripts/make_pki.ts DIR");
    Deno.exit(64);
  }
  const pki = await makeTestPki(dir);
  console.log(`test PKI in ${dir}: trust anchor ${pki.trustFile}`);
  for (const [address, files] of Object.entries(pki.identities)) {
    const paths = [files.certFile, files.keyFile, files.p12File].filter(Boolean).join(", ");
    console.log(`  ${address} (${files.keyType}): ${paths}`);
  }
}
