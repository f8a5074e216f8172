/**
 * Types the CMS layer shares with its callers. CMS knows DER and bytes only:
 * no MIME, no files, no addresses.
 *
 * @module
 */

import type { TrustStore } from "../trust/path.ts";

/** Digest for signing. SHA-256 is the default. */
export type DigestName = "SHA-256" | "SHA-384" | "SHA-512";

/** Content cipher. CBC goes in EnvelopedData, GCM in AuthEnvelopedData (RFC 5083/5084). */
export type CipherName = "aes-256-cbc" | "aes-128-cbc" | "aes-256-gcm" | "aes-128-gcm";

/** RSA key transport: PKCS#1 v1.5 (what every client opens) or RSA-OAEP with SHA-256. */
export type RsaKeyTransport = "pkcs1" | "oaep";

/** RSA signature padding: PKCS#1 v1.5 (default) or RSASSA-PSS with the signing digest. */
export type RsaSignaturePadding = "pkcs1" | "pss";

/** A signer: its certificate, the intermediates to include, and its private key. */
export interface SigningIdentity {
  /** The signer's certificate, DER. */
  certificate: Uint8Array;
  /** Intermediate CA certificates, DER, leaf excluded, nearest first. */
  chain: Uint8Array[];
  /** The private key as unencrypted PKCS#8 DER (RSA or EC). */
  privateKey: Uint8Array;
}

/** How to sign. */
export interface SignOptions {
  /** true: eContent left out (for multipart/signed); false: content inside (opaque). */
  detached: boolean;
  /** Default SHA-256. */
  digest?: DigestName;
  /** RSA signers only; default "pkcs1". */
  rsaPadding?: RsaSignaturePadding;
  /** The signingTime attribute; default now. */
  signingTime?: Date;
}

/** A recipient certificate with a key transport of its own (RSA only). */
export interface EncryptRecipient {
  /** DER. */
  certificate: Uint8Array;
  /** Overrides {@link EncryptOptions.rsaKeyTransport} for this recipient. */
  rsaKeyTransport?: RsaKeyTransport;
}

/** How to encrypt. EC recipient certificates always use ECDH key agreement. */
export interface EncryptOptions {
  /** Default "aes-256-cbc". */
  cipher?: CipherName;
  /** For RSA recipients; default "pkcs1". */
  rsaKeyTransport?: RsaKeyTransport;
}

/** What verify found about one SignerInfo. */
export interface SignerResult {
  /** The signer's certificate (DER) when the message carries it. */
  certificate?: Uint8Array;
  /** Subject DN of that certificate, RFC 4514 text, or "" when unknown. */
  subject: string;
  /** rfc822Name SANs and subject emailAddress values, lower-cased. */
  emailAddresses: string[];
  /** e.g. "SHA-256". */
  digestAlgorithm: string;
  /** e.g. "RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA". */
  signatureAlgorithm: string;
  signingTime?: Date;
  /** The signature and the messageDigest attribute both check out. */
  signatureValid: boolean;
  /** Why signatureValid is false. */
  signatureError?: string;
  /** "trusted": a path to one of the trust anchors; "untrusted": none; "unchecked": no anchors given. */
  chain: "trusted" | "untrusted" | "unchecked";
  /** Why the chain is untrusted. */
  chainError?: string;
  /** The validated path when trusted: the signer's certificate first, the anchor last. */
  path?: Uint8Array[];
  /**
   * The DER of the SMIMECapabilities signed attribute's value (a SEQUENCE OF
   * SMIMECapability, RFC 8551 2.5.2) when the signer announced one.
   */
  capabilities?: Uint8Array;
}

/** The result of verifying a SignedData. */
export interface VerifyResult {
  /** The signed content: eContent, or the detached content given. */
  content: Uint8Array;
  /** true when the SignedData had no eContent. */
  detached: boolean;
  signers: SignerResult[];
  /** The X.509 certificates the SignedData carried (DER, as sent, unchecked). */
  certificates: Uint8Array[];
}

/** How to verify. */
export interface VerifyOptions {
  /** Required when the SignedData is detached. */
  detachedContent?: Uint8Array;
  /** DER trust anchors; when absent (and no `trust`) the chain is "unchecked". */
  trustAnchors?: Uint8Array[];
  /**
   * Anchors and candidate intermediates already indexed (see core/trust),
   * instead of `trustAnchors`: built once for many messages.
   */
  trust?: TrustStore;
  /** Extra DER certificates to build paths with (intermediates). */
  extraCertificates?: Uint8Array[];
  /**
   * Time for chain validity; default now. Never the signingTime: that is
   * the signer's own claim, and a signer can backdate it.
   */
  checkTime?: Date;
}

/** A recipient's private key, and its certificate when known, for decrypting. */
export interface RecipientKey {
  /**
   * DER. Without it the key finds its RecipientInfo by its own subject key
   * identifier, or is tried against every RecipientInfo of its kind.
   */
  certificate?: Uint8Array;
  /** Unencrypted PKCS#8 DER. */
  privateKey: Uint8Array;
}

/** The outer CMS content types smimepost reads and writes. */
export type CmsKind = "signed-data" | "enveloped-data" | "auth-enveloped-data";

/** How a CMS object names a signer or recipient certificate. */
export interface CmsIdentifierInfo {
  /** Issuer DN, RFC 4514 text, when named by issuerAndSerialNumber. */
  issuer?: string;
  /** Serial number, upper-case hex, alongside `issuer`. */
  serialNumber?: string;
  /** subjectKeyIdentifier, lower-case hex, when named that way. */
  subjectKeyIdentifier?: string;
}

/** One SignerInfo as `inspect` sees it, without checking anything. */
export interface SignerSummary extends CmsIdentifierInfo {
  /** e.g. "SHA-256", or the OID when unknown. */
  digestAlgorithm: string;
  /** e.g. "RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA", or the OID. */
  signatureAlgorithm: string;
}

/** One RecipientInfo as `inspect` sees it. */
export interface RecipientSummary extends CmsIdentifierInfo {
  /** "RSAES-PKCS1-v1_5", "RSAES-OAEP", "ECDH", or the RecipientInfo kind / OID. */
  keyEncryption: string;
}

/** What `inspect` tells about a CMS object, for `smimepost show`. */
export type CmsInfo =
  | {
    kind: "signed-data";
    /** true when there is no eContent (multipart/signed). */
    detached: boolean;
    digestAlgorithms: string[];
    signers: SignerSummary[];
    /** How many certificates the SignedData carries. */
    certificateCount: number;
  }
  | {
    kind: "enveloped-data" | "auth-enveloped-data";
    recipients: RecipientSummary[];
    /** e.g. "aes-256-cbc", or the OID when unknown. */
    contentCipher: string;
  };
