/**
 * Error classes, error codes and the one exit-code table of smimepost.
 *
 * Every failure a user can cause is a {@link SmimeError} with a code from a
 * closed set; tests compare codes, not message text. The CLI maps the code to
 * a sysexits(3) exit status through {@link exitCodeOf}. Anything else that
 * escapes is a bug and exits 70 with a stack trace.
 *
 * @module
 */

/** Exit statuses, from sysexits(3), plus one for partial success. */
export const ExitCode = {
  ok: 0,
  /** Some messages or recipients were accepted and some were not. */
  partial: 3,
  usage: 64,
  /** The message, a certificate or a key is unusable as it stands. */
  dataErr: 65,
  /** An input file does not exist or cannot be read. */
  noInput: 66,
  /** No certificate or key exists for an address. */
  noUser: 67,
  unavailable: 69,
  internal: 70,
  /** Output could not be written (stdout closed, disk full). */
  ioErr: 74,
  tempFail: 75,
  /** Permission: wrong passphrase, key file readable by others, AUTH refused. */
  noPerm: 77,
  config: 78,
} as const;

/** The closed set of error codes, each with its exit status. */
export const ErrorCodes = {
  E_USAGE: ExitCode.usage,
  E_INPUT: ExitCode.noInput,
  E_MESSAGE: ExitCode.dataErr,
  E_CMS: ExitCode.dataErr,
  E_VERIFY: ExitCode.dataErr,
  E_DECRYPT: ExitCode.dataErr,
  E_CERT_INVALID: ExitCode.dataErr,
  E_KEY_INVALID: ExitCode.dataErr,
  E_KEY_MISMATCH: ExitCode.dataErr,
  E_CHAIN: ExitCode.dataErr,
  E_CERT_NOT_FOUND: ExitCode.noUser,
  E_KEY_NOT_FOUND: ExitCode.noUser,
  E_PASSPHRASE: ExitCode.noPerm,
  E_KEY_PERMISSIONS: ExitCode.noPerm,
  E_CONFIG: ExitCode.config,
  E_UNSUPPORTED: ExitCode.dataErr,
  E_AUTH: ExitCode.noPerm,
  E_UNAVAILABLE: ExitCode.unavailable,
  /** TLS policy: the certificate does not verify, the pin differs, STARTTLS missing under require. */
  E_TLS: ExitCode.unavailable,
  E_TEMPFAIL: ExitCode.tempFail,
  E_RCPT_REJECTED: ExitCode.dataErr,
  E_OUTPUT: ExitCode.ioErr,
} as const;

/** One of the error codes smimepost uses. */
export type ErrorCode = keyof typeof ErrorCodes;

/**
 * A failure the user can act on: a bad message, a missing certificate, a
 * refused password. Its message is one line that names the file, address or
 * config key and never contains a secret.
 */
export class SmimeError extends Error {
  /** The closed-set code; tests compare this, not the text. */
  readonly code: ErrorCode;

  /**
   * @param code one of {@link ErrorCodes}
   * @param message one line: "Cannot <action>: <reason> (<file>)"
   * @param options `cause` for the underlying error
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SmimeError";
    this.code = code;
  }

  /** The exit status this error maps to. */
  get exitCode(): number {
    return ErrorCodes[this.code];
  }
}

/** True when `err` is a {@link SmimeError}, optionally with the given code. */
export function isSmimeError(err: unknown, code?: ErrorCode): err is SmimeError {
  return err instanceof SmimeError && (code === undefined || err.code === code);
}

/** The exit status for any thrown value: its code's, or 70 for a bug. */
export function exitCodeOf(err: unknown): number {
  return err instanceof SmimeError ? err.exitCode : ExitCode.internal;
}

/** The message of any thrown value, for wrapping into a one-line reason. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0] ?? String(err);
  return String(err);
}
