import { assertEquals } from "../tests/support/assert.ts";
import { escapeControls } from "./printable.ts";

Deno.test("escapeControls() shows C0 controls but TAB, DEL and C1 controls as \\xNN", () => {
  assertEquals(
    escapeControls("554 denied\x1b[2K\rOK\x1b]0;title\x07"),
    "554 denied\\x1b[2K\\x0dOK\\x1b]0;title\\x07",
  );
  assertEquals(escapeControls("a\x00b\nc\x7fd\x80e\x9bf"), "a\\x00b\\x0ac\\x7fd\\x80e\\x9bf");
});

Deno.test("escapeControls() keeps TAB, printable ASCII, Latin-1 letters and other Unicode as they are", () => {
  const text =
    "550 5.7.1 relaying denied\t<bob@example.com> \\x1b \u00a0Gr\u00fc\u00dfe \u20ac \ufffd";
  assertEquals(escapeControls(text), text);
});
