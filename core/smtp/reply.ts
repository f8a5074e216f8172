/**
 * SMTP reply parsing (RFC 5321 4.2): a bounded incremental parser for the
 * byte stream, the line parser it uses, and queue-id recognition.
 *
 * A server that sends more than the bounds allow is treated as broken, not
 * buffered without end: a garbage reply is an E_UNAVAILABLE error.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import { escapeControls } from "../printable.ts";
import { isEnhancedStatus } from "./types.ts";
import type { EnhancedStatus, SmtpReply } from "./types.ts";

/** Longest reply line accepted (RFC 5321 4.5.3.1.5 says 512; real servers exceed it). */
export const MAX_REPLY_LINE = 4096;
/** Most lines in one multi-line reply. */
export const MAX_REPLY_LINES = 100;
/** Most characters in one reply, all lines together. */
export const MAX_REPLY_TOTAL = 65_536;

const LINE = /^([2-5]\d\d)(?:([ -])(.*))?$/s;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: +|$)/;

function garbage(why: string, sample: string): SmimeError {
  const shown = `"${escapeControls(sample.length > 80 ? sample.slice(0, 80) + "..." : sample)}"`;
  return new SmimeError(
    "E_UNAVAILABLE",
    `Cannot understand the SMTP server: garbage reply (${why}): ${shown}`,
  );
}

/**
 * Parses the lines of one complete reply (without line ends) into a reply.
 * Control characters in the text (but TAB) come out as `\xNN` (see
 * {@link escapeControls}); the rest of the text is kept as the server sent it.
 *
 * @param lines every line of the reply; all but the last have "-" after the code
 * @throws {SmimeError} E_UNAVAILABLE "garbage reply" for malformed or oversized replies
 * @example
 * ```ts
 * import { parseReplyLines } from "./reply.ts";
 * const r = parseReplyLines(["250-2.0.0 first", "250 2.0.0 second"]);
 * console.assert(r.text === "250 2.0.0 first / second");
 * ```
 */
export function parseReplyLines(lines: readonly string[]): SmtpReply {
  if (lines.length === 0) throw garbage("empty reply", "");
  if (lines.length > MAX_REPLY_LINES) {
    throw garbage(`more than ${MAX_REPLY_LINES} lines`, lines[0]!);
  }
  let code = 0;
  let total = 0;
  const texts: string[] = [];
  lines.forEach((line, i) => {
    total += line.length + 2;
    if (line.length > MAX_REPLY_LINE) throw garbage(`line longer than ${MAX_REPLY_LINE}`, line);
    if (total > MAX_REPLY_TOTAL) throw garbage(`reply longer than ${MAX_REPLY_TOTAL}`, line);
    const m = LINE.exec(line);
    if (!m) throw garbage("no reply code", line);
    const lineCode = Number(m[1]);
    if (i > 0 && lineCode !== code) throw garbage("reply code changed within a reply", line);
    code = lineCode;
    const isLast = i === lines.length - 1;
    if (isLast && m[2] === "-") throw garbage("last line marked as continued", line);
    if (!isLast && m[2] !== "-") throw garbage("continuation line not marked", line);
    // Escaped once here, so every consumer (error lines, the transcript,
    // the journal, the summary) quotes the text verbatim but safe for a terminal.
    texts.push(escapeControls(m[3] ?? ""));
  });
  // RFC 2034 3: every line carries the enhanced code; its class must match the reply's.
  const first = ENHANCED.exec(texts[0]!);
  let enhanced: EnhancedStatus | undefined;
  const written = first && `${first[1]}.${first[2]}.${first[3]}`;
  if (first && first[1] === String(code)[0] && written && isEnhancedStatus(written)) {
    enhanced = written;
    for (let i = 0; i < texts.length; i++) {
      const m = ENHANCED.exec(texts[i]!);
      if (m) texts[i] = texts[i]!.slice(m[0].length);
    }
  }
  const head = enhanced ? `${code} ${enhanced}` : String(code);
  const body = texts.join(" / ").trim();
  return { code, enhanced, lines: texts, text: body ? `${head} ${body}` : head };
}

