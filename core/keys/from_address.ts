/**
 * The one author address of a message, as the import needs it: the From
 * field must hold exactly one mailbox (RFC 5322 3.6.2), or whose certificate
 * to import is not a question with one answer.
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import type { Author } from "../smime/author.ts";
import { normaliseAddress } from "./address.ts";

/**
 * The single From mailbox of a message, normalised (lower-cased, checked as
 * a key-folder name). Display names may be encoded words (RFC 2047); the
 * address is read from the raw field, so folding and encoded words in the
 * name cannot hide a second mailbox.
 *
 * @param author what `authorOfOpened` (core/smime/author.ts) found: the
 *   outer From, or the signed content's when the outside has none
 * @param source named in errors
 * @returns e.g. "alice@example.com"
 * @throws {SmimeError} E_MESSAGE when there is no From field, several From
 *   fields, a From with no mailbox or several, or an address that is not
 *   local@domain
 */
export function singleFromAddress(author: Author, source: string): string {
  if ("problem" in author) refuse(source, author.problem.replace(/^the message has /, ""));
  try {
    return normaliseAddress(author.address);
  } catch {
    refuse(source, "From address is not a plain local@domain address");
  }
}

function refuse(source: string, reason: string): never {
  throw new SmimeError("E_MESSAGE", `${source}: ${reason}`);
}
