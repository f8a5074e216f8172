/**
 * Whose signature a signed message should carry: the one rule `verify` and
 * `keys import` share, so that a message one trusts the other imports.
 *
 * @module
 */

import { reasonOf } from "../errors.ts";
import { authorOf, parseMessage } from "../message/mod.ts";
import type { Opened } from "./open.ts";

/** The author as `authorOf` finds it: an address, or why there is none. */
export type Author = { address: string } | { problem: string };

const NO_FROM = "the message has no From header";

/**
 * The author of an opened message: the From a reader sees; when the outside
 * has none (`openssl cms -sign` of a whole message), the From inside the
 * opened content, which is signed.
 *
 * @param bytes the whole message as it arrived
 * @param opened what openMessage found in it
 * @param source named in a problem
 * @returns the one From mailbox, or why there is no single one
 */
export function authorOfOpened(bytes: Uint8Array, opened: Opened, source: string): Author {
  const outside = authorIn(bytes, source);
  if (!("problem" in outside) || outside.problem !== NO_FROM) return outside;
  return authorIn(opened.content, source);
}

function authorIn(bytes: Uint8Array, source: string): Author {
  try {
    return authorOf(parseMessage(bytes, source));
  } catch (err) {
    return { problem: `the message header can't be read (${reasonOf(err)})` };
  }
}
