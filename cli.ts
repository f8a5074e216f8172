#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env
/**
 * The smimepost command line: the only module that reads Deno.args, prints,
 * or exits. Everything it does is in core/; this file parses flags, finds
 * passphrases, prints results and maps errors to exit codes.
 *
 * @module
 */
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import type { OptionValues } from "@commander-js/extra-typings";
import { ExitCode, exitCodeOf, isSmimeError, SmimeError } from "./core/errors.ts";
import { readInput, writeFileAtomic, writeStdout } from "./core/io.ts";
import { parseMessage } from "./core/message/mod.ts";
import { sealMessage } from "./core/pipeline.ts";
import { deliveryInputs, loadDelivery, readEnv } from "./core/cli/delivery.ts";
import { keyCandidates, loadTrust, openKeyStore, PASSPHRASE_ENV } from "./core/cli/keys.ts";
import { output, printLines, setOutput, warn } from "./core/cli/output.ts";
import type { RunFlags } from "./core/cli/run.ts";
import { sealOptionsOf } from "./core/cli/seal.ts";
import { decryptedJson, decryptMessage } from "./core/smime/decrypt_message.ts";
import { keyReportJson, reportLines } from "./core/report.ts";
import { describeShown, showMessage, shownJson } from "./core/smime/show.ts";
import { suggest } from "./core/config/suggest.ts";
import { VERSION, versionInfo, versionLines } from "./core/cli/version.ts";

/** The exit status an action sets when it finishes without an exception. */
let exitStatus: number = ExitCode.ok;

// ---------------------------------------------------------------- options

const digestOption = new Option("--digest <name>", "signing digest")
  .choices(["sha256", "sha384", "sha512"] as const)
  .default("sha256" as const);
const cipherOption = new Option(
  "--cipher <name>",
  "content cipher for every copy (default: per copy, GCM only when all its recipients " +
    "announced it, else aes-256-cbc)",
).choices(["aes-256-cbc", "aes-128-cbc", "aes-256-gcm", "aes-128-gcm"] as const);

/** The key-folder options every command that touches keys shares. */
function withKeyOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option(
      "--keys <dir>",
      "key folder: ADDRESS.crt, ADDRESS.pem, ADDRESS.p12 (also $SMIMEPOST_KEYS, keys in the " +
        "config file)",
      ".",
    )
    .option(
      "--trust <file>",
      "PEM bundle of trust anchors; chains are checked against it (also $SMIMEPOST_TRUST, " +
        "trust in the config file)",
    )
    .option("--passphrase-file <file>", `private-key passphrase (also $${PASSPHRASE_ENV})`)
    .option(
      "--allow-invalid-cert",
      "let expired, not-yet-valid and self-signed certificates through",
    )
    .option("--allow-insecure-key-permissions", "accept key files readable by group or others")
    .option("-v, --verbose", "more detail on errors")
    .option("-q, --quiet", "no warnings or progress lines");
}

/** The sealing options of `send` and `worker`. */
function withSealOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option("--sign", "sign (opaque application/pkcs7-mime, as before)")
    .option("--sign-detached", "sign as multipart/signed, readable without S/MIME")
    .addOption(new Option("--sign_detached").hideHelp())
    .option("--encrypt", "encrypt to every recipient and to the sender")
    .addOption(digestOption)
    .option("--rsa-pss", "RSA signers use RSASSA-PSS instead of PKCS#1 v1.5")
    .addOption(cipherOption)
    .option(
      "--oaep",
      "RSA-OAEP (SHA-256) key transport for every RSA recipient (default: only for those " +
        "who announced it, PKCS#1 v1.5 for the others)",
    )
    .option("--no-encrypt-to-self", "do not encrypt to the sender's own certificate")
    .option("--bcc-shared", "one encrypted copy for all, Bcc recipients visible to the others")
    .option(
      "--single-copy",
      "one copy for RSA and EC recipients (default: EC recipients get their own, as " +
        "Thunderbird can't open a copy with an EC recipient)",
    );
}

