/**
 * One job on the queue: a message's bytes (or a reference to them in the
 * object store) and, in one versioned header, what the input layer knew
 * about it (its label, a manifest's envelope and delivery fields). Its id,
 * the Nats-Msg-Id that deduplicates a second enqueue, is the message's
 * Message-ID; a message without one gets one derived from its bytes and
 * envelope, so that the same input always gets the same id.
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { SmimeError } from "../errors.ts";
import type { BatchInput, DeliveryFields } from "../batch/sources/mod.ts";
import { envelopeOf, getHeader, parseMessage } from "../message/mod.ts";
import { prologueLength } from "../message/parse_message.ts";
import { digestOf } from "./names.ts";

/** The header that carries a job's record. */
export const JOB_HEADER = "Smimepost-Job";

/** Where a large message waits: an object in the run's bucket. */
export interface ObjectRef {
  bucket: string;
  name: string;
  size: number;
}

/** What crosses the queue besides the bytes. Versioned: a worker refuses what it can't read. */
export interface JobRecord {
  v: 1;
  /** The job id: the Message-ID (see {@link prepareJob}); the run's key for the message. */
  id: string;
  /** Where the message came from on the node that queued it. */
  label: string;
  sender?: string;
  recipients?: string[];
  fields?: DeliveryFields;
  /** The bytes are in the object store, not in the job. */
  object?: ObjectRef;
}

/** A job ready to publish. */
export interface PreparedJob {
  record: JobRecord;
  /** The message as queued: with the Message-ID header added when it had none. */
  bytes: Uint8Array;
  /** True when the Message-ID header was added here. */
  addedMessageId: boolean;
}

const encoder = new TextEncoder();

/**
 * Gives an input its job id and record. The id is the Message-ID as written
 * (angle brackets included); a message without one gets
 * `<HEX@DOMAIN>` (HEX from the SHA-256 of the bytes and the manifest's
 * envelope and fields, DOMAIN the sender's) as a new first header field. A
 * manifest line that sets the envelope or delivery fields adds a digest of
 * them to the id, so one message sent to two lists is two jobs.
 */
export function prepareJob(input: BatchInput): PreparedJob {
  const overrides = input.sender !== undefined || input.recipients !== undefined ||
    input.fields !== undefined;
  const extra = overrides
    ? JSON.stringify([input.sender ?? null, input.recipients ?? null, input.fields ?? null])
    : "";
  let bytes = input.bytes;
  let messageId: string | undefined;
  let addedMessageId = false;
  try {
    const message = parseMessage(bytes, input.label);
    messageId = usableId(getHeader(message, "Message-ID")?.value);
    if (!messageId) {
      messageId = `<${digestOf(concatBytes([bytes, encoder.encode(`\0${extra}`)]))}@${
        domainOf(input.sender ?? senderOf(message))
      }>`;
      bytes = withHeader(bytes, `Message-ID: ${messageId}`);
      addedMessageId = true;
    }
  } catch (err) {
    // Not a message: queued as it is, the worker records why it can't be sealed.
    if (!(err instanceof SmimeError)) throw err;
    messageId = `<${
      digestOf(concatBytes([bytes, encoder.encode(`\0${extra}`)]))
    }@smimepost.invalid>`;
  }
  const id = overrides ? `${messageId} ${digestOf(extra).slice(0, 16)}` : messageId;
  const record: JobRecord = { v: 1, id, label: input.label };
  if (input.sender !== undefined) record.sender = input.sender;
  if (input.recipients !== undefined) record.recipients = input.recipients;
  if (input.fields !== undefined) record.fields = input.fields;
  return { record, bytes, addedMessageId };
}

/** The record as a header value (one line of JSON). */
export function encodeRecord(record: JobRecord): string {
  return JSON.stringify(record);
}

/**
 * Reads a job's record.
 *
 * @throws {SmimeError} E_INPUT when the header is missing, is not JSON, or
 *   has a version this worker does not know
 */
export function decodeRecord(value: string | undefined, where: string): JobRecord {
  if (!value) throw new SmimeError("E_INPUT", `${where}: not a smimepost job (no ${JOB_HEADER})`);
  let record: unknown;
  try {
    record = JSON.parse(value);
  } catch {
    throw new SmimeError("E_INPUT", `${where}: ${JOB_HEADER} is not JSON`);
  }
  const r = record as Partial<JobRecord> | null;
  if (!r || typeof r !== "object" || typeof r.id !== "string" || typeof r.label !== "string") {
    throw new SmimeError("E_INPUT", `${where}: ${JOB_HEADER} lacks its id or label`);
  }
  if (r.v !== 1) {
    throw new SmimeError(
      "E_INPUT",
      `${where}: job version ${JSON.stringify(r.v)} is newer than this worker (1)`,
    );
  }
  return r as JobRecord;
}

/** The job's input, for the run. */
export function inputOf(record: JobRecord, bytes: Uint8Array): BatchInput {
  const input: BatchInput = { key: record.id, label: record.label, bytes };
  if (record.sender !== undefined) input.sender = record.sender;
  if (record.recipients !== undefined) input.recipients = record.recipients;
  if (record.fields !== undefined) input.fields = record.fields;
  return input;
}

/** A Message-ID a NATS header can carry as it is, or undefined. */
function usableId(value: string | undefined): string | undefined {
  if (!value || value.length > 500) return undefined;
  // deno-lint-ignore no-control-regex
  return /^[^\x00-\x1f\x7f]+$/.test(value) ? value : undefined;
}

function senderOf(message: ReturnType<typeof parseMessage>): string {
  try {
    return envelopeOf(message).sender;
  } catch {
    return "";
  }
}

function domainOf(address: string): string {
  const domain = address.slice(address.lastIndexOf("@") + 1);
  return address.includes("@") && /^[A-Za-z0-9.-]+$/.test(domain) ? domain : "smimepost.invalid";
}

/** `field` as the first header field, with the message's own line end. */
function withHeader(bytes: Uint8Array, field: string): Uint8Array {
  const at = prologueLength(bytes);
  const lf = bytes.indexOf(10, at);
  const crlf = lf < 0 || (lf > 0 && bytes[lf - 1] === 13);
  return concatBytes([
    bytes.subarray(0, at),
    encoder.encode(field + (crlf ? "\r\n" : "\n")),
    bytes.subarray(at),
  ]);
}
