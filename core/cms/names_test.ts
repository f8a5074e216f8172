import { assert, assertEquals } from "../../tests/support/assert.ts";
import { sameText } from "./names.ts";

/** Locales whose collations differ most: punctuation ignored (th), contractions (cs, da, lt), dotted i (tr). */
const LOCALES = ["en", "th", "de", "cs", "da", "lt", "tr", "sv"];
const ALPHABET = "abcchijsyzCH019 .-@'&,+";

/** A pseudo-random string of `ALPHABET` (a fixed seed: the same strings every run). */
function randomText(next: () => number, max: number): string {
  let s = "";
  const length = Math.floor(next() * (max + 1));
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

Deno.test("sameText() is localeCompare's equality for printable ASCII", () => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(0x20 + i));
  for (const a of printable) {
    for (const b of printable) assertEquals(sameText(a, b), a.localeCompare(b) === 0, `${a} ${b}`);
  }
});

Deno.test("sameText() answers without the collator only where every collation agrees", () => {
  const collators = LOCALES.map((l) => new Intl.Collator(l));
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  let decided = 0;
  for (let i = 0; i < 4000; i++) {
    const a = randomText(next, 6);
    // Half the pairs differ in punctuation and spaces only: those go to the collator.
    const b = i % 2 ? randomText(next, 6) : a.replace(/[ .-]/g, (c) => (c === " " ? "" : " "));
    const same = sameText(a, b);
    assertEquals(same, a.localeCompare(b) === 0, `${JSON.stringify(a)} ${JSON.stringify(b)}`);
    const plain = a === b || a.replace(/[^a-z0-9]/gi, "") !== b.replace(/[^a-z0-9]/gi, "");
    if (!plain) continue;
    decided++;
    for (const [j, c] of collators.entries()) {
      assertEquals(c.compare(a, b) === 0, same, `${LOCALES[j]}: ${JSON.stringify([a, b])}`);
    }
  }
  assert(decided > 1000, `only ${decided} pairs decided without the collator`);
});

Deno.test("sameText() leaves canonically equivalent text to the collator", () => {
  assert(sameText("caf\u00e9", "cafe\u0301"));
  assert(!sameText("cafe", "caf\u00e9"));
});
