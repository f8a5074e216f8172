/**
 * smimepost as a library: parse a message, sign and encrypt it with S/MIME
 * for every recipient, and open (verify, decrypt) what comes back.
 *
 * @example Read a message's envelope
 * ```ts
 * import { envelopeOf, parseMessage } from "./mod.ts";
 *
 * const bytes = new TextEncoder().encode("From: alice@example.com\nTo: bob@example.com\n\nHi\n");
 * const { sender, recipients } = envelopeOf(parseMessage(bytes, "hi.eml"));
 * if (sender !== "alice@example.com" || recipients.join() !== "bob@example.com") {
 *   throw new Error("unexpected envelope");
 * }
 * ```
 *
 * @example Sign and encrypt a message with keys from a key folder
 * ```ts
 * import { KeyStore, parseMessage, sealMessage } from "./mod.ts";
 *
 * // Needs a key folder with a certificate and key for each address.
 * async function sealFile(file: string, keyFolder: string): Promise<void> {
 *   const bytes = await Deno.readFile(file);
 *   const keys = new KeyStore({ dir: keyFolder });
 *   const { copies } = await sealMessage(parseMessage(bytes, file), keys, {
 *     sign: true,
 *     detached: false,
 *     encrypt: true,
 *   });
 *   for (const copy of copies) console.log(copy.seal, copy.messageId, copy.recipients);
 * }
 * ```
 *
 * @module
 */
export { ErrorCodes, ExitCode, isSmimeError, SmimeError } from "./core/errors.ts";
export type { ErrorCode } from "./core/errors.ts";
export {
  canonicalEntity,
  envelopeOf,
  parseAddressList,
  parseMessage,
  parseMimeTree,
} from "./core/message/mod.ts";
export type {
  CanonicalEntity,
  Envelope,
  HeaderField,
  Mailbox,
  Message,
  MimeNode,
} from "./core/message/mod.ts";
export { decrypt, encrypt, inspect, sign, verify } from "./core/cms/mod.ts";
export type * from "./core/cms/types.ts";
export { KeyStore, loadPemBundle, loadTrustBundle } from "./core/keys/mod.ts";
export type {
  CertificateEntry,
  KeyReport,
  KeyStoreOptions,
  SignerEntry,
  TrustBundle,
} from "./core/keys/mod.ts";
export { sealMessage } from "./core/pipeline.ts";
export type { SealOf, SealOptions, SealResult } from "./core/pipeline.ts";
export { SealedMessage, unsealed } from "./core/smime/sealed.ts";
export type { Seal, SealedEnvelope, SealFor } from "./core/smime/sealed.ts";
export { openMessage } from "./core/smime/open.ts";
export type { Opened, OpenedLayer, OpenOptions } from "./core/smime/open.ts";
export type {
  EncryptedEntity,
  PlainEntity,
  SealedEntity,
  SignedEntity,
} from "./core/smime/seal.ts";
