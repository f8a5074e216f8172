/**
 * The failure policy: what every delivery outcome means for a run, in one
 * place (in the spirit of Postfix's smtp_trouble.c). An SMTP reply, an HTTP
 * status or a transport failure is judged here as final for its recipient,
 * worth another try later, or a reason to stop the whole run; the run's exit
 * status is decided here too. The runner, the transports and the summary
 * ask; none of them decides on its own.
 *
 * Delivery is at-least-once by default, as Postfix does it (FIELD.md,
 * "Delivery guarantees"; RFC 5321 6.1): when a connection is lost after the
 * final dot and before the reply, the message may have been delivered, and
 * it is sent again, counted apart as "may be delivered more than once".
 * `--at-most-once` keeps such a recipient final as "uncertain" instead:
 * a gap rather than a duplicate.
 *
 * @module
 */
import { ErrorCodes, ExitCode, isSmimeError } from "./errors.ts";
import type { ErrorCode } from "./errors.ts";

/** What a run promises for a message whose outcome it could not learn. */
export type Guarantee = "at-least-once" | "at-most-once";

/** A recipient's status after one attempt, as transports report it. */
export type AttemptStatus = "accepted" | "rejected" | "deferred";

/** A recipient's end in a run: nothing more will be tried for it. */
export type FinalStatus =
  | "accepted"
  | "rejected"
  /** Deferred until the retry limits ran out, or the message could not be sealed. */
  | "failed"
  /** No answer came after the final dot (or to the API request): possibly delivered. */
  | "uncertain";

/** What to do after one attempt. */
export type Decision =
  | { action: "final"; status: FinalStatus }
  /**
   * Try again, not before `afterMs` (a server's Retry-After). `maybeSent`: the
   * last attempt may have been delivered, so the next one may duplicate it.
   */
  | { action: "retry"; afterMs: number; maybeSent: boolean }
  /**
   * Nothing later can succeed (AUTH refused, TLS unverifiable, bad config, an
   * output that can't be written): end the run.
   */
  | { action: "stop" };

/** Error codes no retry can fix: the run stops at the first. */
const STOP_CODES: readonly ErrorCode[] = ["E_AUTH", "E_CONFIG", "E_USAGE", "E_TLS", "E_OUTPUT"];

/** Error codes of a connection or server that may work later. */
const RETRY_CODES: readonly ErrorCode[] = ["E_TEMPFAIL", "E_UNAVAILABLE"];

/**
 * A recipient's status from an SMTP reply code (RFC 5321 4.2.1): 2yz
 * accepted, 5yz refused for good, anything else (4yz, or a code no
 * standard allows) tried again.
 */
export function smtpStatus(code: number): AttemptStatus {
  if (code >= 200 && code < 300) return "accepted";
  if (code >= 500 && code < 600) return "rejected";
  return "deferred";
}

/** "Authentication required" in words, as servers put it after a 5.7.0 (not "authentication failed"). */
const AUTH_REQUIRED =
  /authenticat\w*\s+(?:is\s+)?required|must\s+(?:first\s+)?authenticate|not\s+authenticated|authenticate\s+first/i;

/**
 * The error a refusal of MAIL FROM stands for when it refuses the session,
 * not the message: 530 (RFC 4954 6, "Authentication required"; servers use
 * it for "Must issue a STARTTLS command first" too), or a 5yz with 5.7.0 or
 * 5.7.11 whose words say authentication is required. Every message would
 * get the same answer until the configuration changes, so it is E_AUTH: the
 * run stops as for a refused AUTH, and what it did not deliver stays for a
 * `--resume` with credentials. undefined: the reply is about the message.
 */
export function mailRefusalError(
  reply: { code: number; enhanced?: string; text: string },
): ErrorCode | undefined {
  if (reply.code === 530) return "E_AUTH";
  const enhancedAuth = reply.enhanced === "5.7.0" || reply.enhanced === "5.7.11";
  if (reply.code >= 500 && reply.code < 600 && enhancedAuth && AUTH_REQUIRED.test(reply.text)) {
    return "E_AUTH";
  }
  return undefined;
}

/**
 * The error code of a transmissions API's error status: 401/403 a refused
 * key (stop); 408, 420 (the account's sending limit), 429 and 5xx try later;
 * a redirect, 404 or 405 a wrong host or path (stop); any other 4xx refuses
 * the message.
 */
