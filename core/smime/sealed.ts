/**
 * The sealed message: the one type that goes from sealing to delivery to the
 * journal. It carries the bytes, what was done to them (signed, encrypted,
 * both, or nothing because nothing was asked), the Message-ID they carry
 * (sealing adds one when the input had none), and the SMTP envelope.
 *
 * Only the sealing functions make one ({@link sealedMessage}, from a signed
 * or encrypted entity that only signEntity/encryptEntity produce), or
 * {@link unsealed} for "deliver as is". A spread copy or an object literal is
 * not one, so handing delivery a message that skipped sealing is a type
 * error. Across a worker it travels as a versioned {@link SealedRecord}.
 *
 * @module
 */
import { type ByteSource, joinSource } from "../bytes.ts";
import type { HeaderField } from "../message/mod.ts";
import { getHeader, parseHead, prologueLength } from "../message/mod.ts";
import { messageBytes, messageBytesAfter, messageHead, messageSource } from "./seal.ts";
import type { SealedEntity } from "./seal.ts";

/** What sealing did to a message; "none" only when neither was asked. */
export type Seal = "signed" | "encrypted" | "signed+encrypted" | "none";

/**
 * The seal that signing and encrypting flags produce, at the type level:
 * `SealFor<true, false>` is "signed"; a flag only known at run time
 * (`boolean`) gives every seal it could.
 */
export type SealFor<Sign extends boolean, Encrypt extends boolean> = Sign extends true
  ? (Encrypt extends true ? "signed+encrypted" : "signed")
  : (Encrypt extends true ? "encrypted" : "none");

/** The seal that signing and encrypting flags ask for, at run time ({@link SealFor} at type level). */
export function sealAsked<Sign extends boolean, Encrypt extends boolean>(
  flags: { sign: Sign; encrypt: Encrypt },
): SealFor<Sign, Encrypt> {
  const seal: Seal = flags.sign
    ? (flags.encrypt ? "signed+encrypted" : "signed")
    : flags.encrypt
    ? "encrypted"
    : "none";
  return seal as SealFor<Sign, Encrypt>;
}

/** Who a message goes from and to (RFC 5321 MAIL FROM and RCPT TO). */
export interface SealedEnvelope {
  readonly sender: string;
  readonly recipients: readonly string[];
}

/** The version of {@link SealedRecord}; a reader refuses any other. */
export const SEALED_RECORD_VERSION = 1;

declare const recordBrand: unique symbol;

/**
 * A sealed message as it crosses a worker boundary (structured clone keeps
 * no class): plain data, versioned, and branded with its seal so that only
 * {@link SealedMessage.toRecord} makes one. A copy with another `seal`
 * written over it keeps the old brand, and revives as "this or that", never
 * as the seal it claims.
 *
 * The record of a streamed message (see {@link SealedMessage.source}) makes
 * its `bytes` when they are read (cloning reads them); revived on the
 * thread that made it, it gets its source back and they are never made.
 */
export interface SealedRecord<S extends Seal = Seal> {
  readonly version: typeof SEALED_RECORD_VERSION;
  readonly bytes: Uint8Array;
  readonly seal: S;
  readonly messageId?: string;
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly [recordBrand]: S;
}

/** Passed to the constructor by this module alone: nothing else can build one. */
const MINT: unique symbol = Symbol("SealedMessage");

/**
 * The sources of the records this thread made of streamed messages, so that
 * {@link SealedMessage.revive} takes the source back instead of reading the
 * record's `bytes` (which would build the whole message). A record cloned
 * to another thread is another object: it is not here, and brings its bytes.
 */
const recordSources = new WeakMap<object, ByteSource>();

/**
 * A message ready for delivery. `S` says what sealing did; a transport takes
 * any seal, a caller that asked for one can demand it.
 */
export class SealedMessage<S extends Seal = Seal> {
  /** Private, so only this class's own instances have the type (a copy does not). */
  readonly #seal: S;
  #bytes: Uint8Array | undefined;
  readonly #source: ByteSource | undefined;
  /** The Message-ID the bytes carry, as written; absent only for unsealed input without one. */
  readonly messageId?: string;
  readonly sender: string;
  readonly recipients: readonly string[];

  /**
   * Not for callers: {@link sealedMessage}, {@link unsealed} and
   * {@link SealedMessage.revive} make SealedMessages.
   */
  constructor(
    mint: typeof MINT,
    parts: {
      /** The message whole, or piece by piece (a large one: see {@link source}). */
      bytes: Uint8Array | ByteSource;
      seal: S;
      messageId?: string;
      sender: string;
      recipients: readonly string[];
    },
  ) {
    if (mint !== MINT) throw new TypeError("SealedMessage: use sealedMessage() or unsealed()");
    this.#seal = parts.seal;
    if (parts.bytes instanceof Uint8Array) this.#bytes = parts.bytes;
    else this.#source = parts.bytes;
    if (parts.messageId !== undefined) this.messageId = parts.messageId;
    this.sender = parts.sender;
    this.recipients = Object.freeze([...parts.recipients]);
  }

