/**
 * The webhook token check: SparkPost sends the relay webhook's `auth_token`
 * in `X-MessageSystems-Webhook-Token`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * A checker for the expected token, compared in constant time.
 *
 * Both sides go through HMAC-SHA256 under a key made at start-up, so the
 * comparison is always of two 32-byte digests (`timingSafeEqual` needs equal
 * lengths) and takes the same time whatever the length or content of what
 * the client sent. The token itself is kept only as its digest.
 *
 * @param expected the token; undefined means no token is required
 * @returns true when `given` (the header value, absent when missing) may pass
 */
export function tokenChecker(expected: string | undefined): (given: string | undefined) => boolean {
  if (expected === undefined) return () => true;
  const key = crypto.getRandomValues(new Uint8Array(32));
  // The header arrives decoded as Latin-1 (one char per byte); "latin1" gets
  // the bytes back, so a UTF-8 token compares byte for byte.
  const digest = (text: string, encoding: "latin1" | "utf8") =>
    createHmac("sha256", key).update(Buffer.from(text, encoding)).digest();
  const wanted = digest(expected, "utf8");
  return (given) => {
    const got = digest(given ?? "", "latin1");
    return timingSafeEqual(got, wanted) && given !== undefined;
  };
}
