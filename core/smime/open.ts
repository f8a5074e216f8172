/**
 * Opening sealed messages: peel S/MIME layers (opaque signed, multipart/signed,
 * enveloped, auth-enveloped) from the outside in, verifying and decrypting.
 *
 * @module
 */
import { decrypt, inspect, verify } from "../cms/mod.ts";
import type { CmsKind, RecipientKey, VerifyResult } from "../cms/types.ts";
import { isSmimeError, reasonOf, SmimeError } from "../errors.ts";
import type { TrustStore } from "../trust/mod.ts";
import type { MimeNode } from "../message/mod.ts";
import { decodeBody, parseMimeTree, toCrlf } from "../message/mod.ts";

/** One S/MIME layer that was opened. */
export type OpenedLayer =
  | { kind: "signed"; detached: boolean; result: VerifyResult }
  | { kind: "enveloped-data" | "auth-enveloped-data"; decryptedWith: string };

/** A key to try on an encrypted layer, and the file or address it came from. */
export type KeyCandidate = RecipientKey & { file: string };

/**
 * Supplies keys to try on the encrypted layer `der`, most likely first: all
 * at once, or one at a time, so that a key found by a longer search is
 * looked for only when the ones before it did not open the layer.
 */
export type KeyCandidates = (
  der: Uint8Array,
) => Promise<KeyCandidate[]> | AsyncIterable<KeyCandidate>;

/** The keys `keys` supplies for `der`, one at a time. */
export async function* eachCandidate(
  keys: KeyCandidates,
  der: Uint8Array,
): AsyncGenerator<KeyCandidate> {
  const supplied = keys(der);
  if (Symbol.asyncIterator in supplied) yield* supplied;
  else yield* await supplied;
}

/** How to open a message. */
export interface OpenOptions {
  trustAnchors?: Uint8Array[];
  /** Anchors and candidate intermediates, indexed once (instead of trustAnchors). */
  trust?: TrustStore;
  /** Keys for encrypted layers; without it an encrypted layer is an error. */
  keys?: KeyCandidates;
}

/** What opening found: the layers, outermost first, and the innermost entity. */
export interface Opened {
  layers: OpenedLayer[];
  /** The innermost MIME entity (canonical CRLF form). */
  content: Uint8Array;
}

/** How many S/MIME layers are opened before giving up (signed inside encrypted inside ...). */
export const MAX_LAYERS = 8;

/**
 * Opens every S/MIME layer of `bytes`.
 *
 * @throws {SmimeError} E_MESSAGE when it holds no S/MIME layer, E_CMS for a
 *   malformed CMS object, E_DECRYPT when no key opens an encrypted layer.
 */
export async function openMessage(
  bytes: Uint8Array,
  source: string,
  options: OpenOptions = {},
): Promise<Opened> {
  const layers: OpenedLayer[] = [];
  let node = parseMimeTree(bytes, source);
  let content = bytes;
  for (let depth = 0; depth < MAX_LAYERS; depth++) {
    const step = await openLayer(node, source, options, depth).catch((err) => {
      // The CMS parser knows bytes, not files: name the message it came from.
      if (!isSmimeError(err, "E_CMS")) throw err;
      throw new SmimeError("E_CMS", `${source}: ${err.message}`, { cause: err.cause });
    });
    if (!step) break;
    layers.push(step.layer);
    content = step.content;
    node = parseMimeTree(content, source);
  }
  if (layers.length === 0) {
    throw new SmimeError(
      "E_MESSAGE",
      `${source}: not an S/MIME message (Content-Type ${describe(node)})`,
    );
  }
  return { layers, content };
}