export function httpErrorCode(status: number): ErrorCode {
  if (status === 401 || status === 403) return "E_AUTH";
  if (status === 420 || status === 429 || status === 408 || status >= 500) return "E_TEMPFAIL";
  if ((status >= 300 && status < 400) || status === 404 || status === 405) return "E_CONFIG";
  if (status >= 400) return "E_RCPT_REJECTED";
  return "E_UNAVAILABLE";
}

/**
 * One recipient's answer. `uncertain`: the transport got no answer after
 * the message went out whole.
 */
export function judgeRecipient(
  status: AttemptStatus,
  uncertain: boolean,
  guarantee: Guarantee,
): Exclude<Decision, { action: "stop" }> {
  if (uncertain) {
    return guarantee === "at-most-once"
      ? { action: "final", status: "uncertain" }
      : { action: "retry", afterMs: 0, maybeSent: true };
  }
  if (status === "deferred") return { action: "retry", afterMs: 0, maybeSent: false };
  return { action: "final", status };
}

/**
 * A transport that threw instead of answering per recipient: a connection
 * that failed (or was cut before the message went out whole) is tried
 * again, after the server's Retry-After when it gave one; a refusal no
 * retry can fix stops the run; a refused message (HTTP 400/422, a message
 * the client won't send) is final.
 */
export function judgeError(err: unknown): Decision {
  if (!isSmimeError(err) || STOP_CODES.includes(err.code)) return { action: "stop" };
  if (RETRY_CODES.includes(err.code)) {
    const retryAfter = (err as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      action: "retry",
      afterMs: typeof retryAfter === "number" ? retryAfter : 0,
      maybeSent: false,
    };
  }
  return { action: "final", status: "rejected" };
}

/**
 * A retry that can't happen (attempts or time used up, or the run is
 * stopping): failed, or uncertain when the last attempt may have been
 * delivered.
 */
export function givenUp(decision: Extract<Decision, { action: "retry" }>): FinalStatus {
  return decision.maybeSent ? "uncertain" : "failed";
}

/**
 * Whether a recipient's end needs nothing more from a later `--resume`:
 * accepted and refused ones never do, failed ones always do (the last
 * run's limits ran out, not the message), and possibly delivered ones do
 * only under at-least-once.
 */
export function settled(status: FinalStatus, guarantee: Guarantee): boolean {
  if (status === "uncertain") return guarantee === "at-most-once";
  return status !== "failed";
}

/** The figures a run's exit status is decided from. */
export interface RunOutcome {
  messages: { accepted: number; partial: number; failed: number; skipped_unaccepted?: number };
  recipients: Record<FinalStatus, number>;
  /** Messages that could not be sealed, by error code. */
  unsealed: Partial<Record<ErrorCode, number>>;
  /** The last connection-level failure that made recipients fail. */
  transportFailure?: { code: ErrorCode; reason: string };
}

/**
 * The exit status of a run: 0 every recipient of every message accepted;
 * 3 some accepted and some not; when nothing was accepted: the connection's
 * status (69, 75...) when the server could not be reached, the one reason's
 * status when nothing could be sealed, 75 when some were only deferred or
 * possibly delivered (worth another run), else 65 (all refused).
 */
export function runExitCode(run: RunOutcome): number {
  const { messages, recipients } = run;
  const troubled = messages.failed + messages.partial + recipients.uncertain;
  // A resumed run answers for the whole job: a message an earlier run left refused counts.
  if (troubled === 0) return messages.skipped_unaccepted ? ExitCode.partial : ExitCode.ok;
  if (recipients.accepted > 0) return ExitCode.partial;
  if (run.transportFailure && recipients.rejected === 0 && recipients.uncertain === 0) {
    return ErrorCodes[run.transportFailure.code];
  }
  const unsealed = Object.entries(run.unsealed) as [ErrorCode, number][];
  if (unsealed.length === 1 && messages.failed === unsealed[0]![1]) {
    return ErrorCodes[unsealed[0]![0]];
  }
  if (recipients.failed > 0 || recipients.uncertain > 0) return ExitCode.tempFail;
  return ExitCode.dataErr;
}
