/**
 * An mbox given where a message was expected: `verify`, `show` and
 * `decrypt` read a file as one message, and smimepost's own output of
 * several messages is an mbox (mboxrd). Taken as one message, everything
 * after a detached-signed first message is its epilogue, and the others
 * are never checked. Split by the batch mbox reader's {@link MboxSplitter},
 * so that a file means the same here as with `--mbox`.
 *
 * @module
 */
import { MboxSplitter, NotMboxError } from "./mbox.ts";

const FROM_ = [0x46, 0x72, 0x6f, 0x6d, 0x20]; // "From "

/**
 * How many messages `bytes` holds as an mbox: 0 unless it starts with a
 * From_ line at offset 0. A message file may start with one From_ line (a
 * message saved from an mbox); only a count above 1, a later separator, makes
 * it an mbox of several messages.
 */
export function mboxMessageCount(bytes: Uint8Array): number {
  if (!FROM_.every((byte, i) => bytes[i] === byte)) return 0;
  const counter = new MboxSplitter(true);
  try {
    counter.push(bytes);
    counter.end();
  } catch (err) {
    if (err instanceof NotMboxError) return 0;
    throw err;
  }
  return counter.count;
}

/**
 * The messages of `bytes` when it is an mbox of more than one message (see
 * {@link mboxMessageCount}), mboxrd quoting undone; undefined otherwise.
 */
export function mboxMessages(bytes: Uint8Array): Uint8Array[] | undefined {
  if (mboxMessageCount(bytes) < 2) return undefined;
  const splitter = new MboxSplitter();
  return [...splitter.push(bytes), ...splitter.end()];
}