// --------------------------------------------------------------- commands

const program = new Command()
  .name("smimepost")
  .description("Sign and encrypt mail with S/MIME, and hand it to a mail platform.")
  .version(
    VERSION,
    "-V, --version",
    "print the versions of smimepost, Deno, V8, TypeScript and OpenSSL (with --json: one object)",
  )
  .exitOverride()
  .configureOutput({ outputError: (text) => console.error(`smimepost: ${text.trim()}`) });

// The key folder and the trust bundle of every command that takes --keys:
// flags, then SMIMEPOST_KEYS / SMIMEPOST_TRUST, then the config file.
program.hook("preAction", async (_program, command) => {
  if (!command.options.some((option) => option.long === "--keys")) return;
  const options = command.opts() as { keys?: string; trust?: string; config?: string };
  const { resolveKeyPaths } = await import("./core/config/key_paths.ts");
  const paths = await resolveKeyPaths(
    { configFile: options.config, cwd: Deno.cwd(), env: readEnv },
    {
      keys: command.getOptionValueSource("keys") === "cli" ? options.keys : undefined,
      trust: options.trust,
    },
  );
  command.setOptionValue("keys", paths.keys.path);
  if (paths.trust) command.setOptionValue("trust", paths.trust.path);
});

program.addHelpText(
  "after",
  `
send is the default command: "smimepost FILE --sign" is "smimepost send FILE --sign".
The first argument is a command only when it is a word (letters and hyphens)
and no file of that name exists; an argument with "/" or ".", "-", or an
existing file is an input of send.

Examples:
  smimepost statement.eml --sign --encrypt > sealed.eml
  smimepost send statements/ --sign --encrypt --profile pmta --journal run.jsonl
  smimepost verify sealed.eml --trust ca.pem
  smimepost config check --profile pmta`,
);

withRunOptions(withDeliveryOptions(withKeyOptions(
  withSealOptions(
    program.command("send", { isDefault: true })
      .description("seal messages (sign and/or encrypt) and deliver them, or write one to stdout")
      .argument("[inputs...]", 'message files, folders of *.eml, or "-" for one message on stdin'),
  )
    .option("-o, --output <file>", "write the sealed message to a file instead of stdout")
    .option("--json", "one JSON object per delivered message on stdout")
    .option("--debug-smtp", "print the protocol transcript (secrets redacted) on stderr"),
))).action(async (inputs, options) => {
  setOutput(options);
  const seal = sealOptionsOf(options);
  const sign = seal.sign;
  if (!sign && !options.encrypt) {
    warn("neither --sign nor --encrypt given; messages go as they are");
  }
  if (inputs.length === 0 && !options.mbox && !options.manifest) {
    throw new SmimeError(
      "E_USAGE",
      'no input: give message files or folders, "-", --mbox or --manifest',
    );
  }
  const delivery = await loadDelivery(deliveryInputs(options));
  const single = await isSingleMessage(inputs, options);
  if (!delivery) {
    if (!single) {
      throw new SmimeError(
        "E_USAGE",
        "several messages need a delivery: --profile, --send_smtp or --send_api",
      );
    }
    const { bytes, source } = await readInput(inputs[0]!);
    const message = parseMessage(bytes, source);
    const keys = await openKeyStore(options, inputs[0] === "-");
    const result = await sealMessage(message, keys, { ...seal, singleCopy: true });
    result.warnings.forEach(warn);
    const [copy] = result.copies;
    if (options.output) await writeFileAtomic(options.output, copy!.bytes);
    else await writeStdout(copy!.bytes);
    return;
  }
  if (options.output) {
    throw new SmimeError("E_USAGE", `conflicting: --output and a delivery (${delivery.profile})`);
  }
  const { deliverRun, filesSource } = await import("./core/cli/run.ts");
  const source = await filesSource(inputs, options, single);
  exitStatus = await deliverRun(delivery, source, options, seal, single);
});

