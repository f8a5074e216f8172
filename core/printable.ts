/**
 * Remote text made safe for a terminal. A server's reply, an API's error
 * body or a queue's error is quoted to the user as it came, but a control
 * character in it is an instruction to the terminal: ESC starts a sequence
 * that can clear the line or the screen, set the window title or move the
 * cursor, a bare CR returns to the start of the line, and a 554 could erase
 * its own error and print "OK". Such characters are shown as `\xNN`.
 *
 * @module
 */

// C0 controls but TAB, DEL, and C1 controls (U+0080-U+009F: 0x9B is CSI).
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
// The same without /g (no lastIndex): every reply line passes here, most without one.
// deno-lint-ignore no-control-regex
const HAS_CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

/**
 * Shows every control character of `text` but TAB as `\xNN` (two lower-case
 * hex digits), keeping the rest as it is.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./printable.ts";
 * escapeControls("550 denied\x1b[2K\rOK"); // "550 denied\\x1b[2K\\x0dOK"
 * ```
 */
export function escapeControls(text: string): string {
  if (!HAS_CONTROL.test(text)) return text;
  return text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
