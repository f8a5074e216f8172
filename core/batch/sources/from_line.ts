/**
 * Whether a line is an mbox From_ line (RFC 4155 section 2): "From ", the
 * envelope sender, and the time the message was written. In mboxo files a
 * body paragraph may start "From " unquoted, so "From " after an empty line
 * is a separator only when the rest of the line is sender and date too, the
 * test mutt's is_from() and Thunderbird make.
 *
 * The sender is one token without spaces (an address, "MAILER-DAEMON",
 * Thunderbird's "-", Gmail Takeout's "<id>@xxx"), a quoted local part with
 * spaces ("a b"@example.com), a pipermail "a at example.com", or absent. The
 * date is asctime, "Sat Dec  5 10:00:00 2026", as RFC 4155 asks, with the
 * variants real writers produce: no seconds, a day written "05", a zone
 * before or after the year ("+0000", "PST", "MET DST"), a two-digit year and
 * UUCP's trailing "remote from host"; or an RFC 5322 date, "Sat, 5 Dec 2026
 * 10:00:00 +0000". Day and month names are matched without regard to case.
 *
 * @module
 */

/** Longer lines are no From_ line (RFC 5322 section 2.1.1: 998 + CRLF). */
export const MAX_FROM_LINE = 1000;

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const TIME = "\\d{1,2}:\\d{2}(?::\\d{2})?";
const ZONE = "(?:[A-Za-z]{1,5}|[+-]\\d{4})";
const YEAR = "(?:\\d{4}|\\d{2})";
const ASCTIME = `${DAY} +${MONTH} +\\d{1,2} +${TIME}(?: +${ZONE}){0,2} +${YEAR}(?: +${ZONE})?`;
const RFC5322 = `${DAY}, *\\d{1,2} +${MONTH} +${YEAR} +${TIME}(?: +${ZONE})?`;
const SENDER = `(?:(?:"[^"]*"[^\\s"]*|[^\\s"]+)(?: at [^\\s]+)? +)?`;
const FROM_LINE = new RegExp(
  `^From ${SENDER}(?:${ASCTIME}|${RFC5322})(?: +remote from [^\\s]+)?[ \\t]*\\r?\\n?$`,
  "i",
);
const latin1 = new TextDecoder("latin1");

/**
 * True when `line` (one line, with or without its line end) is a From_ line.
 *
 * @param line the line's bytes; one longer than {@link MAX_FROM_LINE} is not
 */
export function isFromLine(line: Uint8Array): boolean {
  if (line.length > MAX_FROM_LINE) return false;
  const text = latin1.decode(line);
  // "From " itself is case-sensitive; the names in the date are not.
  return text.startsWith("From ") && FROM_LINE.test(text);
}