  /**
   * The whole message as it goes on the wire: outer headers, MIME-Version,
   * entity. A streamed message (see {@link source}) is built on the first
   * read and kept: a transport that can write pieces reads `source` instead.
   */
  get bytes(): Uint8Array {
    return this.#bytes ??= joinSource(this.#source!);
  }

  /**
   * The message piece by piece, when it is large (its sealed entity over
   * 1 MB) and not held whole: reading it makes the pieces again (AES-CBC,
   * base64), each time the same bytes, so a 50 MB message goes to a socket
   * or a file without ever existing whole. Undefined for a message held
   * whole (small ones, or a large one once `bytes` was read).
   */
  get source(): ByteSource | undefined {
    return this.#bytes ? undefined : this.#source;
  }

  /** The length of {@link bytes}, without building them. */
  get size(): number {
    return this.#bytes?.length ?? this.#source!.size;
  }

  /** What was done to the message. */
  get seal(): S {
    return this.#seal;
  }

  /** True when it was signed, encrypted or both. */
  get isSealed(): boolean {
    return this.#seal !== "none";
  }

  /**
   * The same bytes for some of its recipients (a retry of those deferred,
   * the ones a resumed run has left).
   *
   * @throws {RangeError} for an address that is not among its recipients (a bug)
   */
  forRecipients(recipients: readonly string[]): SealedMessage<S> {
    const own = new Set(this.recipients.map((r) => r.toLowerCase()));
    const stranger = recipients.find((r) => !own.has(r.toLowerCase()));
    if (stranger !== undefined) {
      throw new RangeError(`${stranger} is not a recipient of this sealed message`);
    }
    return new SealedMessage(MINT, { ...this.#parts(), recipients });
  }

  /**
   * The message as plain data, for postMessage; its buffer can be
   * transferred. A streamed message's record builds `bytes` only when they
   * are read (see {@link SealedRecord}).
   */
  toRecord(): SealedRecord<S> {
    const source = this.source;
    if (!source) {
      const record = { version: SEALED_RECORD_VERSION, ...this.#parts() };
      return record as Omit<SealedRecord<S>, typeof recordBrand> as SealedRecord<S>;
    }
    const { bytes: _bytes, ...rest } = this.#parts();
    const record = Object.defineProperty({ version: SEALED_RECORD_VERSION, ...rest }, "bytes", {
      get: () => this.bytes,
      enumerable: true,
    });
    recordSources.set(record, source);
    return record as Omit<SealedRecord<S>, typeof recordBrand> as SealedRecord<S>;
  }

  /**
   * The message again from {@link toRecord}'s data, on the other side of a
   * worker boundary.
   *
   * @throws {TypeError} for a record of another version (the two sides
   *   disagree: a bug)
   */
  static revive<S extends Seal>(record: SealedRecord<S>): SealedMessage<S> {
    if (record.version !== SEALED_RECORD_VERSION) {
      throw new TypeError(`sealed record version ${record.version}, expected 1`);
    }
    return new SealedMessage(MINT, {
      // Not record.bytes for a streamed one: reading them builds the message.
      bytes: recordSources.get(record) ?? record.bytes,
      seal: record.seal,
      messageId: record.messageId,
      sender: record.sender,
      recipients: record.recipients,
    });
  }

  #parts() {
    return {
      bytes: this.#bytes ?? this.#source!,
      seal: this.#seal,
      messageId: this.messageId,
      sender: this.sender,
      recipients: this.recipients,
    };
  }
}

/** The seal an entity carries: "none" for a plain one. */
function sealOf(entity: SealedEntity): Seal {
  if (entity.stage === "plain") return "none";
  if (entity.stage === "signed") return "signed";
  return entity.signed ? "signed+encrypted" : "encrypted";
}

/**
 * The finished message: outer header fields, MIME-Version, then the entity
 * that signEntity or encryptEntity made (or the plain entity, when neither
 * was asked). The Message-ID is read from `outer`, so it is the one sent.
 */
export function sealedMessage(
  outer: readonly HeaderField[],
  entity: SealedEntity,
  envelope: SealedEnvelope,
  head?: Uint8Array,
): SealedMessage {
  // A streamed entity stays streamed: the message is its head, then its pieces.
  const isStreamed = entity.stage !== "plain" && entity.source !== undefined;
  return new SealedMessage(MINT, {
    bytes: isStreamed
      ? messageSource(head ?? messageHead(outer), entity)!
      : head
      ? messageBytesAfter(head, entity)
      : messageBytes(outer, entity),
    seal: sealOf(entity),
    messageId: getHeader({ headers: [...outer] }, "Message-ID")?.value,
    sender: envelope.sender,
    recipients: envelope.recipients,
  });
}

/**
 * A message delivered as it is, neither signed nor encrypted: the explicit
 * way to skip sealing. Its Message-ID is whatever its header says.
 */
export function unsealed(bytes: Uint8Array, envelope: SealedEnvelope): SealedMessage<"none"> {
  const { headers } = parseHead(bytes, prologueLength(bytes), bytes.length, false, "");
  return new SealedMessage(MINT, {
    bytes,
    seal: "none",
    messageId: getHeader({ headers }, "Message-ID")?.value,
    sender: envelope.sender,
    recipients: envelope.recipients,
  });
}
