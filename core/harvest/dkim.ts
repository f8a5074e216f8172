/**
 * Who may be believed to have sent a message: its single From mailbox, and a
 * passing DKIM signature (RFC 6376) whose `d=` is the From domain or a
 * parent of it. Anyone can write a From header; only the domain's owner can
 * publish the key that verifies its DKIM signature. The verifier is
 * `mailauth` (npm); its DNS look-ups go through `Deno.resolveDns`, to a given
 * server when one is named.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { SmimeError } from "../errors.ts";
import { getHeaders, parseAddressList, parseMessage } from "../message/mod.ts";

/** Where DKIM keys are looked up. */
export interface DkimOptions {
  /** The DNS server to ask; the system's resolver when absent. */
  dnsServer?: { ipAddr: string; port: number };
  /** Per look-up limit in milliseconds (default 5000). */
  timeoutMs?: number;
}

/** What the DKIM check found. */
export type DkimVerdict =
  | { ok: true; domain: string }
  | {
    ok: false;
    /** One line, e.g. "DKIM fail (d=example.com: body hash did not verify)". */
    reason: string;
    /** A DNS failure: the same message may pass later, so the sender should retry. */
    isTemporary: boolean;
  };

/** More DKIM-Signature fields than this and the message is refused unread. */
export const MAX_SIGNATURES = 8;

/**
 * The single From mailbox of a message, lower-cased.
 *
 * @param bytes the message
 * @param source names it in the error
 * @throws {SmimeError} E_MESSAGE for no From field, several, a From with no
 *   mailbox or several, or an address with controls, spaces or no "@"
 */
export function fromAddressOf(bytes: Uint8Array, source: string): string {
  const message = parseMessage(bytes, source);
  const froms = getHeaders(message, "From");
  if (froms.length !== 1) {
    throw new SmimeError("E_MESSAGE", `${source}: ${froms.length} From fields, need exactly one`);
  }
  const mailboxes = parseAddressList(froms[0]!.value, source);
  if (mailboxes.length !== 1) {
    throw new SmimeError(
      "E_MESSAGE",
      `${source}: From holds ${mailboxes.length} mailboxes, need exactly one`,
    );
  }
  const address = mailboxes[0]!.address.toLowerCase();
  // deno-lint-ignore no-control-regex -- finding controls is the point
  if (/[\x00-\x20\x7f]/.test(address) || !/^[^@]+@[^@]+$/.test(address)) {
    throw new SmimeError("E_MESSAGE", `${source}: From is not a plain local@domain address`);
  }
  return address;
}

/**
 * True when a signature by `signingDomain` vouches for mail from `fromDomain`:
 * the same domain, or a parent of it with at least two labels (never a bare
 * top-level domain). Case-insensitive; a trailing dot is ignored.
 */
export function isAligned(signingDomain: string, fromDomain: string): boolean {
  const d = signingDomain.toLowerCase().replace(/\.$/, "");
  const from = fromDomain.toLowerCase().replace(/\.$/, "");
  if (!d.includes(".") || d.startsWith(".")) return false;
  return from === d || from.endsWith(`.${d}`);
}

/**
 * Verifies the DKIM signatures of a message and decides whether one of them
 * vouches for its From address.
 *
 * Passes only with a `pass` from a signature whose `d=` is aligned (see
 * {@link isAligned}), that covers the whole body (an `l=` shorter than the
 * body leaves room for appended content), and whose key is not in testing
 * mode (RFC 6376 3.6.1: `t=y` mail is to be treated as unsigned). rsa-sha1 is
 * refused (RFC 8301 3.1). mailauth must read the same single From address,
 * so a parser difference can't be used to sign one address and show another.
 *
 * @param bytes the message as received
 * @param from its From address, from {@link fromAddressOf}
 */
export async function checkDkim(
  bytes: Uint8Array,
  from: string,
  options: DkimOptions,
): Promise<DkimVerdict> {
  const fromDomain = from.slice(from.lastIndexOf("@") + 1);
  const count = getHeaders(parseMessage(bytes, "message"), "DKIM-Signature").length;
  if (count === 0) return refuse(`no DKIM signature (From domain ${fromDomain})`);
  if (count > MAX_SIGNATURES) return refuse(`${count} DKIM signatures, at most ${MAX_SIGNATURES}`);
  // Loaded here: the verifier is large and only harvest needs it.
  const { dkimVerify } = await import("mailauth/lib/dkim/verify.js");
  const result = await dkimVerify(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), {
    resolver: dnsResolver(options),
    rejectRsaSha1: true,
  });
  const seen = result.headerFrom.map((a) => a.toLowerCase());
  if (result.fromFields !== 1 || seen.length !== 1 || seen[0] !== from) {
    return refuse(`the DKIM verifier read From as "${seen.join(", ").slice(0, 80)}", not ${from}`);
  }
  const problems: string[] = [];
  let isTemporary = false;
  for (const signature of result.results) {
    const d = signature.signingDomain ?? "?";
    const status = signature.status;
    if (!isAligned(d, fromDomain)) {
      problems.push(`d=${d} ${status.result}, not aligned with ${fromDomain}`);
    } else if (status.result !== "pass") {
      if (status.result === "temperror") isTemporary = true;
      problems.push(`d=${d} ${status.result}${status.comment ? `: ${status.comment}` : ""}`);
    } else if (status.underSized) {
      problems.push(`d=${d} signs only part of the body (l=)`);
    } else if (status.testing) {
      problems.push(`d=${d} key is in testing mode (t=y)`);
    } else {
      return { ok: true, domain: d.toLowerCase() };
    }
  }
  const reason = `DKIM fail (${problems.join("; ") || "no usable signature"})`;
  return { ok: false, reason, isTemporary };
}

/**
 * A resolver in the shape mailauth takes, `(name, rrtype) => records`, on
 * `Deno.resolveDns`. "No such record" becomes ENOTFOUND, which mailauth
 * reports as a permanent "no key"; anything else (timeout, refused) is a
 * temporary error.
 */
export function dnsResolver(
  options: DkimOptions,
): (name: string, rrtype: string) => Promise<string[][]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return async (name, rrtype) => {
    if (rrtype !== "TXT") {
      throw Object.assign(new Error(`${rrtype} not supported`), { code: "ENOTIMP" });
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      return await Deno.resolveDns(name, "TXT", {
        signal: controller.signal,
        ...(options.dnsServer ? { nameServer: options.dnsServer } : {}),
      });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw Object.assign(new Error(`no TXT record at ${name}`), { code: "ENOTFOUND" });
      }
      const why = controller.signal.aborted ? "timed out" : "failed";
      throw Object.assign(new Error(`DNS look-up of ${name} ${why}`), { code: "ETIMEOUT" });
    } finally {
      clearTimeout(timer);
    }
  };
}

function refuse(reason: string): DkimVerdict {
  return { ok: false, reason, isTemporary: false };
}
