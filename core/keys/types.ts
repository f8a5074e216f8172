/**
 * The shapes the key layer hands to the CLI and to the CMS layer.
 *
 * @module
 */

import type { SigningIdentity } from "../cms/types.ts";
import type { SmimeCapability } from "./capabilities.ts";

/** Where keys live and how strictly to check them. */
export interface KeyStoreOptions {
  /** The key folder (default of the CLI: the current folder). */
  dir: string;
  /** DER trust anchors, from `--trust FILE` (see loadPemBundle). */
  trustAnchors?: Uint8Array[];
  /** The passphrase for one file; undefined when none is available. */
  passphrase?: (file: string) => Promise<string | undefined>;
  /** `--allow-invalid-cert`: expired, not yet valid and self-signed certs pass with a warning. */
  allowInvalid?: boolean;
  /** `--allow-insecure-key-permissions`: key files readable by others pass with a warning. */
  allowInsecurePermissions?: boolean;
  /** The time to check validity at; default now. For tests. */
  now?: Date;
}

/** A certificate found for an address and checked for a purpose. */
export interface CertificateEntry {
  /** Normalised address. */
  address: string;
  /** The file it came from, as found (for messages). */
  file: string;
  /** The user's certificate, DER. */
  certificate: Uint8Array;
  /**
   * The certificates that go with it in a signature, DER, nearest first: the
   * path that was validated, a self-signed root left out; with no trust
   * anchors, the issuers found by name and signature in its own file (and,
   * to sign, the key folder), never the file's other certificates.
   */
  chain: Uint8Array[];
  notAfter: Date;
  /** Subject DN, RFC 4514 text. */
  subject: string;
  /** e.g. "RSA-2048", "EC P-256". */
  keyAlgorithm: string;
  /**
   * The SMIMECapabilities recorded in the `.crt` file (most preferred
   * first), when it has a readable block; absent otherwise.
   */
  capabilities?: readonly SmimeCapability[];
  /** One-line texts, e.g. "chain not checked (no trust bundle: ...)". */
  warnings: string[];
}

/** A signer: its checked certificate and the private key that matches it. */
export interface SignerEntry extends CertificateEntry {
  /** The file the private key came from (the p12 for PKCS#12). */
  keyFile: string;
  /** What the CMS layer signs with. */
  identity: SigningIdentity;
}

/** One file's findings, for `smimepost keys check`. */
export interface KeyReport {
  file: string;
  /** The address the file name stands for, when it is named like one. */
  address?: string;
  kind: "certificate" | "private-key" | "pkcs12" | "unknown";
  /** No problems. */
  ok: boolean;
  problems: string[];
  warnings: string[];
  /** Subject, key type, notAfter, "key matches certificate". */
  summary: string;
}
