/**
 * Delivery into a real Postfix (scripts/rig): every SMTP plugin sends
 * sealed messages, the delivered files are read back and compared byte for
 * byte (Postfix stores LF line ends), and `openssl cms` decrypts and
 * verifies what arrived. The CLI runs as the compiled binary would.
 */
import { bytesEqual, bytesToLatin1, joinSource, latin1ToBytes } from "../core/bytes.ts";
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { largeSealedMessage, openssl, testKeyStore, testPki, toLf } from "./support/helpers.ts";
import { postfixAvailable, sharedPostfix as postfix } from "./support/rig.ts";
import type { PostfixRig } from "./support/rig.ts";
import { runCli } from "../scripts/run_cli.ts";
import { parseMessage } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import type { SealedMessage } from "../core/smime/sealed.ts";
import { plugins } from "../plugins/mod.ts";
import type { DeliveryPlugin } from "../core/deliver/types.ts";

const ignore = !postfixAvailable();

const MESSAGE = "From: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n" +
  "Cc: carol@example.net\nSubject: Statement\n\nHello Bob,\n.a line with a dot\nbye\n";

/**
 * Seals MESSAGE for the given recipients in-process: signed, and encrypted
 * when asked (the test PKI has certificates for bob and carol only).
 * Every test waits for each of its deliveries, so addresses can repeat.
 */
async function sealed(
  to = "bob@example.com",
  cc = "carol@example.net",
  encrypt = false,
): Promise<SealedMessage> {
  const text = MESSAGE.replace("Bob <bob@example.com>", to).replace("carol@example.net", cc);
  const { copies } = await sealMessage(
    parseMessage(new TextEncoder().encode(text), "m.eml"),
    await testKeyStore(),
    // One copy for bob (RSA) and carol (EC): these tests compare bytes, not copies.
    { sign: true, detached: false, encrypt, singleCopy: true, ecRecipients: "shared" },
  );
  return copies[0]!;
}

/** Delivers one message through a plugin with the given options. */
async function deliverWith(id: string, options: Record<string, unknown>, message: SealedMessage) {
  const plugin = await plugins.get(id)!() as DeliveryPlugin;
  const parsed = plugin.options.parse(options);
  const lines: string[] = [];
  const transport = plugin.create(parsed, {
    info: (l) => lines.push(l),
    warn: (l) => lines.push(l),
    debug: (l) => lines.push(l),
  });
  try {
    await transport.open();
    return { result: await transport.deliver(message), lines };
  } finally {
    await transport.close();
  }
}

/** The part of a delivered file after the headers the plugin added. */
function withoutAddedHeaders(eml: Uint8Array, names: string[]): Uint8Array {
  const text = bytesToLatin1(eml);
  const kept = text.split("\n").filter((line, i, all) => {
    const start = names.some((n) => line.startsWith(`${n}:`));
    const continued = /^[ \t]/.test(line) && i > 0 &&
      names.some((n) =>
        all.slice(0, i).reverse().find((l) => !/^[ \t]/.test(l))?.startsWith(`${n}:`)
      );
    return !start && !continued;
  });
  return latin1ToBytes(kept.join("\n"));
}

Deno.test({
  name: "smtp-generic delivers to Postfix byte for byte, and openssl opens what arrived",
  ignore,
  async fn() {
    const r = await postfix();
    const message = await sealed("bob@example.com", "carol@example.net", true);
    const { result, lines } = await deliverWith("smtp-generic", {
      host: r.host,
      port: r.smtpPort,
    }, message);
    assertEquals(result.recipients.map((x) => x.status), ["accepted", "accepted"]);
    assert(result.id, "queue id parsed from the final 250");
    assertIncludes(
      lines.join("\n"),
      `Opened SMTP connection (plain) to ${r.host}, port ${r.smtpPort}`,
    );
    const pki = await testPki();
    for (const who of ["bob@example.com", "carol@example.net"]) {
      const delivered = await r.waitForRecipient(who);
      assert(bytesEqual(delivered.eml, toLf(message.bytes)), `${who}: delivered bytes differ`);
      const inner = await openssl(
        ["cms", "-decrypt", "-recip", `${pki}/${who}.crt`, "-inkey", `${pki}/${who}.pem`],
        delivered.eml,
      );
      assertEquals(inner.code, 0, inner.stderr);
      const verified = await openssl(
        ["cms", "-verify", "-CAfile", `${pki}/trust.pem`, "-purpose", "smimesign"],
        inner.stdout,
      );
      assertEquals(verified.code, 0, verified.stderr);
    }
  },
});

