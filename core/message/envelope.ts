/**
 * Derives the SMTP/API envelope (sender, recipients) from a message's own
 * originator and destination fields (RFC 5322 3.6.2, 3.6.3).
 *
 * Addresses end up in RCPT TO commands and API recipient lists, so anything
 * that could smuggle a line end or a second address is refused here (RFC 5321
 * 4.1.2; SMTP smuggling lives in exactly these gaps).
 *
 * @module
 */

import { SmimeError } from "../errors.ts";
import { parseAddressList } from "./address_list.ts";
import { decodeEncodedWords } from "./encoded_words.ts";
import { escapeControls, snippet } from "./line_ends.ts";
import { getHeaders } from "./parse_message.ts";
import type { Envelope, HeaderField, Mailbox, Message } from "./types.ts";

const utf8 = new TextDecoder("utf-8");
const LINE_OR_NUL = /[\r\n\0]/;
/** RFC 5322 3.2.3 atext and ".", plus UTF-8 (RFC 6531 SMTPUTF8). */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\u0080-\uffff-]+$/;
const QUOTED = /^"(?:[^"\\]|\\.)*"$/;
const LITERAL = /^\[[\x21-\x5a\x5e-\x7e]*\]$/;

/**
 * The envelope of a message: the sender and every recipient.
 *
 * The sender is From's single mailbox, or Sender's when From lists several
 * (RFC 5322 3.6.2). Recipients are To, Cc and Bcc, groups flattened; Resent-*
 * fields are not read here (sealMessage refuses a redirected message).
 * Addresses are parsed from the raw field, so a line end
 * inside a quoted local part is seen even though unfolding would hide it.
 *
 * @param message a parsed message
 * @returns sender, to, cc, bcc and the de-duplicated recipient list
 * @throws {SmimeError} E_MESSAGE when From is missing, repeated or empty; From
 *   has several mailboxes and no single-mailbox Sender; there are no
 *   recipients; an address holds CR, LF, NUL, spaces or controls, has no
 *   "@", or is otherwise not local@domain; a display name holds CR/LF/NUL
 * @example
 * ```ts
 * import { parseMessage } from "./parse_message.ts";
 * const bytes = new TextEncoder().encode("From: a@x.org\nTo: b@y.org\n\nhi\n");
 * envelopeOf(parseMessage(bytes, "m.eml")).recipients; // ["b@y.org"]
 * ```
 */
export function envelopeOf(message: Message): Envelope {
  const source = message.source;
  const froms = getHeaders(message, "From");
  if (froms.length === 0) refuse(source, "no From header");
  if (froms.length > 1) refuse(source, `${froms.length} From headers, RFC 5322 3.6 allows one`);
  const from = mailboxesOf(froms[0]!, source);
  if (from.length === 0) refuse(source, "From header has no mailbox");
  let sender = from[0]!.address;
  if (from.length > 1) {
    const senders = getHeaders(message, "Sender");
    if (senders.length === 0) {
      refuse(
        source,
        `From has ${from.length} mailboxes and there is no Sender header (RFC 5322 3.6.2)`,
      );
    }
    const mailboxes = senders.flatMap((h) => mailboxesOf(h, source));
    if (mailboxes.length !== 1) refuse(source, "Sender header must hold exactly one mailbox");
    sender = mailboxes[0]!.address;
  }
  const to = getHeaders(message, "To").flatMap((h) => mailboxesOf(h, source));
  const cc = getHeaders(message, "Cc").flatMap((h) => mailboxesOf(h, source));
  const bcc = getHeaders(message, "Bcc").flatMap((h) => mailboxesOf(h, source));
  const seen = new Set<string>();
  const recipients: string[] = [];
  for (const m of [...to, ...cc, ...bcc]) {
    const key = m.address.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      recipients.push(m.address);
    }
  }
  if (recipients.length === 0) refuse(source, "no recipients (To, Cc, Bcc are empty)");
  return { sender, to, cc, bcc, recipients };
}

