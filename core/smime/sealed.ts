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
import type { HeaderField } from "../message/mod.ts";
import { getHeader, parseHead, prologueLength } from "../message/mod.ts";
import { messageBytes, messageBytesAfter } from "./seal.ts";
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
 * A message ready for delivery. `S` says what sealing did; a transport takes
 * any seal, a caller that asked for one can demand it.
 */
export class SealedMessage<S extends Seal = Seal> {
  /** Private, so only this class's own instances have the type (a copy does not). */
  readonly #seal: S;
  /** The whole message as it goes on the wire: outer headers, MIME-Version, entity. */
  readonly bytes: Uint8Array;
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
      bytes: Uint8Array;
      seal: S;
      messageId?: string;
      sender: string;
      recipients: readonly string[];
    },
  ) {
    if (mint !== MINT) throw new TypeError("SealedMessage: use sealedMessage() or unsealed()");
    this.#seal = parts.seal;
    this.bytes = parts.bytes;
    if (parts.messageId !== undefined) this.messageId = parts.messageId;
    this.sender = parts.sender;
    this.recipients = Object.freeze([...parts.recipients]);
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

  /** The message as plain data, for postMessage; its buffer can be transferred. */
  toRecord(): SealedRecord<S> {
    const record = { version: SEALED_RECORD_VERSION, ...this.#parts() };
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
    const { version: _version, ...parts } = record;
    return new SealedMessage(MINT, parts);
  }

  #parts() {
    return {
      bytes: this.bytes,
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
  return new SealedMessage(MINT, {
    bytes: head ? messageBytesAfter(head, entity) : messageBytes(outer, entity),
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
