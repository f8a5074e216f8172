import { strict as assert } from "node:assert";
import { sign } from "../cms/sign.ts";
import { forgeHierarchy } from "../trust/test_forge.ts";
import { pkcs7MimeEntity } from "./entity.ts";
import { verifyMessage } from "./verdict.ts";

const { root, inter, signer } = await forgeHierarchy("alice@corp.example");
const der = await sign(
  new TextEncoder().encode("Content-Type: text/plain\r\n\r\nhi\r\n"),
  { certificate: signer.der, chain: [inter.der], privateKey: signer.pkcs8 },
  { detached: false },
);
const body = new TextDecoder().decode(pkcs7MimeEntity(der, "signed-data"));

async function judge(headers: string) {
  const bytes = new TextEncoder().encode(headers + body);
  return await verifyMessage(bytes, "m.eml", { trustAnchors: [root.der] });
}

Deno.test("verifyMessage() trusts the signer only as the one From author, every From form", async () => {
  for (
    const from of [
      "From: alice@corp.example\r\n",
      "From: Alice <ALICE@corp.example>\r\n",
      "From: =?UTF-8?Q?M=C3=BCller=2C_Alice?= <alice@corp.example>\r\n",
      'From: "Alice, Treasury" <alice@corp.example>\r\n',
    ]
  ) {
    const v = await judge(from);
    assert.ok(v.trusted, `${from}: ${v.problems.join("; ")}`);
  }
  const refusals: [string, RegExp][] = [
    ["From: bob@corp.example\r\n", /bob@corp\.example is not an address of the signer/],
    ["From: alice@corp.example\r\nFrom: bob@corp.example\r\n", /2 From headers/],
    ["From: alice@corp.example, bob@corp.example\r\n", /holds 2 mailboxes, not one/],
    ["From: undisclosed:;\r\n", /holds no mailbox/],
    ["Subject: no author\r\n", /no From header/],
  ];
  for (const [headers, reason] of refusals) {
    const v = await judge(headers);
    assert.ok(!v.trusted, headers);
    assert.ok(v.intact, "the signature itself is intact");
    assert.match(v.problems.join("; "), reason);
  }
});

Deno.test("verifyMessage() without anchors is intact but never trusted", async () => {
  const bytes = new TextEncoder().encode("From: alice@corp.example\r\n" + body);
  const v = await verifyMessage(bytes, "m.eml", {});
  assert.ok(v.intact && !v.trusted);
  assert.deepEqual(v.problems, []);
});
