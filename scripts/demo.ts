/**
 * `deno task demo`: the main job on built-in fixtures. Makes a throw-away
 * test PKI, starts the built-in SMTP sink, signs, encrypts and delivers
 * fixtures/statement.eml over SMTP with the CLI (run as the compiled binary
 * would be), reads back what arrived, shows, verifies and decrypts it, and,
 * when openssl is installed, has `openssl cms` check it too.
 *
 * @module
 */
import { startSink } from "../core/sink/mod.ts";
import { makeTestPki } from "./make_pki.ts";
import { runCli } from "./run_cli.ts";

const work = await Deno.makeTempDir({ prefix: "smimepost-demo-" });
const keys = `${work}/keys`;
const statement = new URL("../fixtures/statement.eml", import.meta.url).pathname;
let failed = false;

function title(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

/** Runs one smimepost command, printing it and what it printed. */
async function smimepost(
  args: string[],
  expectCode = 0,
  env?: Record<string, string>,
): Promise<void> {
  const shownEnv = Object.entries(env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
  console.log(`$ ${shownEnv}smimepost ${args.join(" ")}`);
  const run = await runCli(args, { cwd: work, env });
  if (run.text) console.log(run.text.trimEnd().split("\n").slice(0, 40).join("\n"));
  if (run.stderr) console.log(run.stderr.trimEnd());
  if (run.code !== expectCode) {
    console.log(`!! exit ${run.code}, expected ${expectCode}`);
    failed = true;
  }
}

/** Runs an openssl command if openssl is there; returns its exit status. */
async function openssl(args: string[]): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("openssl", { args, cwd: work, stdout: "piped" }).output();
    return out.code;
  } catch {
    return undefined;
  }
}

try {
  title("A test PKI, fresh every run (root, intermediate, users in the key folder)");
  await makeTestPki(keys);
  for (const entry of [...Deno.readDirSync(keys)].map((e) => e.name).sort()) {
    console.log(`  keys/${entry}`);
  }
  await Deno.copyFile(statement, `${work}/statement.eml`);
  const trust = ["--keys", "keys", "--trust", "keys/trust.pem"];

  title("Start the built-in SMTP sink (smimepost sink), a safe delivery target");
  const sink = await startSink({ port: 0, dir: `${work}/captured` });
  console.log(`listening on ${sink.host}:${sink.port}, storing in captured/`);

  title(
    "Sign (opaque), encrypt to Bob (RSA), Carol (EC) and the sender, deliver over SMTP: " +
      "Carol's EC key gets a copy of its own, as Thunderbird refuses EC and RSA in one",
  );
  const smtp = { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) };
  try {
    await smimepost(
      ["send", "statement.eml", "--sign", "--encrypt", ...trust, "--send_smtp"],
      0,
      smtp,
    );
  } finally {
    await sink.close();
  }
  const copyFor = (address: string) => {
    const copy = sink.received.find((m) => m.rcptTo.includes(address));
    if (!copy) throw new Error(`the sink received no copy for ${address}`);
    return copy;
  };
  const copies: [string, string][] = [
    ["bob@example.com", "sealed.eml"],
    ["carol@example.net", "sealed-ec.eml"],
  ];
  for (const [address, name] of copies) {
    const copy = copyFor(address);
    await Deno.writeFile(`${work}/${name}`, copy.data);
    console.log(
      `the sink stored ${copy.id}.eml (${copy.data.length} bytes) for ` +
        `${copy.rcptTo.join(", ")}; saved as ${name}`,
    );
  }

  title("Its structure");
  await smimepost(["show", "sealed.eml", "--keys", "keys", "--key", "keys/bob@example.com.pem"]);

  title("Verify: decrypt with a recipient's key from the folder, check the signature");
  await smimepost(["verify", "sealed.eml", ...trust]);

  title("Decrypt Carol's copy with her key alone (EC P-256, ECDH key agreement)");
  await smimepost([
    "decrypt",
    "sealed-ec.eml",
    "--keys",
    "keys",
    "--key",
    "keys/carol@example.net.pem",
    "-o",
    "inner.eml",
  ]);
  console.log("wrote inner.eml: the signed entity, as openssl cms -decrypt would give");

  title("Detached signature (multipart/signed), verified");
  await smimepost(["send", "statement.eml", "--sign-detached", ...trust, "-o", "signed.eml"]);
  await smimepost(["verify", "signed.eml", ...trust]);

  title("A refusal: a recipient without a certificate");
  const noCert = (await Deno.readTextFile(`${work}/statement.eml`))
    .replace("Cc: ", "Cc: nobody@example.org, ");
  await Deno.writeTextFile(`${work}/nocert.eml`, noCert);
  await smimepost(["send", "nocert.eml", "--encrypt", "--keys", "keys"], 67);

  title("Independent check with openssl cms");
  const decrypted = await openssl([
    "cms",
    "-decrypt",
    "-in",
    "sealed.eml",
    "-recip",
    "keys/bob@example.com.crt",
    "-inkey",
    "keys/bob@example.com.pem",
    "-out",
    "openssl-inner.eml",
  ]);
  if (decrypted === undefined) console.log("openssl not installed: skipped");
  else {
    const verified = await openssl([
      "cms",
      "-verify",
      "-in",
      "openssl-inner.eml",
      "-CAfile",
      "keys/trust.pem",
      "-purpose",
      "smimesign",
      "-out",
      "/dev/null",
    ]);
    const ok = decrypted === 0 && verified === 0;
    console.log(
      `openssl cms -decrypt: ${decrypted === 0 ? "ok" : "FAILED"}; ` +
        `openssl cms -verify: ${verified === 0 ? "ok" : "FAILED"}`,
    );
    failed ||= !ok;
  }
} finally {
  // Left in place, as the steps above say: the keys, what was sealed, what the sink captured.
  console.log(`\nthe demo's files are in ${work} (keys/, captured/, sealed.eml, inner.eml...);`);
  console.log(`remove them with: rm -r ${work}`);
}
console.log(
  failed ? "\ndemo: something went wrong (see above)" : "\ndemo: all steps did what they should",
);
Deno.exit(failed ? 1 : 0);