Deno.test({
  name:
    "smtp-generic delivers a large message as it is made (never built) to Postfix byte for byte",
  ignore,
  async fn() {
    const r = await postfix();
    const message = await largeSealedMessage();
    assert(message.source, "a large message is streamed");
    const { result } = await deliverWith(
      "smtp-generic",
      { host: r.host, port: r.smtpPort },
      message,
    );
    assertEquals(result.recipients.map((x) => x.status), ["accepted"]);
    assert(message.source, "delivering it built the whole message");
    const delivered = await r.waitForRecipient("bob@example.com");
    assert(
      bytesEqual(delivered.eml, toLf(joinSource(message.source))),
      "delivered bytes differ",
    );
    const pki = await testPki();
    const inner = await openssl(
      [
        "cms",
        "-decrypt",
        "-recip",
        `${pki}/bob@example.com.crt`,
        "-inkey",
        `${pki}/bob@example.com.pem`,
      ],
      delivered.eml,
    );
    assertEquals(inner.code, 0, inner.stderr);
  },
});

Deno.test({
  name: "smtp-generic over STARTTLS + AUTH (verified against the rig's CA) is delivered",
  ignore,
  async fn() {
    const r = await postfix();
    const message = await sealed("auth.bob@example.com", "auth.carol@example.net");
    const { result, lines } = await deliverWith("smtp-generic", {
      host: r.host,
      port: r.submitPort,
      tls: "require",
      tls_ca_file: r.caFile,
      tls_servername: "localhost",
      user: r.user,
      password: r.password,
    }, message);
    assertEquals(result.recipients.map((x) => x.status), ["accepted", "accepted"]);
    const text = lines.join("\n");
    assertIncludes(text, `Opened SMTP connection (STARTTLS) to ${r.host}, port ${r.submitPort}`);
    assertIncludes(text, `user="SMTP_Injection", password="****"`);
    assert(!text.includes(r.password), "password in the transcript");
    const delivered = await r.waitForRecipient("auth.bob@example.com");
    await r.waitForRecipient("auth.carol@example.net");
    assert(bytesEqual(delivered.eml, toLf(message.bytes)));
    assertMatch(delivered.meta.sasl_username ?? "", /^SMTP_Injection/);
  },
});

Deno.test({
  name: "sparkpost-smtp logs in as SMTP_Injection and adds X-MSYS-API outside the signature",
  ignore,
  async fn() {
    const r = await postfix();
    const message = await sealed("sp.bob@example.com", "sp.carol@example.net");
    const { result } = await deliverWith("sparkpost-smtp", {
      host: r.host,
      port: r.submitPort,
      tls_ca_file: r.caFile,
      tls_servername: "localhost",
      api_key: r.password,
      campaign_id: "statements-2026-11",
      metadata: { batch: "nov", note: "é" },
      tags: ["statement"],
    }, message);
    assertEquals(result.recipients.map((x) => x.status), ["accepted", "accepted"]);
    const delivered = await r.waitForRecipient("sp.bob@example.com");
    await r.waitForRecipient("sp.carol@example.net");
    const text = new TextDecoder().decode(delivered.eml);
    assertMatch(text, /^X-MSYS-API: /);
    const header = /^X-MSYS-API: (.*(?:\n[ \t].*)*)/m.exec(text)![1]!.replace(/\n/g, "");
    const api = JSON.parse(header);
    assertEquals(api.campaign_id, "statements-2026-11");
    assertEquals(api.metadata, { batch: "nov", note: "é" });
    assertEquals(api.options.open_tracking, false);
    assertEquals(api.options.click_tracking, false);
    assert(
      bytesEqual(withoutAddedHeaders(delivered.eml, ["X-MSYS-API"]), toLf(message.bytes)),
      "the sealed message changed",
    );
  },
});

Deno.test({
  name: "powermta and momentum add their headers and leave the sealed message intact",
  ignore,
  async fn() {
    const r = await postfix();
    const pmta = await sealed("pmta@example.com", "pmta.cc@example.net");
    await deliverWith("powermta", {
      host: r.host,
      port: r.smtpPort,
      virtual_mta: "pool-statements",
      job: "nov-2026",
    }, pmta);
    const p = new TextDecoder().decode((await r.waitForRecipient("pmta@example.com")).eml);
    await r.waitForRecipient("pmta.cc@example.net");
    assertMatch(p, /^X-Virtual-MTA: pool-statements\n/m);
    assertMatch(p, /^X-Job: nov-2026\n/m);

    const momentum = await sealed("msys@example.com", "msys.cc@example.net");
    await deliverWith("momentum", {
      host: r.host,
      port: r.smtpPort,
      binding_header: "X-Binding",
      binding: "statements",
      campaign_id: "nov",
    }, momentum);
    const m = (await r.waitForRecipient("msys@example.com")).eml;
    await r.waitForRecipient("msys.cc@example.net");
    assertMatch(new TextDecoder().decode(m), /^X-Binding: statements\n/m);
    assert(bytesEqual(withoutAddedHeaders(m, ["X-MSYS-API", "X-Binding"]), toLf(momentum.bytes)));
  },
});