/**
 * The author of a message for signature checks: the one mailbox of its one
 * From field (RFC 5322 3.6.2), encoded-word display names and all. Unlike
 * {@link envelopeOf} it needs no recipients and never falls back to Sender:
 * a signature vouches for the From a reader sees.
 *
 * @returns the address, or why there is no single one
 */
export function authorOf(message: Message): { address: string } | { problem: string } {
  const froms = getHeaders(message, "From");
  if (froms.length === 0) return { problem: "the message has no From header" };
  if (froms.length > 1) return { problem: `the message has ${froms.length} From headers` };
  let mailboxes: Mailbox[];
  try {
    mailboxes = mailboxesOf(froms[0]!, message.source);
  } catch (err) {
    const reason = err instanceof SmimeError ? err.message : String(err);
    return { problem: `the From header can't be read (${reason.replace(/^[^:]*: /, "")})` };
  }
  if (mailboxes.length === 0) return { problem: "the From header holds no mailbox" };
  if (mailboxes.length > 1) {
    return { problem: `the From header holds ${mailboxes.length} mailboxes, not one` };
  }
  return { address: mailboxes[0]!.address };
}

/** The checked mailboxes of one field, read from its raw bytes. */
function mailboxesOf(field: HeaderField, source: string): Mailbox[] {
  const colon = field.raw.indexOf(58);
  const text = colon < 0 ? field.value : utf8.decode(field.raw.subarray(colon + 1));
  const list = parseAddressList(text, source);
  for (const m of list) checkMailbox(m, field.name, source);
  return list.map(unquoted);
}

/**
 * The mailbox with a quoted local part that needs no quotes written plain:
 * `"bob"@example.com` is bob@example.com (RFC 5321 4.1.2), and the key
 * folder names it so.
 */
function unquoted(m: Mailbox): Mailbox {
  const at = m.address.lastIndexOf("@");
  const local = m.address.slice(0, at);
  if (!local.startsWith('"')) return m;
  const inner = local.slice(1, -1).replace(/\\(.)/g, "$1");
  const plain = DOT_ATOM.test(inner) && !inner.startsWith(".") && !inner.endsWith(".") &&
    !inner.includes("..");
  return plain ? { ...m, address: `${inner}${m.address.slice(at)}` } : m;
}

function checkMailbox(m: Mailbox, field: string, source: string): void {
  const a = m.address;
  const shown = `${field} address "${escapeControls(snippet(a))}"`;
  if (LINE_OR_NUL.test(a)) refuse(source, `${shown} contains CR, LF or NUL`);
  // Nothing should decode an address, but a downstream that does must not
  // find a line end in it.
  if (LINE_OR_NUL.test(decodeEncodedWords(a))) {
    refuse(source, `${shown} holds an encoded word that decodes to CR, LF or NUL`);
  }
  if (m.name !== undefined && LINE_OR_NUL.test(m.name)) {
    refuse(source, `display name of ${shown} contains CR, LF or NUL`);
  }
  // deno-lint-ignore no-control-regex -- finding controls is the point
  if (/[\x00-\x20\x7f]/.test(a)) {
    refuse(
      source,
      // deno-lint-ignore no-control-regex -- as above
      QUOTED.test(a.slice(0, a.lastIndexOf("@"))) && !/[\x00-\x1f\x7f]/.test(a)
        ? `${shown} has a quoted local part with spaces, which smimepost does not support`
        : `${shown} contains spaces or control characters`,
    );
  }
  const at = a.lastIndexOf("@");
  if (at < 0) refuse(source, `${shown} has no "@"`);
  const local = a.slice(0, at);
  const domain = a.slice(at + 1);
  const localOk = QUOTED.test(local) || (DOT_ATOM.test(local) && !local.includes("@"));
  const domainOk = LITERAL.test(domain) || (DOT_ATOM.test(domain) && !domain.startsWith("."));
  if (!localOk || !domainOk || local.startsWith(".") || domain.endsWith(".")) {
    refuse(source, `${shown} is not a valid local@domain address`);
  }
}

function refuse(source: string, reason: string): never {
  throw new SmimeError("E_MESSAGE", `${source}: ${reason}`);
}