withKeyOptions(
  program.command("verify")
    .description(
      "check who signed each message, that it is intact, its path to --trust, and its From",
    )
    .argument("<inputs...>", 'sealed messages, folders of *.eml, or "-" for stdin')
    .option("--key <file...>", "private key(s) for an encrypted message")
    .option("--json", "one JSON object per message on stdout"),
).action(async (inputs, options) => {
  setOutput(options);
  const keys = await openKeyStore(options, inputs.includes("-"));
  const trust = await keys.trustStore();
  const { readInputs } = await import("./core/batch/sources/mod.ts");
  const { verdictJson, verifyMessage } = await import("./core/smime/verdict.ts");
  const { verdictLines } = await import("./core/report.ts");
  const errors: SmimeError[] = [];
  let count = 0;
  const report = async (source: string, err: SmimeError) => {
    errors.push(err);
    console.error(`smimepost: ${err.message}`);
    if (options.json) await printLines([JSON.stringify({ file: source, error: err.message })]);
  };
  const items = readInputs(inputs);
  for (;; count++) {
    let input;
    try {
      const next = await items.next();
      if (next.done) break;
      input = next.value;
    } catch (err) {
      if (!isSmimeError(err)) throw err;
      await report("label" in err ? String(err.label) : "input", err);
      continue;
    }
    const source = input.label;
    try {
      const verdict = await verifyMessage(input.bytes, source, {
        trust,
        keys: keyCandidates(keys, input.bytes, source, options.key),
      });
      const lines = options.json
        ? [JSON.stringify(verdictJson(source, verdict))]
        : verdictLines(source, verdict);
      await printLines(lines);
      if (verdict.problems.length > 0) {
        const n = verdict.problems.length;
        await report(
          source,
          new SmimeError("E_VERIFY", `${source}: verification failed (${n} problem(s))`),
        );
      }
    } catch (err) {
      if (!isSmimeError(err)) throw err;
      await report(source, err);
    }
  }
  if (errors.length === 0) return;
  // One message keeps its own error's exit code (66 missing, 65 bad data).
  if (count === 1) exitStatus = errors[0]!.exitCode;
  else {
    console.error(`smimepost: ${errors.length} of ${count} message(s) failed verification`);
    exitStatus = ExitCode.dataErr;
  }
});

withKeyOptions(
  program.command("decrypt")
    .description("decrypt a message and print the MIME entity inside")
    .argument("<file>", 'sealed message, or "-" for stdin')
    .option(
      "--key <file...>",
      "private key file(s), tried in turn: PEM, DER or .p12; no certificate needed (repeatable)",
    )
    .option("-o, --output <file>", "write the entity to a file instead of stdout")
    .option(
      "--json",
      "print what was decrypted (cipher, recipients, key, signed or not) as one JSON object " +
        "instead of the entity; the entity goes only to -o",
    ),
).action(async (file, options) => {
  setOutput(options);
  const { bytes, source } = await readInput(file);
  const keys = await openKeyStore(options, file === "-");
  // Signed layers around the encrypted one are peeled unverified: verify checks them.
  const decrypted = await decryptMessage(
    bytes,
    source,
    keyCandidates(keys, bytes, source, options.key),
  );
  if (options.output) await writeFileAtomic(options.output, decrypted.content);
  else if (!options.json) await writeStdout(decrypted.content);
  if (options.json) {
    await printLines([JSON.stringify(decryptedJson(source, decrypted, options.output))]);
  }
});

withKeyOptions(
  program.command("show")
    .description("print the MIME tree of a message, indented, with its S/MIME layers")
    .argument("<file>", 'message, or "-" for stdin')
    .option("--key <file...>", "private key(s) to look inside encrypted layers")
    .option("--json", "the tree as one JSON object on stdout"),
).action(async (file, options) => {
  setOutput(options);
  const { bytes, source } = await readInput(file);
  const keys = options.key ? await openKeyStore(options, file === "-") : undefined;
  const shown = await showMessage(bytes, source, {
    keys: keys && keyCandidates(keys, bytes, source, options.key),
  });
  await printLines(
    options.json ? [JSON.stringify(shownJson(source, shown))] : describeShown(shown),
  );
});

