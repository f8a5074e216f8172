/**
 * The sealing flags of `send` and `worker` (--sign, --encrypt, --digest...)
 * as the pipeline's seal options.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import type { CipherName, DigestName } from "../cms/types.ts";
import type { SealOptions } from "../pipeline.ts";

/** The sealing options of a command (see withSealOptions in options.ts). */
export type SealFlags = {
  sign?: true;
  signDetached?: true;
  sign_detached?: true;
  encrypt?: true;
  digest: string;
  rsaPss?: true;
  cipher?: string;
  oaep?: true;
  encryptToSelf: boolean;
  bccShared?: true;
  singleCopy?: true;
};

/**
 * What to do to each message, from the flags.
 *
 * @throws {SmimeError} E_USAGE for --sign with --sign-detached (one signature, one form)
 */
export function sealOptionsOf(options: SealFlags): Omit<SealOptions, "singleCopy"> {
  const detached = Boolean(options.signDetached || options.sign_detached);
  if (detached && options.sign) {
    throw new SmimeError(
      "E_USAGE",
      "conflicting: --sign (opaque) and --sign-detached (multipart/signed); give one",
    );
  }
  const sign = Boolean(options.sign) || detached;
  return {
    sign,
    detached,
    encrypt: Boolean(options.encrypt),
    digest: digestName(options.digest),
    rsaPadding: options.rsaPss ? "pss" : "pkcs1",
    cipher: options.cipher as CipherName | undefined,
    rsaKeyTransport: options.oaep ? "oaep" : undefined,
    encryptToSelf: options.encryptToSelf,
    bcc: options.bccShared ? "shared" : "separate",
    ecRecipients: options.singleCopy ? "shared" : "separate",
  };
}

/** "sha256" -> "SHA-256". */
export function digestName(option: string): DigestName {
  return option.replace("sha", "SHA-") as DigestName;
}
