/**
 * Delivery header fields: the headers an MTA reads and strips at injection
 * (a platform's own, built in its plugin folder) go on the outer message
 * only; the signed or encrypted entity is never touched.
 *
 * @module
 */
import { makeHeader } from "../message/mod.ts";
import { SmimeError } from "../errors.ts";

/**
 * One header field, folded on whitespace so that no line passes 78
 * characters where avoidable and none passes 998 (RFC 5322 2.1.1, 2.2.3).
 *
 * @throws {SmimeError} E_CONFIG naming the header when the value holds a line
 *   end or is not ASCII.
 */
export function headerField(name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new SmimeError("E_CONFIG", `${name}: the value must not contain line ends`);
  }
  return new TextDecoder().decode(makeHeader(name, value).raw);
}

/** A header value that is one token: visible ASCII, no whitespace. */
export const TOKEN = /^[\x21-\x7e]+$/;