const keysCommand = program.command("keys").description("work with the key folder");
withKeyOptions(
  keysCommand.command("check")
    .description("check every certificate and key in the key folder")
    .option("--json", "one JSON object per file on stdout"),
).action(async (options) => {
  setOutput(options);
  const keys = await openKeyStore(options, false);
  const reports = await keys.check();
  const lines = options.json
    ? reports.map((r) => JSON.stringify(keyReportJson(r)))
    : reports.flatMap(reportLines);
  if (!options.json) {
    lines.push(`${reports.length} file(s), ${reports.filter((r) => !r.ok).length} with problems`);
  }
  await printLines(lines);
  if (reports.some((r) => !r.ok)) {
    throw new SmimeError("E_CERT_INVALID", `problems found in ${options.keys}`);
  }
});

withKeyOptions(
  keysCommand.command("import")
    .description("collect recipients' certificates from signed mail and certificate files")
    .argument("<inputs...>", 'signed mail, .p7s/.p7b/.p7c, certificates, folders, mbox, or "-"')
    .option("--key <file...>", "private key(s) for mail signed inside an encrypted message")
    .option("--dry-run", "check and report, write nothing")
    .option("--json", "one JSON object per outcome on stdout"),
).action(async (inputs, options) => {
  setOutput(options);
  if (!options.trust) {
    throw new SmimeError(
      "E_USAGE",
      "keys import needs --trust FILE, $SMIMEPOST_TRUST or trust in the config file " +
        "(only trusted paths import)",
    );
  }
  const trustAnchors = (await loadTrust(options.trust))!;
  const keys = await openKeyStore(options, inputs.includes("-"), trustAnchors);
  const { importJson, importLine, ImportTally } = await import("./core/keys/import.ts");
  const { runImport } = await import("./core/keys/import_inputs.ts");
  const tally = new ImportTally();
  for await (
    const outcome of runImport(inputs, {
      keysDir: options.keys,
      trustAnchors,
      dryRun: Boolean(options.dryRun),
      decryptionKeys: (bytes, source) => keyCandidates(keys, bytes, source, options.key),
    })
  ) {
    tally.add(outcome);
    await printLines([options.json ? JSON.stringify(importJson(outcome)) : importLine(outcome)]);
  }
  exitStatus = tally.exitCode();
});

const configCommand = program.command("config").description("delivery configuration");
withDeliveryOptions(
  configCommand.command("check")
    .description(
      "print the resolved delivery profile, the key folder and trust bundle (and the [nats] " +
        "queue), secrets masked, with where each value came from",
    )
    .option("--json", "one JSON object on stdout (secrets masked)"),
).action(async (options) => {
  const inputs = deliveryInputs(options);
  const delivery = await loadDelivery(inputs);
  const { describeDelivery, deliveryJson } = await import("./core/config/mod.ts");
  const { keyPathLines, keyPathsJson, resolveKeyPaths } = await import(
    "./core/config/key_paths.ts"
  );
  const paths = await resolveKeyPaths(inputs, {});
  const { queueLines, queueJson, queueSettings } = await import("./core/cli/queue.ts");
  const queue = await queueSettings(inputs);
  if (options.json) {
    await printLines([JSON.stringify({
      delivery: delivery ? deliveryJson(delivery) : null,
      ...keyPathsJson(paths),
      queue: queue ? queueJson(queue) : null,
    })]);
    return;
  }
  const lines = delivery
    ? [...describeDelivery(delivery), ...delivery.warnings.map((w) => `warning: ${w}`)]
    : ["no delivery configured: sealed messages go to stdout"];
  lines.push(...keyPathLines(paths));
  if (queue) lines.push(...queueLines(queue));
  await printLines(lines);
});

