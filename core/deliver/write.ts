/**
 * The built-in delivery that writes sealed messages instead of sending them:
 * stdout is a transport like the others, so one message and a million take
 * the same run (journal, report, `--json`, summary, exit status).
 *
 * One message goes out as it is, to stdout or a file. Several go to stdout
 * as an mboxrd stream (RFC 4155: a From_ line before each, lines matching
 * `>*From ` quoted with one more ">", an empty line after each), which
 * `smimepost send --mbox -` reads back byte for byte; or to a folder, one
 * `MESSAGE-ID.eml` each, created 0600.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import { writeFileAtomic, writeStdout } from "../io.ts";
import type { DeliveryResult, DeliveryTarget, SealedMessage } from "./types.ts";

/** Where written messages go. */
export type WriteTo =
  | { kind: "stdout"; mbox: boolean }
  | { kind: "file"; path: string }
  | { kind: "folder"; path: string };

const written = new WeakMap<WriteTo, { count: number; names: Set<string> }>();

/** The target that writes; its options say where (one session: writes never interleave). */
export const writeTarget: DeliveryTarget<WriteTo> = {
  id: "write",
  secrets: [],
  sessions: 1,
  maxSessions: 1,
  window: 1,
  create: (to) => {
    // What this run has written, across the transports the runner makes.
    const state = written.get(to) ?? { count: 0, names: new Set<string>() };
    written.set(to, state);
    return {
      open: () => Promise.resolve(),
      async deliver(message): Promise<DeliveryResult> {
        if (to.kind === "file" && state.count > 0) {
          throw new SmimeError("E_USAGE", `-o ${to.path}: one file holds one message`);
        }
        const where = await write(to, message, state.names);
        state.count++;
        return {
          recipients: message.recipients.map((recipient) => ({
            recipient,
            status: "accepted",
            response: `written to ${where}`,
          })),
          response: `written to ${where}`,
        };
      },
      close: () => Promise.resolve(),
    };
  },
};

/** Writes one message; returns where, as the result lines say it. */
async function write(
  to: WriteTo,
  message: SealedMessage,
  names: Set<string>,
): Promise<string> {
  switch (to.kind) {
    // A large message goes out piece by piece as it is made (its source),
    // never whole; an mbox entry is built, to quote its From_ lines.
    case "stdout":
      await writeStdout(to.mbox ? mboxEntry(message) : message.source ?? message.bytes);
      return "stdout";
    case "file":
      await writeFileAtomic(to.path, message.source ?? message.bytes);
      return to.path;
    case "folder": {
      const path = `${to.path}/${fileNameOf(message, names)}`;
      await writeFileAtomic(path, message.source ?? message.bytes);
      return path;
    }
  }
}

const encoder = new TextEncoder();
const LF = 0x0a;
const GT = 0x3e;
const FROM_ = encoder.encode("From ");

/**
 * One mboxrd entry: the From_ line (envelope sender and the time written,
 * asctime form), the message with every line matching /^>*From / quoted
 * with one more ">", and the empty line that ends it.
 */
export function mboxEntry(message: SealedMessage, now = new Date()): Uint8Array {
  const bytes = message.bytes;
  const starts: number[] = [];
  for (let at = 0; at < bytes.length; at = bytes.indexOf(LF, at) + 1 || bytes.length) {
    let i = at;
    while (bytes[i] === GT) i++;
    if (FROM_.every((b, k) => bytes[i + k] === b)) starts.push(at);
  }
  const head = encoder.encode(`From ${message.sender || "MAILER-DAEMON"} ${asctime(now)}\r\n`);
  const endsLine = bytes.length > 0 && bytes[bytes.length - 1] === LF;
  const tail = encoder.encode(endsLine ? "\r\n" : "\r\n\r\n");
  const out = new Uint8Array(head.length + bytes.length + starts.length + tail.length);
  out.set(head);
  let to = head.length;
  let from = 0;
  for (const start of starts) {
    out.set(bytes.subarray(from, start), to);
    to += start - from;
    out[to++] = GT;
    from = start;
  }
  out.set(bytes.subarray(from), to);
  out.set(tail, to + bytes.length - from);
  return out;
}

/** "Sat Nov 28 09:00:00 2026", in UTC. */
function asctime(date: Date): string {
  // toUTCString: "Fri, 04 Dec 2026 09:05:07 GMT"
  const [day, dd, month, year, time] = date.toUTCString().replace(",", "").split(" ");
  return `${day} ${month} ${String(Number(dd)).padStart(2, " ")} ${time} ${year}`;
}

/**
 * The Message-ID without its brackets, safe as a file name, and not one this
 * run has written already (ID-2.eml, ID-3.eml... for messages sharing one).
 */
function fileNameOf(message: SealedMessage, names: Set<string>): string {
  const id = message.messageId?.replace(/^\s*<|>\s*$/g, "") ?? "";
  const base = id.replace(/[^A-Za-z0-9@._+=-]/g, "_").replace(/^\.+/, "").slice(0, 200) ||
    "message";
  let name = `${base}.eml`;
  for (let n = 2; names.has(name); n++) name = `${base}-${n}.eml`;
  names.add(name);
  return name;
}
