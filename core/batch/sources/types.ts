/**
 * The types the batch input layer hands the runner: one {@link BatchInput}
 * per message, and {@link InputError} for an item that could not be read.
 *
 * @module
 */
import { SmimeError } from "../../errors.ts";

import type { DeliveryFields } from "../../deliver/types.ts";
export type { DeliveryFields };

/** One message of a run. */
export interface BatchInput {
  /**
   * Stable across runs and unique within one, for --resume: the file path as
   * given (normalised, "statements/0001.eml"), "mbox:<path>#<n>" (n from 1),
   * "stdin", or "manifest:<path>#<line>".
   */
  key: string;
  /** What progress lines and errors name: the path, "inbox.mbox message 17", "<stdin>". */
  label: string;
  /** The raw message. */
  bytes: Uint8Array;
  /** Envelope sender override (manifest "from"). */
  sender?: string;
  /** Envelope recipients override (manifest "to"). */
  recipients?: string[];
  /** Delivery fields that override the profile's (manifest). */
  fields?: DeliveryFields;
}

/** Where the inputs besides the path arguments come from. */
export interface InputOptions {
  /** --mbox FILE (repeatable), or "-" for an mbox stream on stdin. */
  mbox?: string[];
  /** --manifest FILE (JSON Lines, repeatable), or "-" for stdin. */
  manifest?: string[];
  /** What "-" reads; Deno.stdin.readable by default. */
  stdin?: ReadableStream<Uint8Array>;
}

/**
 * An input item that could not be read: a missing file, an unreadable
 * folder, a bad manifest line. Code E_INPUT; carries the item's key and label
 * so the runner can record it and go on.
 */
export class InputError extends SmimeError {
  /** The key the item would have had (see {@link BatchInput.key}). */
  readonly key: string;
  /** What to call the item in a progress line. */
  readonly label: string;

  /**
   * @param key the item's key
   * @param label the item's label
   * @param message one line: "Cannot read <file>: <reason>"
   * @param options `cause` for the underlying error
   */
  constructor(key: string, label: string, message: string, options?: ErrorOptions) {
    super("E_INPUT", message, options);
    this.name = "InputError";
    this.key = key;
    this.label = label;
  }
}

/** What the internal generators yield: a message, or the error in its place. */
export type InputItem = BatchInput | InputError;