program.command("sink")
  .description("run a small SMTP server that stores what it receives (a dry-run target)")
  .option("--host <address>", "address to listen on", "127.0.0.1")
  .option("--port <n>", "port to listen on", "2525")
  .option("--dir <folder>", "store each message as ID.eml with its envelope in ID.json")
  .option("--no-strict", "accept bare CR or LF (a strict receiver refuses them: SMTP smuggling)")
  .action(async (options) => {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new SmimeError("E_USAGE", `--port: not a port number: "${options.port}"`);
    }
    if (options.dir) await Deno.mkdir(options.dir, { recursive: true });
    const { startSink } = await import("./core/sink/mod.ts");
    const sink = await startSink({
      host: options.host,
      port,
      dir: options.dir,
      strict: options.strict,
      keep: options.dir ? undefined : 0,
      log: (line) => console.error(line),
    });
    console.error(
      `smimepost sink listening on ${sink.host}:${sink.port}` +
        (options.dir ? `, storing messages in ${options.dir}` : ", counting messages only"),
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
    await sink.close();
    console.error(`smimepost sink: stopped after ${sink.count} message(s)`);
  });

program.command("harvest")
  .description(
    "receive signed mail over HTTP (SparkPost relay webhooks or message/rfc822), check DKIM " +
      "and the signature, and store the senders' certificates in the key folder",
  )
  .option("--listen <host:port>", "address to listen on", "127.0.0.1:8080")
  .option(
    "--keys <dir>",
    "key folder the certificates go into (also $SMIMEPOST_KEYS, keys in the config file)",
    ".",
  )
  .option(
    "--trust <file>",
    "PEM bundle of trust anchors the signers' paths must reach (required; also " +
      "$SMIMEPOST_TRUST, trust in the config file)",
  )
  .option(
    "--token-file <file>",
    "X-MessageSystems-Webhook-Token to require (also $SMIMEPOST_HARVEST_TOKEN)",
  )
  .option("--no-dkim", "accept mail without a DKIM signature aligned with its From domain")
  .option("--dns-server <host:port>", "DNS server for DKIM keys (default: the system's)")
  .option("--max-bytes <n>", "largest request body", String(25 * 1024 * 1024))
  .option("--tls-cert <file>", "serve HTTPS with this certificate chain (PEM)")
  .option("--tls-key <file>", "and this private key (PEM)")
  .action(async (options) => {
    if (!options.trust) {
      throw new SmimeError(
        "E_USAGE",
        "harvest needs --trust FILE ($SMIMEPOST_TRUST, or trust in the config file)",
      );
    }
    const [hostname, port] = hostPort(options.listen, "--listen");
    const maxBytes = Number(options.maxBytes);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new SmimeError("E_USAGE", `--max-bytes: not a size in bytes: "${options.maxBytes}"`);
    }
    if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
      throw new SmimeError("E_USAGE", "--tls-cert and --tls-key go together");
    }
    const token = options.tokenFile
      ? new TextDecoder().decode((await readInput(options.tokenFile)).bytes).trim()
      : Deno.env.get("SMIMEPOST_HARVEST_TOKEN");
    const dns = options.dnsServer ? hostPort(options.dnsServer, "--dns-server") : undefined;
    const trustAnchors = (await loadTrust(options.trust))!;
    const { startHarvest } = await import("./core/harvest/mod.ts");
    const { importHandler } = await import("./core/harvest/importer.ts");
    const server = await startHarvest({
      hostname,
      port,
      token,
      maxBytes,
      tls: options.tlsCert ? { certFile: options.tlsCert, keyFile: options.tlsKey! } : undefined,
      dkim: { required: options.dkim, dnsServer: dns && { ipAddr: dns[0], port: dns[1] } },
      handle: importHandler({ keysDir: options.keys, trustAnchors, dryRun: false }),
      log: (line) => console.error(line),
    });
    console.error(`smimepost harvest listening on ${server.url}, storing into ${options.keys}`);
    await new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", resolve);
      Deno.addSignalListener("SIGTERM", resolve);
    });
    await server.close();
    console.error("smimepost harvest: stopped");
  });

