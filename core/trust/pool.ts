/**
 * A set of certificates indexed by subject name, for finding issuers. Built
 * from hostile input as often as not (the certificates a signed message
 * carries), so it is linear in its input: duplicates are dropped by digest,
 * unreadable certificates are skipped, and at most
 * {@link MAX_CANDIDATES_PER_NAME} certificates are kept per subject name.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type CertificateDetails, parseCertificateDetails } from "../cms/certificate.ts";
import { AsnError, parseTlv } from "../cms/der.ts";
import { nameKey } from "../cms/names.ts";

/** Certificates kept per subject name; more of one name can only be an attack. */
export const MAX_CANDIDATES_PER_NAME = 16;

/** Certificates indexed by subject name, without duplicates. */
export class CertPool {
  readonly #digests = new Set<string>();
  readonly #bySubject = new Map<string, CertificateDetails[]>();
  #size = 0;

  /** @param ders certificates to add (see {@link add}) */
  constructor(ders: Iterable<Uint8Array> = []) {
    for (const der of ders) this.add(der);
  }

  /** How many distinct certificates the pool holds. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds one DER certificate; a duplicate, an unreadable certificate, or one
   * more of a name that already has its fill, is left out.
   *
   * @returns the parsed certificate, or undefined when it was left out
   */
  add(der: Uint8Array): CertificateDetails | undefined {
    const digest = digestOf(der);
    if (this.#digests.has(digest)) return undefined;
    let cert: CertificateDetails;
    let key: string;
    try {
      cert = parseCertificateDetails(der);
      key = nameKey(parseTlv(cert.subjectDer));
    } catch {
      return undefined; // an unreadable certificate can't be on any path
    }
    const list = this.#bySubject.get(key) ?? [];
    if (list.length >= MAX_CANDIDATES_PER_NAME) return undefined;
    this.#digests.add(digest);
    list.push(cert);
    this.#bySubject.set(key, list);
    this.#size++;
    return cert;
  }

  /** True when the pool holds this exact certificate. */
  has(cert: CertificateDetails): boolean {
    return this.#digests.has(digestOf(cert.der));
  }

  /** The certificates whose subject is `cert`'s issuer. */
  issuersOf(cert: CertificateDetails): readonly CertificateDetails[] {
    let key: string;
    try {
      key = nameKey(parseTlv(cert.issuer));
    } catch (err) {
      if (err instanceof AsnError) return [];
      throw err;
    }
    return this.#bySubject.get(key) ?? [];
  }
}

const digests = new WeakMap<Uint8Array, string>();

/** SHA-256 of a certificate's DER, hex; cached per buffer. */
export function digestOf(der: Uint8Array): string {
  let digest = digests.get(der);
  if (digest === undefined) {
    digest = createHash("sha256").update(der).digest("hex");
    digests.set(der, digest);
  }
  return digest;
}
