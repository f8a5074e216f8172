import { deepStrictEqual, match } from "node:assert/strict";
import { parseAddressList } from "./address_list.ts";
import { assertThrowsSmimeError } from "../../tests/support/assert.ts";

Deno.test("parseAddressList() reads bare addresses and lower-cases the domain only", () => {
  deepStrictEqual(parseAddressList("Bob.Smith@Example.COM, carol@example.net"), [
    { address: "Bob.Smith@example.com" },
    { address: "carol@example.net" },
  ]);
});

Deno.test("parseAddressList() reads display names, quoted with commas", () => {
  deepStrictEqual(
    parseAddressList('"Smith, Bob" <bob@example.com>, Carol Q. Public <carol@example.net>'),
    [
      { address: "bob@example.com", name: "Smith, Bob" },
      { address: "carol@example.net", name: "Carol Q. Public" },
    ],
  );
  deepStrictEqual(parseAddressList('"Quote \\"Q\\" Person" <q@x.org>'), [
    { address: "q@x.org", name: 'Quote "Q" Person' },
  ]);
});

Deno.test("parseAddressList() decodes encoded words in display names", () => {
  deepStrictEqual(
    parseAddressList("=?utf-8?Q?Andr=C3=A9?= =?utf-8?Q?_M=C3=BCller?= <andre@example.org>"),
    [{ address: "andre@example.org", name: "André Müller" }],
  );
  deepStrictEqual(parseAddressList('"=?iso-8859-1?Q?Ren=E9?=" <rene@example.org>'), [
    { address: "rene@example.org", name: "René" },
  ]);
});

Deno.test("parseAddressList() reads comments, and names from the old (Name) form", () => {
  deepStrictEqual(parseAddressList("bob@example.com (Bob (the) Builder)"), [
    { address: "bob@example.com", name: "Bob (the) Builder" },
  ]);
  deepStrictEqual(parseAddressList("Bob (work) <bob(c1)@(c2)example.com> (trailing)"), [
    { address: "bob@example.com", name: "Bob" },
  ]);
});

Deno.test("parseAddressList() flattens groups and accepts empty ones", () => {
  deepStrictEqual(parseAddressList("undisclosed-recipients:;"), []);
  deepStrictEqual(parseAddressList("team: a@x.org, Bee <b@y.org>;, c@z.org"), [
    { address: "a@x.org" },
    { address: "b@y.org", name: "Bee" },
    { address: "c@z.org" },
  ]);
  deepStrictEqual(parseAddressList('"A: team": a@x.org;'), [{ address: "a@x.org" }]);
});

Deno.test("parseAddressList() takes obsolete forms: routes, spaces around dots, empty elements", () => {
  deepStrictEqual(parseAddressList("<@relay.example,@r2.example:bob@example.com>"), [
    { address: "bob@example.com" },
  ]);
  deepStrictEqual(parseAddressList("john . doe @ example . com"), [
    { address: "john.doe@example.com" },
  ]);
  deepStrictEqual(parseAddressList(" , a@x.org,, ,b@y.org, "), [
    { address: "a@x.org" },
    { address: "b@y.org" },
  ]);
  deepStrictEqual(parseAddressList("a@x.org; b@y.org"), [
    { address: "a@x.org" },
    { address: "b@y.org" },
  ]);
});

Deno.test("parseAddressList() keeps a quoted local part as written", () => {
  deepStrictEqual(parseAddressList('"john..doe"@Example.com'), [
    { address: '"john..doe"@example.com' },
  ]);
  // Two words without "@" between them stay apart, so the address is refused later.
  deepStrictEqual(parseAddressList("bob smith@example.com"), [
    { address: "bob smith@example.com" },
  ]);
});

Deno.test("parseAddressList() refuses unterminated quotes, comments, brackets and junk", () => {
  for (const bad of ['"open <a@x.org>', "(open a@x.org", "Bob <a@x.org", "a@[1.2.3.4", "a@x)"]) {
    const err = assertThrowsSmimeError(() => parseAddressList(bad, "m.eml"), "E_MESSAGE");
    match(err.message, /^m\.eml: cannot parse address list/);
  }
  assertThrowsSmimeError(() => parseAddressList("<a@x.org> b@y.org"), "E_MESSAGE");
});