/** Runs `smimepost m.eml ARGS --send_smtp --keys PKI` on `message` in a scratch folder. */
async function sendSmtp(message: string, env: Record<string, string>, args: string[]) {
  const keys = await testPki();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/m.eml`, message);
    return await runCli(["m.eml", ...args, "--send_smtp", "--keys", keys], { cwd: dir, env });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The rig's submission port (STARTTLS required) as SMTP_* variables. */
function submission(r: PostfixRig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SMTP_HOST: r.host,
    SMTP_PORT: String(r.submitPort),
    SMTP_TLS: "require",
    SMTP_CA_FILE: r.caFile,
    ...extra,
  };
}

const VERIFY_AS_LOCALHOST = ["--option", "tls_servername=localhost"];

Deno.test({
  name: "send --send_smtp: the old tool's lines, and every recipient's copy arrives",
  ignore,
  async fn() {
    const r = await postfix();
    const run = await sendSmtp(
      MESSAGE.replace("Bob <bob@example.com>", "cli.bob@example.com"),
      { SMTP_HOST: r.host, SMTP_PORT: String(r.smtpPort) },
      ["--sign"],
    );
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.text, /^Opened SMTP connection \(plain\) to 127\.0\.0\.1, port \d+$/m);
    assertMatch(
      run.text,
      /^Sending m\.eml\tFrom: alice@example\.com\tTo: cli\.bob@example\.com, carol@example\.net$/m,
    );
    assertMatch(run.text, /^OK - in \d+\.\d{3} seconds/m);
    await r.waitForRecipient("cli.bob@example.com");
    await r.waitForRecipient("carol@example.net");
  },
});

Deno.test({
  name: "send --send_smtp with a wrong password exits 77 with the 535, password nowhere",
  ignore,
  async fn() {
    const r = await postfix();
    const wrong = `wrong-${crypto.randomUUID()}`;
    const run = await sendSmtp(
      MESSAGE,
      submission(r, { SMTP_USER: r.user, SMTP_PASSWORD: wrong }),
      ["--sign", "--debug-smtp", ...VERIFY_AS_LOCALHOST],
    );
    assertEquals(run.code, 77, run.stderr);
    assertIncludes(run.stderr, "535");
    assert(!run.stderr.includes(wrong) && !run.text.includes(wrong), "password leaked");
    assert(!run.stderr.includes(btoa(`\0${r.user}\0${wrong}`)), "AUTH PLAIN payload leaked");
  },
});

Deno.test({
  name: "send --send_smtp without AUTH on the submission port reports the 554 verbatim",
  ignore,
  async fn() {
    const r = await postfix();
    const run = await sendSmtp(MESSAGE, submission(r), ["--sign", ...VERIFY_AS_LOCALHOST]);
    assertEquals(run.code, 65, run.text + run.stderr);
    assertMatch(run.text, /bob@example\.com: 554 5\.7\.1 .*Relay access denied/);
  },
});

Deno.test({
  name: "send --encrypt with Bcc delivers a separate copy the others can't see",
  ignore,
  async fn() {
    const r = await postfix();
    const keys = await testPki();
    const run = await sendSmtp(
      MESSAGE.replace("Cc: carol@example.net", "Cc: carol@example.net\nBcc: dave@example.org"),
      { SMTP_HOST: r.host, SMTP_PORT: String(r.smtpPort) },
      ["--sign", "--encrypt", "--single-copy"], // bob (RSA) and carol (EC) share one copy
    );
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.text, /To: bob@example\.com, carol@example\.net$/m);
    assertMatch(run.text, /To: dave@example\.org$/m);
    const shown = await r.waitForRecipient("bob@example.com");
    await r.waitForRecipient("carol@example.net");
    const hidden = await r.waitForRecipient("dave@example.org");
    assert(!/^Bcc:/im.test(new TextDecoder().decode(shown.eml)), "Bcc header delivered");
    const decrypt = (eml: Uint8Array) =>
      openssl([
        "cms",
        "-decrypt",
        "-recip",
        `${keys}/dave@example.org.crt`,
        "-inkey",
        `${keys}/dave@example.org.pem`,
      ], eml);
    assertEquals((await decrypt(hidden.eml)).code, 0, "dave opens his copy");
    assert(
      (await decrypt(shown.eml)).code !== 0,
      "dave is not among the To/Cc copy's recipients",
    );
  },
});
