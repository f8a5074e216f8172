/**
 * Types the message layer hands to its callers: a parsed message, its
 * envelope, a MIME tree, and the canonical entity the S/MIME layer signs.
 *
 * Each stage has its own type so that, say, a raw {@link Message} can't be
 * passed where a {@link CanonicalEntity} is expected.
 *
 * @module
 */

/** One header field as it appeared in the input (RFC 5322 2.2). */
export interface HeaderField {
  /** The field name as written, e.g. "Subject". */
  name: string;
  /**
   * The whole field as in the input, folding, name and colon included, without
   * the final line end; internal line ends normalised to CRLF.
   */
  raw: Uint8Array;
  /**
   * The unfolded value after the colon (RFC 5322 2.2.3), leading and trailing
   * WSP trimmed, bytes decoded as UTF-8 (invalid sequences become U+FFFD).
   */
  value: string;
}

/** A message split into header fields and body, nothing decoded. */
export interface Message {
  /** File name or "<stdin>", used in error messages. */
  source: string;
  /** The header fields in input order. */
  headers: HeaderField[];
  /** The body bytes exactly as read (any line ends), after the blank line. */
  body: Uint8Array;
}

/** One mailbox from an address list (RFC 5322 3.4). */
export interface Mailbox {
  /** local@domain as written; the domain is lower-cased, the local part kept. */
  address: string;
  /** The display name, encoded words (RFC 2047) decoded; absent when none. */
  name?: string;
}

/** Who sends and who receives, as the message's own header fields say. */
export interface Envelope {
  /** From's single mailbox, or Sender's when From has several (RFC 5322 3.6.2). */
  sender: string;
  /** Mailboxes of the To fields, groups flattened. */
  to: Mailbox[];
  /** Mailboxes of the Cc fields, groups flattened. */
  cc: Mailbox[];
  /** Mailboxes of the Bcc fields, groups flattened. */
  bcc: Mailbox[];
  /** Unique addresses of to, cc and bcc, in order, de-duplicated case-insensitively. */
  recipients: string[];
}

/**
 * The part of a message that S/MIME signs or encrypts, and what stays outside.
 */
export interface CanonicalEntity {
  /**
   * Header fields that stay outside the signature or encryption: all but
   * Content-*, MIME-Version and Bcc (Bcc never leaves the tool), in input
   * order, raw bytes unchanged.
   */
  outer: HeaderField[];
  /**
   * The MIME entity in canonical form (RFC 8551 3.1): Content-* header
   * fields, CRLF, body; every line end CRLF; 7-bit safe. Built when first
   * read: a reader that only reads through it uses `source`.
   */
  readonly entity: Uint8Array;
  /** The same bytes made piece by piece (line ends converted on the way), never whole. */
  readonly source: ByteSource;
}

/**
 * Bytes made piece by piece on demand, of a size known up front. Each call
 * of `pieces` starts over and gives the same bytes; a piece may be a
 * scratch buffer that the next piece overwrites. (The same shape as
 * core/cms's ByteSource: the two layers import nothing from each other.)
 */
export interface ByteSource {
  readonly size: number;
  pieces(): Iterable<Uint8Array>;
}

/** A parsed Content-Type (RFC 2045 5.1). */
export interface ContentType {
  /** Lower-cased media type, e.g. "text". */
  type: string;
  /** Lower-cased subtype, e.g. "plain". */
  subtype: string;
  /** Parameters by lower-cased name; RFC 2231 continuations joined and decoded. */
  params: Record<string, string>;
}

/** One MIME entity of a parsed message and the entities inside it. */
export interface MimeNode {
  /** This entity's header fields. */
  headers: HeaderField[];
  /** Its Content-Type, the RFC 2045 default when absent or invalid. */
  contentType: ContentType;
  /** The exact bytes of the entity (headers, blank line, body) as in the input. */
  raw: Uint8Array;
  /** The exact body bytes; for a multipart, preamble and epilogue included. */
  body: Uint8Array;
  /** The parts of a multipart; for message/rfc822, the embedded message. */
  children: MimeNode[];
}
