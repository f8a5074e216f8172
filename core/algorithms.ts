/**
 * Which algorithms each encrypted copy uses, from what its recipients
 * announced (RFC 8551 2.5.2 SMIMECapabilities, recorded by `keys import`).
 *
 * What every client opens is AES-CBC with RSA PKCS#1 v1.5 key transport;
 * AES-GCM (AuthEnvelopedData) and RSA-OAEP are opened by OpenSSL but not by
 * NSS (Thunderbird) 3.87 or gpgsm 2.2 (FIELD.md). So, unless a flag forces
 * one algorithm for everyone:
 *
 * - Content cipher, one per copy: the first of AES-256-GCM, AES-128-GCM,
 *   AES-256-CBC, AES-128-CBC that every certificate of the copy (the
 *   sender's own included) can open. A recipient who announced nothing
 *   opens the two CBC ciphers; one who announced a list opens what it lists
 *   plus AES-128-CBC, which RFC 8551 2.7 requires of every receiving agent.
 * - RSA key transport, one per RecipientInfo: RSAES-OAEP with SHA-256 only
 *   for a recipient whose announcement of rsaes-OAEP names SHA-256 for both
 *   the hash and MGF1 (and no label). RFC 3560 5 says the capability carries
 *   its parameters; an empty SEQUENCE there means the SHA-1 defaults, and a
 *   capability without parameters does not say which hash the recipient can
 *   do. Neither matches the SHA-256 OAEP we write, so both get PKCS#1 v1.5,
 *   which every receiving agent must open (RFC 8551 2.3).
 *
 * @module
 */

import { AsnError, DerReader, parseTlv, readOctets, readOid, Tag } from "./cms/der.ts";
import { Oid } from "./cms/oids.ts";
import type { CipherName, RsaKeyTransport } from "./cms/types.ts";
import type { SmimeCapability } from "./keys/capabilities.ts";

/** Our content ciphers, most preferred first. */
export const CIPHER_PREFERENCE: readonly CipherName[] = [
  "aes-256-gcm",
  "aes-128-gcm",
  "aes-256-cbc",
  "aes-128-cbc",
];

const cipherByCapability: Record<string, CipherName> = {
  [Oid.aes256Gcm]: "aes-256-gcm",
  [Oid.aes128Gcm]: "aes-128-gcm",
  [Oid.aes256Cbc]: "aes-256-cbc",
  [Oid.aes128Cbc]: "aes-128-cbc",
};

/** What a recipient without recorded capabilities is sent: what every client opens. */
const UNANNOUNCED: readonly CipherName[] = ["aes-256-cbc", "aes-128-cbc"];

/**
 * The content ciphers a certificate's holder opens, by its announcement.
 *
 * @param capabilities recorded SMIMECapabilities; undefined when none were
 */
export function ciphersOpenedBy(
  capabilities: readonly SmimeCapability[] | undefined,
): Set<CipherName> {
  if (!capabilities) return new Set(UNANNOUNCED);
  const out = new Set<CipherName>(["aes-128-cbc"]); // RFC 8551 2.7: a MUST for receivers
  for (const c of capabilities) {
    const cipher = cipherByCapability[c.oid];
    if (cipher) out.add(cipher);
  }
  return out;
}

/**
 * The content cipher of one copy.
 *
 * @param members the capabilities of every certificate the copy is encrypted
 *   to (undefined for one without a recorded announcement)
 * @param forced `--cipher`: that cipher for every copy
 */
export function chooseCipher(
  members: readonly (readonly SmimeCapability[] | undefined)[],
  forced?: CipherName,
): CipherName {
  if (forced) return forced;
  const opened = members.map(ciphersOpenedBy);
  return CIPHER_PREFERENCE.find((c) => opened.every((set) => set.has(c))) ?? "aes-256-cbc";
}

/**
 * The key transport for one RSA recipient.
 *
 * @param capabilities the recipient's recorded SMIMECapabilities
 * @param forced `--oaep`: OAEP for every RSA recipient
 */
export function chooseKeyTransport(
  capabilities: readonly SmimeCapability[] | undefined,
  forced?: RsaKeyTransport,
): RsaKeyTransport {
  if (forced) return forced;
  const oaep = capabilities?.find((c) => c.oid === Oid.rsaesOaep);
  return oaep?.parameters && isOaepSha256(oaep.parameters) ? "oaep" : "pkcs1";
}

/**
 * True when RSAES-OAEP-params (RFC 8017 A.2.1) say SHA-256, MGF1 with
 * SHA-256, and the empty label: exactly the OAEP that encrypt.ts writes.
 */
export function isOaepSha256(parameters: Uint8Array): boolean {
  try {
    const params = new DerReader(parseTlv(parameters));
    const hash = params.optional(0xa0);
    const mgf = params.optional(0xa1);
    const label = params.optional(0xa2);
    if (!params.done || !hash || !mgf) return false;
    if (hashOf(new DerReader(hash).next(Tag.sequence)) !== Oid.sha256) return false;
    const mgfId = new DerReader(new DerReader(mgf).next(Tag.sequence));
    if (readOid(mgfId.next(Tag.oid)) !== Oid.mgf1) return false;
    if (hashOf(mgfId.next(Tag.sequence)) !== Oid.sha256 || !mgfId.done) return false;
    if (!label) return true;
    const source = new DerReader(new DerReader(label).next(Tag.sequence));
    return readOid(source.next(Tag.oid)) === Oid.pSpecified &&
      readOctets(source.next(Tag.octetString)).length === 0 && source.done;
  } catch (err) {
    if (err instanceof AsnError) return false;
    throw err;
  }
}

/** The OID of a hash AlgorithmIdentifier whose parameters are absent or NULL. */
function hashOf(algorithm: ReturnType<DerReader["next"]>): string | undefined {
  const reader = new DerReader(algorithm);
  const id = readOid(reader.next(Tag.oid));
  const params = reader.optional(Tag.null);
  if (params && params.value.length !== 0) return undefined;
  return reader.done ? id : undefined;
}