/** Makes a reply that no server sent (a local refusal, a lost connection). */
export function syntheticReply(
  code: number,
  enhanced: EnhancedStatus | undefined,
  text: string,
): SmtpReply {
  const head = enhanced ? `${code} ${enhanced}` : String(code);
  return { code, enhanced, lines: [text], text: `${head} ${text}` };
}

/**
 * Splits the server's byte stream into replies, within the bounds above.
 * Accepts CRLF or bare LF line ends from the server (lenient in what it reads).
 */
export class ReplyParser {
  #decoder = new TextDecoder("utf-8", { fatal: false });
  #pending = "";
  #lines: string[] = [];
  #total = 0;

  /** Adds bytes received from the server. */
  push(chunk: Uint8Array): void {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
  }

  /**
   * The next complete reply, or undefined when more bytes are needed.
   *
   * @throws {SmimeError} E_UNAVAILABLE for garbage or oversized replies
   */
  next(): SmtpReply | undefined {
    for (;;) {
      const lf = this.#pending.indexOf("\n");
      if (lf < 0) {
        if (this.#pending.length > MAX_REPLY_LINE) {
          throw garbage(`line longer than ${MAX_REPLY_LINE}`, this.#pending);
        }
        return undefined;
      }
      let line = this.#pending.slice(0, lf);
      this.#pending = this.#pending.slice(lf + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length > MAX_REPLY_LINE) throw garbage(`line longer than ${MAX_REPLY_LINE}`, line);
      this.#total += line.length + 2;
      this.#lines.push(line);
      if (this.#lines.length > MAX_REPLY_LINES) {
        throw garbage(`more than ${MAX_REPLY_LINES} lines`, line);
      }
      if (this.#total > MAX_REPLY_TOTAL) {
        throw garbage(`reply longer than ${MAX_REPLY_TOTAL}`, line);
      }
      if (line.length > 3 && line[3] === "-" && LINE.test(line)) continue;
      const lines = this.#lines;
      this.#lines = [];
      this.#total = 0;
      return parseReplyLines(lines);
    }
  }

  /** Drops everything buffered (after STARTTLS, RFC 3207 4.2); returns how many characters. */
  discard(): number {
    const n = this.#pending.length + this.#lines.reduce((s, l) => s + l.length + 2, 0);
    this.#pending = "";
    this.#lines = [];
    this.#total = 0;
    this.#decoder = new TextDecoder("utf-8", { fatal: false });
    return n;
  }
}

const QUEUE_ID_PATTERNS: readonly RegExp[] = [
  /\bqueued as\s+<?([^\s<>]+?)>?(?:\s|$)/i, // Postfix, smtp-sink, many others
  /\bid=<?([^\s<>;,]+)>?/i, // Exim "OK id=1abc-0001-XY"
  /\bmessage\s+<?([^\s<>]+?)>?\s+accepted\b/i, // Momentum "ok: Message <id> accepted"
  /^<?([A-Za-z0-9._-]{6,})>?\s+message accepted for delivery/i, // Sendmail
];

/**
 * The queue id in an end-of-data 2xx reply, when it has a recognisable form:
 * "Ok: queued as 4Xyz" (Postfix), "ok: Message <id> accepted" (Momentum),
 * "OK id=..." (Exim), "<id> Message accepted for delivery" (Sendmail).
 */
export function parseQueueId(reply: SmtpReply): string | undefined {
  if (reply.code < 200 || reply.code > 299) return undefined;
  const text = reply.lines.join(" ");
  for (const pattern of QUEUE_ID_PATTERNS) {
    const m = pattern.exec(text);
    if (m?.[1]) return m[1];
  }
  return undefined;
}
