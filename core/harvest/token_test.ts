import { assert } from "../../tests/support/assert.ts";
import { tokenChecker } from "./token.ts";

Deno.test("tokenChecker() passes the token and nothing else", () => {
  const isValid = tokenChecker("s3cret-token");
  assert(isValid("s3cret-token"));
  assert(!isValid("s3cret-tokeN"));
  assert(!isValid("s3cret-token "));
  assert(!isValid("s3cret"));
  assert(!isValid(""));
  assert(!isValid(undefined));
});

Deno.test("tokenChecker() with no token configured lets every request through", () => {
  const isValid = tokenChecker(undefined);
  assert(isValid(undefined));
  assert(isValid("anything"));
});

Deno.test("tokenChecker() compares a UTF-8 token with the header's raw bytes", () => {
  const isValid = tokenChecker("clé");
  // What the HTTP reader hands over: the UTF-8 bytes, one Latin-1 char each.
  assert(isValid("cl\u00c3\u00a9"));
  assert(!isValid("clé"));
});
