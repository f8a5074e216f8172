/**
 * The message layer of smimepost: bytes to {@link Message} (header fields,
 * body), its {@link Envelope}, its MIME tree, and the canonical entity that
 * S/MIME signs and encrypts (RFC 8551 3.1).
 *
 * Everything here works on bytes and never decodes a body it doesn't have to.
 * Failures are {@link SmimeError}s with code E_MESSAGE whose one-line message
 * names the source and the reason.
 *
 * @example
 * ```ts
 * import { canonicalEntity, envelopeOf, parseMessage } from "./mod.ts";
 *
 * const bytes = new TextEncoder().encode(
 *   "From: alice@example.com\nTo: bob@example.com\nBcc: dave@example.org\n\nHello\n",
 * );
 * const message = parseMessage(bytes, "hello.eml");
 * const envelope = envelopeOf(message); // recipients: bob@example.com, dave@example.org
 * const { outer, entity } = canonicalEntity(message); // outer has no Bcc
 * ```
 *
 * @module
 */

export type {
  ByteSource,
  CanonicalEntity,
  ContentType,
  Envelope,
  HeaderField,
  Mailbox,
  Message,
  MimeNode,
} from "./types.ts";
export { getHeader, getHeaders, parseHead, parseMessage, prologueLength } from "./parse_message.ts";
export { makeHeader, serializeHeaders } from "./header_build.ts";
export { decodeEncodedWords } from "./encoded_words.ts";
export { parseAddressList } from "./address_list.ts";
export { authorOf, envelopeOf } from "./envelope.ts";
export { parseContentType } from "./content_type.ts";
export { parseMimeTree } from "./mime_tree.ts";
export {
  base64Length,
  base64Pieces,
  Base64Writer,
  decodeBody,
  decodeBodyInPlace,
  encodeBase64,
} from "./transfer_encoding.ts";
export { canonicalEntity } from "./canonical.ts";
export { describeUnsafeBytes } from "./seven_bit.ts";
export { toCrlf } from "./line_ends.ts";
