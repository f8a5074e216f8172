/**
 * TLS settings for node:tls from {@link SmtpTlsOptions}: trust anchors,
 * certificate pinning, insecure mode, and one-line explanations of
 * verification failures.
 *
 * node:tls is used rather than Deno.startTls because only it can pin a
 * self-signed certificate or skip verification per connection.
 *
 * @module
 */
import { createHash } from "node:crypto";
import net from "node:net";
import type tls from "node:tls";
import { SmimeError } from "../errors.ts";
import type { SmtpTlsOptions } from "./types.ts";

/**
 * Normalises a pinned fingerprint: hex with optional colons → lower-case hex.
 *
 * @throws {SmimeError} E_CONFIG when it is not 64 hex digits
 */
export function normalisePin(pin: string): string {
  const hex = pin.replace(/[:\s]/g, "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new SmimeError(
      "E_CONFIG",
      "Cannot use the pinned certificate fingerprint: it must be 64 hex digits (SHA-256 of the DER)",
    );
  }
  return hex;
}

/** The node:tls connect options for one server; verification is ours when pinned. */
export function tlsConnectOptions(host: string, options: SmtpTlsOptions): tls.ConnectionOptions {
  const servername = options.servername ?? (net.isIP(host) ? undefined : host);
  const out: tls.ConnectionOptions = { servername, minVersion: "TLSv1.2" };
  if (options.ca !== undefined) out.ca = options.ca;
  // A pin replaces chain and name checks: the exact certificate is the trust.
  if (options.insecure || options.pinnedSha256 !== undefined) out.rejectUnauthorized = false;
  else out.rejectUnauthorized = true;
  return out;
}

/**
 * After the handshake, checks the pin when one is set.
 *
 * @throws {SmimeError} E_TLS when the leaf certificate is not the pinned one
 */
export function checkPin(socket: tls.TLSSocket, options: SmtpTlsOptions, where: string): void {
  if (options.pinnedSha256 === undefined || options.insecure) return;
  const want = normalisePin(options.pinnedSha256);
  const raw = socket.getPeerCertificate()?.raw;
  const got = raw ? createHash("sha256").update(raw).digest("hex") : "(no certificate)";
  if (got !== want) {
    throw new SmimeError(
      "E_TLS",
      `Cannot trust the SMTP server ${where}: its certificate SHA-256 is ${got}, ` +
        `not the pinned ${want}`,
    );
  }
}

const VERIFY_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** True when a connect error came from TLS (handshake, protocol, certificate), not TCP or DNS. */
export function isTlsFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? "";
  if (VERIFY_CODES.has(code) || /^ERR_(SSL|TLS)/.test(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /\b(tls|ssl|handshake|certificate|alert)\b/i.test(message);
}

/**
 * A TLS failure as a one-line error naming host:port and what to do:
 * E_TLS when the certificate does not verify (retrying won't help),
 * E_UNAVAILABLE for other handshake failures.
 */
export function tlsError(err: unknown, where: string): SmimeError {
  if (err instanceof SmimeError) return err;
  const code = (err as { code?: string })?.code ?? "";
  const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
  if (VERIFY_CODES.has(code) || /certificate/i.test(reason ?? "")) {
    return new SmimeError(
      "E_TLS",
      `Cannot start TLS with ${where}: certificate verify failed: ${reason}; ` +
        "give tls_ca_file (SMTP_CA_FILE) or pin it (tls_pin_sha256)",
      { cause: err },
    );
  }
  return new SmimeError("E_UNAVAILABLE", `Cannot start TLS with ${where}: ${reason}`, {
    cause: err,
  });
}