// ------------------------------------------------------------ the queue

const collectValues = (value: string, previous: string[] = []) => [...previous, value];

withQueueOptions(
  program.command("enqueue")
    .description(
      "publish messages as jobs on a NATS JetStream queue, for workers on any node to send",
    )
    .argument("[inputs...]", 'message files, folders of *.eml, or "-" for one message on stdin')
    .option(
      "--config <file>",
      "config file with a [nats] table (default: ./smimepost.toml, then the user's folder)",
    )
    .option("--mbox <file>", 'an mbox file of messages ("-" for stdin); repeatable', collectValues)
    .option(
      "--manifest <file>",
      "JSON Lines: file + envelope and delivery fields; repeatable",
      collectValues,
    )
    .option("--json", "one JSON object with the counts on stdout")
    .option("-v, --verbose", "more detail on errors")
    .option("-q, --quiet", "no warnings"),
).action(async (inputs, options) => {
  const { enqueueCommand } = await import("./core/cli/queue.ts");
  exitStatus = await enqueueCommand(inputs, options);
});

hideOptions(
  withRunOptions(withDeliveryOptions(withKeyOptions(
    withQueueOptions(withSealOptions(
      program.command("worker")
        .description(
          "take jobs from the queue, seal and deliver them as send does, record each outcome",
        ),
    ))
      .option("--node <name>", "this node's name in the results (default: the host name)")
      .option("--until-empty", "exit once nothing is queued and no job is held by any worker")
      .option("--json", "one JSON object per delivered message on stdout")
      .option("--debug-smtp", "print the protocol transcript (secrets redacted) on stderr"),
  ))),
  // send's inputs and journal: refused here, jobs come from the queue.
  ["--mbox", "--manifest", "--journal", "--resume", "--new-journal"],
).action(async (options) => {
  const { workerCommand } = await import("./core/cli/queue.ts");
  exitStatus = await workerCommand(options);
});

withQueueOptions(
  program.command("status")
    .description("show a queued run across all nodes: queued, in flight, and every outcome")
    .option(
      "--config <file>",
      "config file with a [nats] table (default: ./smimepost.toml, then the user's folder)",
    )
    .option("--json", "one JSON object on stdout")
    .option("--report <file>", "write every message's outcome as JSON (as send --report does)")
    .option("-v, --verbose", "more detail on errors")
    .option("-q, --quiet", "no warnings"),
).action(async (options) => {
  const { statusCommand } = await import("./core/cli/queue.ts");
  exitStatus = await statusCommand(options);
});

// ------------------------------------------------------------- examples

