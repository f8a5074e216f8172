/**
 * The SMTP options every SMTP-speaking plugin shares (smtp-generic,
 * sparkpost-smtp, powermta, momentum), as flat snake_case config keys, and
 * their translation into SmtpClient options.
 *
 * @module
 */
import { z } from "zod";
import { SmimeError } from "../errors.ts";
import { fileErrorReason } from "../io.ts";
import type { SmtpClientOptions, TlsMode } from "../smtp/mod.ts";

/** Seconds, or undefined for the RFC 5321 4.5.3.2 defaults. */
const seconds = z.number().positive().max(3600);

/** zod shape of the shared SMTP options; plugins spread it into their own. */
export const smtpShape = {
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  tls: z.enum(["auto", "require", "never", "implicit"]),
  tls_ca_file: z.string().min(1).optional(),
  tls_pin_sha256: z.string().regex(/^[0-9a-fA-F:]{64,95}$/, "a SHA-256 fingerprint in hex")
    .optional(),
  tls_insecure: z.boolean().default(false),
  tls_servername: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  auth_method: z.enum(["auto", "plain", "login", "cram-md5"]).default("auto"),
  allow_plaintext_auth: z.boolean().default(false),
  ehlo_name: z.string().regex(/^[A-Za-z0-9.\-\[\]:]+$/, "a host name or address literal")
    .optional(),
  max_messages_per_connection: z.number().int().min(1).max(100_000).default(100),
  timeout_seconds: seconds.optional(),
};

/** The values of {@link smtpShape}, as a plugin's options carry them. */
export interface SmtpOptionValues {
  host: string;
  port: number;
  tls: TlsMode;
  tls_ca_file?: string;
  tls_pin_sha256?: string;
  tls_insecure: boolean;
  tls_servername?: string;
  user?: string;
  password?: string;
  auth_method: "auto" | "plain" | "login" | "cram-md5";
  allow_plaintext_auth: boolean;
  ehlo_name?: string;
  max_messages_per_connection: number;
  timeout_seconds?: number;
}

/** Secrets among the SMTP options. */
export const SMTP_SECRETS = ["password"] as const;

/**
 * SmtpClient options for a profile: reads the CA file, and turns one
 * timeout into every per-command timeout when given.
 *
 * @throws {SmimeError} E_CONFIG when tls_ca_file can't be read, or when a
 *   user is given without a password.
 */
export async function smtpClientOptions(
  options: SmtpOptionValues,
  transcript?: (line: string) => void,
): Promise<SmtpClientOptions> {
  let ca: string | undefined;
  if (options.tls_ca_file) {
    try {
      ca = await Deno.readTextFile(options.tls_ca_file);
    } catch (err) {
      throw new SmimeError(
        "E_CONFIG",
        `tls_ca_file: cannot read ${options.tls_ca_file}: ${fileErrorReason(err)}`,
      );
    }
  }
  if (options.user && !options.password) {
    throw new SmimeError("E_CONFIG", `password: required when user is set ("${options.user}")`);
  }
  const ms = options.timeout_seconds && options.timeout_seconds * 1000;
  return {
    host: options.host,
    port: options.port,
    tls: {
      mode: options.tls,
      ca,
      pinnedSha256: options.tls_pin_sha256,
      insecure: options.tls_insecure,
      servername: options.tls_servername,
    },
    auth: options.user && options.password
      ? { user: options.user, password: options.password, method: options.auth_method }
      : undefined,
    allowPlaintextAuth: options.allow_plaintext_auth,
    ehloName: options.ehlo_name,
    maxMessagesPerConnection: options.max_messages_per_connection,
    timeouts: ms
      ? {
        connect: ms,
        greeting: ms,
        ehlo: ms,
        starttls: ms,
        auth: ms,
        mail: ms,
        rcpt: ms,
        dataInit: ms,
        dataBlock: ms,
        dataEnd: ms,
        rset: ms,
        quit: ms,
      }
      : undefined,
    transcript,
  };
}
