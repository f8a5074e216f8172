import {
  assert,
  assertEquals,
  assertIncludes,
  assertSmimeError,
} from "../../tests/support/assert.ts";
import { checkDkim, fromAddressOf, isAligned } from "./dkim.ts";
import type { DkimVerdict } from "./dkim.ts";
import {
  makeDkimKey,
  plainMessage,
  signWithDkimpy,
  signWithMailauth,
  startDnsmasq,
  unusedUdpPort,
} from "./test_dns.ts";

const enc = new TextEncoder();

Deno.test("fromAddressOf() takes the single From mailbox, display names and encoded words too", async () => {
  const one = enc.encode('From: "=?UTF-8?B?w4lsaXNl?=" <Alice@Example.COM>\r\n\r\nx\r\n');
  assertEquals(fromAddressOf(one, "m"), "alice@example.com");
  const two = enc.encode("From: a@example.com\r\nFrom: b@example.com\r\n\r\nx\r\n");
  await assertSmimeError(() => fromAddressOf(two, "m"), "E_MESSAGE");
  const pair = enc.encode("From: a@example.com, b@example.com\r\n\r\nx\r\n");
  await assertSmimeError(() => fromAddressOf(pair, "m"), "E_MESSAGE");
  const none = enc.encode("Subject: x\r\n\r\nx\r\n");
  await assertSmimeError(() => fromAddressOf(none, "m"), "E_MESSAGE");
});

Deno.test("isAligned() accepts the From domain and its parents, nothing else", () => {
  assert(isAligned("example.com", "example.com"));
  assert(isAligned("Example.COM", "mail.example.com"));
  assert(isAligned("example.com.", "a.b.example.com"));
  assert(!isAligned("mail.example.com", "example.com"), "a child does not vouch for its parent");
  assert(!isAligned("example.com", "badexample.com"), "a suffix is not a parent");
  assert(!isAligned("other.example", "example.com"));
  assert(!isAligned("com", "example.com"), "a bare top-level domain vouches for nobody");
});

Deno.test("checkDkim() against a real DNS server (dnsmasq)", async (t) => {
  const good = makeDkimKey();
  const other = makeDkimKey();
  const testing = makeDkimKey(true);
  const dns = await startDnsmasq({
    "sel._domainkey.example.com": good.record,
    "sel._domainkey.other.example": other.record,
    "ma._domainkey.example.org": other.record,
    "trial._domainkey.example.com": testing.record,
  });
  const options = { dnsServer: { ipAddr: dns.ipAddr, port: dns.port } };
  const check = (bytes: Uint8Array): Promise<DkimVerdict> =>
    checkDkim(bytes, fromAddressOf(bytes, "m"), options);
  try {
    await t.step("a dkimpy signature by the From domain passes", async () => {
      const signed = await signWithDkimpy(
        plainMessage("alice@example.com"),
        "sel",
        "example.com",
        good,
      );
      assertEquals(await check(signed), { ok: true, domain: "example.com" });
    });
    await t.step("a mailauth signature by the From domain passes", async () => {
      const signed = await signWithMailauth(
        plainMessage("Bob <bob@example.org>"),
        "ma",
        "example.org",
        other,
      );
      assertEquals(await check(signed), { ok: true, domain: "example.org" });
    });
    await t.step("a parent domain's signature passes for a subdomain's From", async () => {
      const signed = await signWithDkimpy(
        plainMessage("carol@mail.example.com"),
        "sel",
        "example.com",
        good,
      );
      assertEquals(await check(signed), { ok: true, domain: "example.com" });
    });
    await t.step("an altered body fails", async () => {
      const signed = await signWithDkimpy(
        plainMessage("alice@example.com"),
        "sel",
        "example.com",
        good,
      );
      const altered = enc.encode(new TextDecoder().decode(signed).replace("hello", "HELLO"));
      const verdict = await check(altered);
      assert(!verdict.ok && !verdict.isTemporary);
      assertIncludes(verdict.reason, "body hash did not verify");
    });
    await t.step("a valid signature by another domain is not aligned", async () => {
      const signed = await signWithDkimpy(
        plainMessage("alice@example.com"),
        "sel",
        "other.example",
        other,
      );
      const verdict = await check(signed);
      assert(!verdict.ok);
      assertIncludes(verdict.reason, "d=other.example pass, not aligned with example.com");
    });
    await t.step("a forged From without any signature is refused", async () => {
      const verdict = await check(enc.encode(plainMessage("alice@example.com")));
      assertEquals(verdict, {
        ok: false,
        reason: "no DKIM signature (From domain example.com)",
        isTemporary: false,
      });
    });
    await t.step("a From changed after signing fails", async () => {
      const signed = await signWithDkimpy(
        plainMessage("mallory@example.com"),
        "sel",
        "example.com",
        good,
      );
      const forged = enc.encode(
        new TextDecoder().decode(signed).replace("mallory@example.com", "alice@example.com"),
      );
      const verdict = await check(forged);
      assert(!verdict.ok);
      assertIncludes(verdict.reason, "d=example.com fail");
    });
    await t.step("a key in testing mode (t=y) counts as unsigned", async () => {
      const signed = await signWithDkimpy(
        plainMessage("alice@example.com"),
        "trial",
        "example.com",
        testing,
      );
      const verdict = await check(signed);
      assert(!verdict.ok);
      assertIncludes(verdict.reason, "testing mode");
    });
    await t.step("an unpublished selector is a permanent failure", async () => {
      const signed = await signWithDkimpy(
        plainMessage("alice@example.com"),
        "gone",
        "example.com",
        good,
      );
      const verdict = await check(signed);
      assert(!verdict.ok && !verdict.isTemporary);
      assertIncludes(verdict.reason, "d=example.com neutral: no key");
    });
  } finally {
    await dns.close();
  }
});

Deno.test("checkDkim() calls an unreachable DNS server a temporary failure", async () => {
  const key = makeDkimKey();
  const signed = await signWithDkimpy(plainMessage("alice@example.com"), "sel", "example.com", key);
  const port = await unusedUdpPort();
  const verdict = await checkDkim(signed, "alice@example.com", {
    dnsServer: { ipAddr: "127.0.0.1", port },
    timeoutMs: 300,
  });
  assert(!verdict.ok && verdict.isTemporary, JSON.stringify(verdict));
  assertIncludes(verdict.reason, "temperror");
});
