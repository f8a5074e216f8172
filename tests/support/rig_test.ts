import { assert, assertEquals, assertMatch } from "./assert.ts";
import { postfixAvailable, startPostfix } from "./rig.ts";
import type { PostfixRig } from "./rig.ts";

const dec = new TextDecoder();

/** Sends `dataFile` with swaks; returns swaks's transcript. */
async function swaks(rig: PostfixRig, to: string, dataFile: string, submit: boolean) {
  const args = [
    "--server",
    rig.host,
    "--port",
    String(submit ? rig.submitPort : rig.smtpPort),
    "--from",
    "sender@example.com",
    "--to",
    to,
    "--data",
    `@${dataFile}`,
  ];
  if (submit) {
    args.push("--tls", "--tls-verify", "--tls-ca-path", rig.caFile);
    args.push("--auth", "PLAIN", "--auth-user", rig.user, "--auth-password", rig.password);
  }
  const out = await new Deno.Command("swaks", { args, stdout: "piped", stderr: "piped" }).output();
  const text = dec.decode(out.stdout) + dec.decode(out.stderr);
  assertEquals(out.code, 0, text);
  return text;
}

Deno.test({
  name: "startPostfix() runs two instances that deliver byte for byte on both ports",
  ignore: !postfixAvailable(),
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "smimepost-rig-test-" });
    const rigs = await Promise.all([startPostfix(), startPostfix()]);
    try {
      const [a, b] = rigs as [PostfixRig, PostfixRig];
      assert(a.dir !== b.dir);
      assertEquals(new Set([a.smtpPort, a.submitPort, b.smtpPort, b.submitPort]).size, 4);
      // No final CRLF: swaks adds CRLF "." CRLF itself.
      const message = "From: sender@example.com\r\nTo: rcpt@example.net\r\nSubject: rig\r\n" +
        "MIME-Version: 1.0\r\n\r\nhello\r\n.leading dot\r\n\r\nlast line";
      await Deno.writeTextFile(`${work}/m.eml`, message);
      const expected = (message + "\r\n").replaceAll("\r\n", "\n");

      const plain = await swaks(a, "plain@example.net", `${work}/m.eml`, false);
      assertMatch(plain, /250 2\.0\.0 Ok: queued/);
      const submitted = await swaks(a, "submit@example.net", `${work}/m.eml`, true);
      assertMatch(submitted, /<~ {2}235 /);
      await swaks(b, "other@example.net", `${work}/m.eml`, false);

      const first = await a.waitForRecipient("plain@example.net");
      assertEquals(dec.decode(first.eml), expected);
      assertEquals(first.meta.sender, "sender@example.com");
      const second = await a.waitForRecipient("submit@example.net");
      assertEquals(dec.decode(second.eml), expected);
      assertMatch(second.meta.sasl_username ?? "", new RegExp(`^${a.user}(@|$)`));
      assertEquals(dec.decode((await b.waitForRecipient("other@example.net")).eml), expected);
      assertMatch(await Deno.readTextFile(a.caFile), /^-----BEGIN CERTIFICATE-----/);
    } finally {
      await Promise.all(rigs.map((rig) => rig.stop()));
      await Deno.remove(work, { recursive: true });
    }
    for (const rig of rigs) {
      assert(!(await Deno.stat(rig.dir).then(() => true, () => false)), `${rig.dir} left behind`);
    }
  },
});
