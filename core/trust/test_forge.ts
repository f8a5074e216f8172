/**
 * Test helper: issues certificates with exactly the properties a trust test
 * needs (name constraints, pathLen, EKU, unknown critical extensions, past
 * dates, cross-issued CAs), through @peculiar/x509. Tests only.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { encode, octets, seq, tlv } from "../cms/der.ts";

x509.cryptoProvider.set(crypto);

const DAY = 86_400_000;
const { digitalSignature, nonRepudiation, keyEncipherment, keyCertSign, cRLSign } =
  x509.KeyUsageFlags;

/** One certificate and its key pair. */
export interface Forged {
  der: Uint8Array;
  subject: string;
  keys: CryptoKeyPair;
  /** Unencrypted PKCS#8 DER of the private key. */
  pkcs8: Uint8Array;
  certPem: string;
  keyPem: string;
}

/** What to put in a certificate. */
export interface ForgeSpec {
  /** e.g. "CN=alice,O=corp". */
  subject: string;
  /** Signed by this one; absent: self-signed. */
  issuer?: Forged;
  /** Reuse a key pair (a cross-certificate for an existing CA). */
  keys?: CryptoKeyPair;
  ca?: boolean;
  pathLen?: number;
  /** keyUsage flags; default by role; null: none. */
  keyUsage?: number | null;
  /** EKU OIDs; default emailProtection for end entities, none for CAs; null: none. */
  eku?: string[] | null;
  email?: string;
  /** Days from now; default -1 and +30. */
  notBeforeDays?: number;
  notAfterDays?: number;
  /** Raw extensions: [oid, critical, DER value]. */
  extra?: [string, boolean, Uint8Array][];
}

function pem(label: string, der: Uint8Array): string {
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

const RSA: RsaHashedKeyGenParams = {
  name: "RSASSA-PKCS1-v1_5",
  hash: "SHA-256",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

/** Issues one certificate (RSA-2048 keys, SHA-256 signatures). */
export async function forge(spec: ForgeSpec): Promise<Forged> {
  const keys = spec.keys ?? await crypto.subtle.generateKey(RSA, true, ["sign", "verify"]);
  const ca = spec.ca === true;
  const usage = spec.keyUsage === undefined
    ? (ca ? keyCertSign | cRLSign : digitalSignature | nonRepudiation | keyEncipherment)
    : spec.keyUsage;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, spec.pathLen, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  const eku = spec.eku === undefined ? (ca ? null : ["1.3.6.1.5.5.7.3.4"]) : spec.eku;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  if (spec.email) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([{ type: "email", value: spec.email }]),
    );
  }
  for (const [id, critical, value] of spec.extra ?? []) {
    extensions.push(new x509.Extension(id, critical, value as Uint8Array<ArrayBuffer>));
  }
  const now = Date.now();
  const common = {
    serialNumber: crypto.getRandomValues(new Uint8Array(8)).reduce(
      (s, b) => s + b.toString(16).padStart(2, "0"),
      "01",
    ),
    notBefore: new Date(now + (spec.notBeforeDays ?? -1) * DAY),
    notAfter: new Date(now + (spec.notAfterDays ?? 30) * DAY),
    signingAlgorithm: RSA,
    extensions,
  };
  const cert = spec.issuer
    ? await x509.X509CertificateGenerator.create({
      ...common,
      subject: spec.subject,
      issuer: spec.issuer.subject,
      publicKey: keys.publicKey,
      signingKey: spec.issuer.keys.privateKey,
    })
    : await x509.X509CertificateGenerator.createSelfSigned({
      ...common,
      name: spec.subject,
      keys,
    });
  const der = new Uint8Array(cert.rawData);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    der,
    subject: spec.subject,
    keys,
    pkcs8,
    certPem: pem("CERTIFICATE", der),
    keyPem: pem("PRIVATE KEY", pkcs8),
  };
}

/** A nameConstraints value permitting these rfc822Name subtrees (RFC 5280 4.2.1.10). */
export function permitEmail(...bases: string[]): Uint8Array {
  const subtrees = bases.map((b) => seq(tlv(0x81, new TextEncoder().encode(b))));
  return encode(seq(tlv(0xa0, ...subtrees)));
}

/** A nameConstraints value excluding these rfc822Name subtrees. */
export function excludeEmail(...bases: string[]): Uint8Array {
  const subtrees = bases.map((b) => seq(tlv(0x81, new TextEncoder().encode(b))));
  return encode(seq(tlv(0xa1, ...subtrees)));
}

/** An extension value nobody understands (an OCTET STRING), for unknown-critical tests. */
export const UNKNOWN_EXTENSION: [string, boolean, Uint8Array] = [
  "1.3.6.1.4.1.99999.1",
  true,
  encode(octets(new Uint8Array([1, 2, 3]))),
];

/** The OID of nameConstraints. */
export const NAME_CONSTRAINTS = "2.5.29.30";

/** A root, an intermediate under it, and a good signer under that. */
export async function forgeHierarchy(email = "alice@corp.example") {
  const root = await forge({ subject: "CN=Forge Root,O=forge", ca: true, notAfterDays: 365 });
  const inter = await forge({ subject: "CN=Forge Intermediate,O=forge", ca: true, issuer: root });
  const signer = await forge({
    subject: `CN=${email.split("@")[0]},O=forge`,
    issuer: inter,
    email,
  });
  return { root, inter, signer };
}