/** Two to four examples at the end of each command's --help. */
const EXAMPLES: Record<string, string[]> = {
  send: [
    "smimepost send statement.eml --sign --encrypt > sealed.eml",
    "smimepost statement.eml --sign --send_smtp          # the old form: send is the default",
    "smimepost send statements/ --sign --encrypt --profile pmta --journal run.jsonl",
    "smimepost send --mbox november.mbox --sign --profile sp --json",
  ],
  verify: [
    "smimepost verify sealed.eml --trust ca.pem",
    "smimepost verify inbox/ --trust ca.pem --json",
    "smimepost verify - --key bob@example.com.pem < sealed.eml",
  ],
  decrypt: [
    "smimepost decrypt sealed.eml --key bob@example.com.pem",
    "smimepost decrypt sealed.eml --keys keys/ -o inner.eml",
    "smimepost decrypt sealed.eml --key bob.p12 --json      # who it was for, cipher, signed",
  ],
  show: [
    "smimepost show sealed.eml",
    "smimepost show sealed.eml --key bob@example.com.pem    # look inside the encrypted layer",
    "smimepost show sealed.eml --json",
  ],
  keys: [
    "smimepost keys check --keys keys/",
    "smimepost keys import replies/ partner.p7b --keys keys/ --trust ca.pem",
  ],
  "keys check": [
    "smimepost keys check --keys keys/ --trust ca.pem",
    "SMIMEPOST_KEYS=/srv/smimepost/keys smimepost keys check --json",
  ],
  "keys import": [
    "smimepost keys import inbox.mbox replies/ --keys keys/ --trust ca.pem",
    "smimepost keys import partner.p7b --trust ca.pem --dry-run",
    "smimepost keys import - --trust ca.pem --json < signed.eml",
  ],
  config: [
    "smimepost config check",
    "smimepost config check --profile pmta --json",
  ],
  "config check": [
    "smimepost config check",
    "smimepost config check --config /etc/smimepost/smimepost.toml --profile pmta",
    "smimepost config check --json",
  ],
  sink: [
    "smimepost sink --port 2525 --dir captured/",
    "smimepost sink --host 0.0.0.0 --port 2525 --no-strict",
  ],
  harvest: [
    "smimepost harvest --trust ca.pem --keys keys/",
    "smimepost harvest --listen 0.0.0.0:8443 --trust ca.pem --token-file token \\\n" +
    "    --tls-cert cert.pem --tls-key key.pem",
  ],
  enqueue: [
    "smimepost enqueue statements/ --nats nats://queue.internal:4222 --stream NOV",
    "smimepost enqueue --manifest run.jsonl --stream NOV --json",
  ],
  worker: [
    "smimepost worker --stream NOV --sign --encrypt --profile pmta",
    "smimepost worker --stream NOV --sign --profile pmta --until-empty --json",
  ],
  status: [
    "smimepost status --stream NOV",
    "smimepost status --stream NOV --json --report nov.json",
  ],
};

for (const command of program.commands) {
  for (const sub of [command, ...command.commands]) {
    const path = sub === command ? command.name() : `${command.name()} ${sub.name()}`;
    const examples = EXAMPLES[path];
    if (examples) {
      sub.addHelpText(
        "after",
        `\nExamples:\n${examples.map((e) => `  ${e}`).join("\n")}`,
      );
    }
  }
}

function hostPort(value: string, flag: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) {
    throw new SmimeError("E_USAGE", `${flag}: expected HOST:PORT, not "${value}"`);
  }
  return [m[1], port];
}

// ---------------------------------------------------------------- helpers

/** Where a queued run lives: the NATS server and the stream. */
function withQueueOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option("--nats <url>", "NATS server, nats://host:4222 (default: url in [nats] of the config)")
    .option("--stream <name>", "the run's JetStream stream (default: SMIMEPOST)");
}

/** Leaves options out of a command's --help. */
function hideOptions<C extends { options: readonly Option[] }>(command: C, flags: string[]): C {
  for (const option of command.options) if (flags.includes(option.long ?? "")) option.hideHelp();
  return command;
}

/** The delivery options `send` and `config check` share. */
function withDeliveryOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option(
      "--config <file>",
      "config file (default: ./smimepost.toml, then the user's config folder)",
    )
    .option("--profile <name>", "delivery profile from the config file")
    .option("--send-smtp", "deliver over SMTP using SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD")
    .addOption(new Option("--send_smtp").hideHelp())
    .option(
      "--send-api",
      "deliver through the SparkPost API using SPARKPOST_API_KEY, SPARKPOST_HOST",
    )
    .addOption(new Option("--send_api").hideHelp())
    .option(
      "--option <key=value>",
      "set a profile option (repeatable); beats the environment and the file",
      (value: string, previous: string[] = []) => [...previous, value],
    );
}

