/**
 * What `smimepost decrypt` does: find the first encrypted layer of a
 * message and decrypt it, nothing more. Signed layers on the way
 * (sign-then-encrypt-then-sign, or a relay that signed the encrypted
 * message) are peeled without verifying them: no signature is checked and
 * no certificate path is built, so a message with a hundred thousand
 * SignerInfos costs no more than reading its bytes. Checking signatures is
 * `verify`'s job (openMessage).
 *
 * @module
 */
import { cmsKind, inspect, unverifiedContent } from "../cms/mod.ts";
import type { RecipientSummary } from "../cms/mod.ts";
import { isSmimeError, SmimeError } from "../errors.ts";
import { decodeBody, decodeBodyInPlace, parseMimeTree, toCrlf } from "../message/mod.ts";
import {
  decryptWithAny,
  describe,
  eachCandidate,
  isPkcs7Mime,
  isSmimeSigned,
  type KeyCandidates,
  MAX_LAYERS,
} from "./open.ts";

/** The decrypted layer: the entity inside it and the key file that opened it. */
export interface DecryptedMessage {
  kind: "enveloped-data" | "auth-enveloped-data";
  /** The key file (or address) whose key opened it. */
  decryptedWith: string;
  /** The MIME entity inside the encrypted layer, as decrypted. */
  content: Uint8Array;
  /** How many signed layers were peeled, unverified, to reach it. */
  signedLayersSkipped: number;
  /** The content cipher, e.g. "aes-256-cbc" (or its OID when unknown). */
  contentCipher: string;
  /** Whom the layer was encrypted for, as its RecipientInfos name them. */
  recipients: RecipientSummary[];
}

/**
 * Decrypts the outermost encrypted layer of `bytes`, peeling any signed
 * layers around it without verification.
 *
 * @param source the message's name in error messages
 * @param keys the candidate keys, asked for only once an encrypted layer is found
 * @param options `inPlace`: `bytes` may be used up. The encrypted layer's
 *   base64 is decoded over the message's own bytes and its AES-CBC content
 *   decrypted where it lies, so `content` is a view of `bytes` and a 95 MB
 *   message costs no second and third buffer (the CLI's `decrypt`, which
 *   reads the message for this alone). Without it, only what was decoded
 *   into a new array is decrypted in place.
 * @throws {SmimeError} E_DECRYPT "<source>: not encrypted" when it holds no
 *   encrypted layer (signed only), E_MESSAGE when it is no S/MIME message
 *   at all, E_CMS for a malformed CMS object, and what decryptWithAny throws
 */
export async function decryptMessage(
  bytes: Uint8Array,
  source: string,
  keys: KeyCandidates,
  options: { inPlace?: boolean } = {},
): Promise<DecryptedMessage> {
  const inPlace = options.inPlace ?? false;
  let content = bytes;
  for (let depth = 0; depth < MAX_LAYERS; depth++) {
    const node = parseMimeTree(content, source);
    let inner: Uint8Array | undefined;
    if (
      node.contentType.type === "multipart" && node.contentType.subtype === "signed" &&
      isSmimeSigned(node, depth) && node.children[0]
    ) {
      inner = toCrlf(node.children[0].raw);
    } else if (isPkcs7Mime(node)) {
      const der = inPlace ? decodeBodyInPlace(node) : decodeBody(node);
      const kind = named(source, () => cmsKind(der));
      if (kind !== "signed-data") {
        // Read before the content is decrypted, perhaps over itself; a failure to read it
        // is reported after decryption's own, as it always was.
        let info: ReturnType<typeof inspect> | undefined;
        let unreadable: unknown;
        try {
          info = named(source, () => inspect(der));
        } catch (err) {
          unreadable = err;
        }
        // A new array from the decoding is this function's own to overwrite.
        const owned = inPlace || der !== node.body;
        const opened = await named(
          source,
          () => decryptWithAny(der, eachCandidate(keys, der), source, { inPlace: owned }),
        );
        if (!info) throw unreadable;
        return {
          kind,
          decryptedWith: opened.file,
          content: opened.content,
          signedLayersSkipped: depth,
          contentCipher: info.kind === "signed-data" ? "" : info.contentCipher,
          recipients: info.kind === "signed-data" ? [] : info.recipients,
        };
      }
      inner = named(source, () => unverifiedContent(der));
    } else if (depth === 0) {
      throw new SmimeError(
        "E_MESSAGE",
        `${source}: not an S/MIME message (Content-Type ${describe(node)})`,
      );
    }
    if (inner === undefined) break;
    content = inner;
  }
  throw new SmimeError("E_DECRYPT", `${source}: not encrypted`);
}

/** Runs `fn`, naming the message in E_CMS errors (the CMS layer knows bytes, not files). */
function named<T>(source: string, fn: () => T): T {
  const rename = (err: unknown): never => {
    if (!isSmimeError(err, "E_CMS")) throw err;
    throw new SmimeError("E_CMS", `${source}: ${err.message}`, { cause: err.cause });
  };
  try {
    const result = fn();
    return result instanceof Promise ? result.catch(rename) as T : result;
  } catch (err) {
    return rename(err);
  }
}

/**
 * The metadata `decrypt --json` prints: which layer, the cipher, whom it was
 * for, the key that opened it, the signed layers around it and whether the
 * entity inside is signed (unverified: `verify` checks signatures). Never
 * the plaintext.
 */
export function decryptedJson(
  source: string,
  decrypted: DecryptedMessage,
  output: string | undefined,
): Record<string, unknown> {
  return {
    file: source,
    kind: decrypted.kind,
    content_cipher: decrypted.contentCipher,
    recipients: decrypted.recipients.map((r) => ({
      issuer: r.issuer ?? null,
      serial_number: r.serialNumber ?? null,
      subject_key_identifier: r.subjectKeyIdentifier ?? null,
      key_encryption: r.keyEncryption,
    })),
    decrypted_with: decrypted.decryptedWith,
    signed_layers_outside: decrypted.signedLayersSkipped,
    signed_inside: isSignedEntity(decrypted.content, source),
    content_bytes: decrypted.content.length,
    output: output ?? null,
  };
}

/** True when the entity is multipart/signed or an S/MIME signed-data, best effort. */
function isSignedEntity(content: Uint8Array, source: string): boolean {
  try {
    const node = parseMimeTree(content, source);
    if (node.contentType.type === "multipart" && node.contentType.subtype === "signed") return true;
    return isPkcs7Mime(node) && cmsKind(decodeBody(node)) === "signed-data";
  } catch {
    return false;
  }
}