async function openLayer(
  node: MimeNode,
  source: string,
  options: OpenOptions,
  depth: number,
): Promise<{ layer: OpenedLayer; content: Uint8Array } | undefined> {
  const { type, subtype } = node.contentType;
  if (type === "multipart" && subtype === "signed" && isSmimeSigned(node, depth)) {
    // RFC 1847 2.1: the signed part and the signature, nothing else. A
    // third part would be shown by some clients as if it were signed.
    const [signed, signature] = node.children;
    if (node.children.length !== 2 || !signed || !signature) {
      throw new SmimeError(
        "E_VERIFY",
        `${source}: multipart/signed has ${node.children.length} part(s), not the two parts ` +
          "(content, signature) RFC 1847 allows: not intact",
      );
    }
    // RFC 8551 3.1.1: verify over the canonical (CRLF) form of the first part.
    const content = toCrlf(signed.raw);
    const result = await verify(decodeBody(signature), {
      detachedContent: content,
      trustAnchors: options.trustAnchors,
      trust: options.trust,
    });
    return { layer: { kind: "signed", detached: true, result }, content };
  }
  if (!isPkcs7Mime(node)) return undefined;
  const der = decodeBody(node);
  const kind: CmsKind = inspect(der).kind;
  if (kind === "signed-data") {
    const result = await verify(der, { trustAnchors: options.trustAnchors, trust: options.trust });
    return {
      layer: { kind: "signed", detached: result.detached, result },
      content: result.content,
    };
  }
  if (!options.keys) {
    throw new SmimeError("E_DECRYPT", `${source}: the message is encrypted; give --key`);
  }
  const { content, file } = await decryptWithAny(der, eachCandidate(options.keys, der), source);
  return { layer: { kind, decryptedWith: file }, content };
}

/**
 * Decrypts `der` with the first candidate key that opens it. When none
 * does, one line names the message and every key file tried; a key that
 * does not open it says so in one text whatever the cause (RFC 3218).
 *
 * @param options `inPlace`: `der` may be overwritten, its AES-CBC content
 *   decrypted where it lies (see decrypt in core/cms)
 *
 * @throws {SmimeError} E_DECRYPT when no key opens it, E_KEY_NOT_FOUND
 *   without candidates, and what decrypt throws for the message itself
 */
export async function decryptWithAny(
  der: Uint8Array,
  candidates: Iterable<KeyCandidate> | AsyncIterable<KeyCandidate>,
  source: string,
  options: { inPlace?: boolean } = {},
): Promise<{ content: Uint8Array; file: string }> {
  const refusals: { file: string; reason: string }[] = [];
  for await (const key of candidates) {
    try {
      return { content: await decrypt(der, key, options), file: key.file };
    } catch (err) {
      if (!isSmimeError(err, "E_DECRYPT") && !isSmimeError(err, "E_KEY_MISMATCH")) throw err;
      refusals.push({ file: key.file, reason: reasonOf(err).replace(/^Cannot decrypt: /, "") });
    }
  }
  if (refusals.length === 0) {
    throw new SmimeError(
      "E_KEY_NOT_FOUND",
      `Cannot decrypt ${source}: no private key for any of its recipients (give --key)`,
    );
  }
  const reasons = new Set(refusals.map((r) => r.reason));
  const [reason] = reasons;
  throw new SmimeError(
    "E_DECRYPT",
    reasons.size === 1
      ? `Cannot decrypt ${source} with ${refusals.map((r) => r.file).join(", ")}: ${reason}`
      : `Cannot decrypt ${source}: ${refusals.map((r) => `${r.file}: ${r.reason}`).join("; ")}`,
  );
}

/**
 * A multipart/signed that is S/MIME: protocol application/pkcs7-signature
 * (or the x- form). Without a protocol the outermost one is taken as S/MIME
 * (old clients), an inner one only when its second part is a pkcs7-signature:
 * signed content may itself be, say, PGP/MIME, which is content, not a layer.
 */
export function isSmimeSigned(node: MimeNode, depth: number): boolean {
  const isPkcs7 = (value: string | undefined) =>
    value !== undefined && /^application\/(x-)?pkcs7-signature$/i.test(value.trim());
  const protocol = node.contentType.params["protocol"];
  if (protocol !== undefined) return isPkcs7(protocol);
  const second = node.children[1]?.contentType;
  return depth === 0 || (second !== undefined && isPkcs7(`${second.type}/${second.subtype}`));
}

/** application/pkcs7-mime, the x- form old clients write, or a .p7m octet-stream. */
export function isPkcs7Mime(node: MimeNode): boolean {
  const { type, subtype, params } = node.contentType;
  if (type !== "application") return false;
  if (subtype === "pkcs7-mime" || subtype === "x-pkcs7-mime") return true;
  const name = (params["name"] ?? "").toLowerCase();
  return subtype === "octet-stream" && name.endsWith(".p7m");
}

/** The media type of `node`, for messages. */
export function describe(node: MimeNode): string {
  return `${node.contentType.type}/${node.contentType.subtype}`;
}