/** The options of a run: inputs, concurrency, retries, journal, report. */
function withRunOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  return command
    .option("--mbox <file>", 'an mbox file of messages ("-" for stdin); repeatable', collect)
    .option(
      "--manifest <file>",
      "JSON Lines: file + envelope and delivery fields; repeatable",
      collect,
    )
    .option("--sessions <n>", "delivery sessions (SMTP connections / HTTP requests) at once")
    .option("--window <n>", "messages in flight per session (pipelined over SMTP)")
    .option("--workers <n>", "signing/encryption threads (default: one per core; 0: none)")
    .option("--rate <n>", "at most this many messages a second")
    .option("--retries <n>", "retries of a deferred recipient (default 5; 0 for one message)")
    .option("--retry-max-age <seconds>", "stop retrying a recipient after this long", "600")
    .option("--journal <file>", "append every outcome here, flushed per outcome (for --resume)")
    .option("--resume", "skip what the journal says was done, and send the rest")
    .option(
      "--new-journal",
      "start over: keep a journal that records an earlier run aside as FILE.TIMESTAMP",
    )
    .option("--report <file>", "write every message's outcome as JSON at the end")
    .option(
      "--at-most-once",
      "when a reply is lost after the message went out, report it as possibly delivered " +
        "instead of sending it again (default: send again; it may arrive twice)",
    );
}

/** One file or stdin and nothing that makes a run: the old tool's one-message mode. */
async function isSingleMessage(inputs: string[], options: RunFlags): Promise<boolean> {
  if (inputs.length !== 1 || options.mbox || options.manifest) return false;
  if (inputs[0] === "-") return true;
  try {
    return !(await Deno.stat(inputs[0]!)).isDirectory;
  } catch {
    return true; // reading it reports the error
  }
}

// ------------------------------------------------------------------- main

/** Runs the CLI with `args`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    if (args.length === 0) {
      program.outputHelp();
      return ExitCode.ok;
    }
    if (isVersionRequest(args)) {
      const info = versionInfo();
      await printLines(args.includes("--json") ? [JSON.stringify(info)] : versionLines(info));
      return ExitCode.ok;
    }
    await refuseUnknownCommand(args[0]!);
    await program.parseAsync(args, { from: "user" });
    return exitStatus;
  } catch (err) {
    return reportError(err);
  }
}

/** `-V`, `--version`, either with `--json`, and nothing else. */
function isVersionRequest(args: string[]): boolean {
  const allowed = ["-V", "--version", "--json"];
  return args.some((a) => a === "-V" || a === "--version") &&
    args.every((a) => allowed.includes(a));
}

/**
 * `send` is the default command, so the first argument is either a command
 * or an input. It is taken for a command name only when it looks like one
 * (letters and hyphens: no "/", no ".", not "-") and is not an existing
 * file; an unknown one is then a usage error with a suggestion, not a
 * missing input.
 *
 * @throws {SmimeError} E_USAGE for a word that names no command
 */
async function refuseUnknownCommand(first: string): Promise<void> {
  if (!/^[A-Za-z][A-Za-z-]*$/.test(first)) return;
  const names = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (names.includes(first) || first === "help") return;
  try {
    await Deno.lstat(first);
    return; // a file or folder of that name: an input of send
  } catch {
    // not a file: a command name
  }
  const hint = first.toLowerCase() === "version"
    ? " (did you mean --version?)"
    : ((hit) => hit ? ` (did you mean ${hit}?)` : " (see smimepost --help)")(
      suggest(first, [...names, "help"]),
    );
  throw new SmimeError("E_USAGE", `unknown command "${first}"${hint}`);
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // help and version "errors" are successes; anything else is a usage error
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (isSmimeError(err)) {
    console.error(`smimepost: ${err.message}`);
    if (output.verbose && err.cause) console.error(err.cause);
    return err.exitCode;
  }
  console.error("smimepost: internal error (a bug; please report it with this trace):");
  console.error(err);
  return exitCodeOf(err);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
