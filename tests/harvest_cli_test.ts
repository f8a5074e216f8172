/**
 * `smimepost harvest` as a user runs it: the CLI process on a port it picks,
 * a real DNS server (dnsmasq) publishing the sender's DKIM key, mail that is
 * S/MIME-signed by smimepost's signer and DKIM-signed by dkimpy, posted as a
 * SparkPost relay webhook. The certificate lands in the key folder, and
 * OpenSSL reads what was written; a wrong token, a misaligned DKIM domain
 * and SIGTERM behave as documented.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { openssl } from "./support/helpers.ts";
import { compileRuntimeFlags } from "../scripts/run_cli.ts";
import { sign } from "../core/cms/sign.ts";
import { pkcs7MimeEntity } from "../core/smime/entity.ts";
import { forgeHierarchy } from "../core/trust/test_forge.ts";
import { makeDkimKey, signWithDkimpy, startDnsmasq } from "../core/harvest/test_dns.ts";

const TOKEN = "harvest-test-token-1234";

async function signedMail(from: string, identity: {
  certificate: Uint8Array;
  chain: Uint8Array[];
  privateKey: Uint8Array;
}): Promise<string> {
  const content = new TextEncoder().encode("Content-Type: text/plain\r\n\r\nmy key\r\n");
  const der = await sign(content, identity, { detached: false });
  const head = `From: ${from}\r\nTo: keys@bank.example\r\nSubject: key\r\n` +
    `Date: Thu, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${crypto.randomUUID()}@test>\r\n`;
  return head + new TextDecoder().decode(pkcs7MimeEntity(der, "signed-data"));
}

function relayEvent(rfc822: Uint8Array, from: string): string {
  return JSON.stringify([{
    msys: {
      relay_message: {
        content: { email_rfc822: new TextDecoder().decode(rfc822), email_rfc822_is_base64: false },
        msg_from: from,
        rcpt_to: "keys@bank.example",
        friendly_from: from,
        webhook_id: "1",
      },
    },
  }]);
}

Deno.test("harvest CLI: DKIM-signed relay webhook -> ADDRESS.crt; wrong token 401; misaligned DKIM refused; SIGTERM stops it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-harvest-cli-" });
  const { root, inter, signer } = await forgeHierarchy("alice@corp.example");
  const corpKey = makeDkimKey();
  const otherKey = makeDkimKey();
  const dns = await startDnsmasq({
    "sel._domainkey.corp.example": corpKey.record,
    "sel._domainkey.other.example": otherKey.record,
  });
  let child: Deno.ChildProcess | undefined;
  try {
    await Deno.writeTextFile(`${dir}/root.pem`, root.certPem);
    await Deno.writeTextFile(`${dir}/token`, `${TOKEN}\n`);
    await Deno.mkdir(`${dir}/keys`);
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...await compileRuntimeFlags(), cli, "harvest"].concat(
        ["--listen", "127.0.0.1:0", "--keys", `${dir}/keys`, "--trust", `${dir}/root.pem`],
        ["--token-file", `${dir}/token`, "--dns-server", `${dns.ipAddr}:${dns.port}`],
      ),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.getReader();
    let log = "";
    while (!/listening on (\S+),/.test(log)) {
      const { value, done } = await reader.read();
      assert(!done, `harvest ended before listening: ${log}`);
      log += new TextDecoder().decode(value);
    }
    const url = /listening on (\S+),/.exec(log)![1]!;
    const post = (body: string, token = TOKEN) =>
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-MessageSystems-Webhook-Token": token },
        body,
      });

    const identity = { certificate: signer.der, chain: [inter.der], privateKey: signer.pkcs8 };
    const mail = await signedMail("alice@corp.example", identity);
    const good = await signWithDkimpy(mail, "sel", "corp.example", corpKey);
    const ok = await post(relayEvent(good, "alice@corp.example"));
    const okBody = await ok.text();
    assertEquals(ok.status, 200, okBody);
    assertMatch(okBody, /"status":"imported"/);
    const stored = `${dir}/keys/alice@corp.example.crt`;
    const x509 = await openssl(["x509", "-in", stored, "-noout", "-email"]);
    assertEquals(x509.code, 0, x509.stderr);
    assertIncludes(new TextDecoder().decode(x509.stdout), "alice@corp.example");

    // Signed without its intermediate: the one the key folder now holds completes the path.
    const bare = await signedMail("alice@corp.example", { ...identity, chain: [] });
    const again = await post(
      relayEvent(await signWithDkimpy(bare, "sel", "corp.example", corpKey), "alice@corp.example"),
    );
    const againBody = await again.text();
    assertEquals(again.status, 200, againBody);
    assertMatch(againBody, /"status":"unchanged"/);

    const wrong = await post(relayEvent(good, "alice@corp.example"), "not-the-token");
    assertEquals(wrong.status, 401);
    assertIncludes(await wrong.text(), "Invalid X-MessageSystems-Webhook-Token");

    // Signed by other.example's key for a From at corp.example: not aligned.
    const misaligned = await signWithDkimpy(mail, "sel", "other.example", otherKey);
    const refused = await post(relayEvent(misaligned, "alice@corp.example"));
    const refusedBody = await refused.text();
    assertEquals(refused.status, 200, refusedBody);
    assertMatch(refusedBody, /"status":"refused"/);

    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      log += new TextDecoder().decode(value);
    }
    const status = await child.status;
    child = undefined;
    assertEquals(status.code, 0, log);
    assertIncludes(log, "imported alice@corp.example");
    assertIncludes(log, "smimepost harvest: stopped");
    assert(!log.includes(TOKEN), "the token reached the log");
  } finally {
    if (child) {
      child.kill("SIGKILL");
      await child.status;
      await child.stderr.cancel().catch(() => {});
    }
    await dns.close();
    await Deno.remove(dir, { recursive: true });
  }
});
