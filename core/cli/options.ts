/**
 * The option groups commands share (keys, sealing, delivery, a run, the
 * queue), and the help helpers: examples at the end of a command's help,
 * options left out of it.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { OptionValues } from "@commander-js/extra-typings";

/** The variable a private key's passphrase may come from. */
export const PASSPHRASE_ENV = "SMIMEPOST_PASSPHRASE";

/** How a command's action hands its exit status to `main`. */
export type SetStatus = (status: number) => void;

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The key-folder options every command that touches keys shares. */
export function withKeyOptions<Args extends unknown[], Opts extends OptionValues>(
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
    .option("-v, --verbose", "more detail: every message's lines in a run, causes of errors")
    .option("-q, --quiet", "no warnings or progress lines");
}

/** The sealing options of `send` and `worker`. */
export function withSealOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option("--sign", "sign (opaque application/pkcs7-mime, as before)")
    .option(
      "--sign-detached",
      "sign as multipart/signed, readable without S/MIME (also --sign_detached)",
    )
    .addOption(new Option("--sign_detached").hideHelp())
    .option("--encrypt", "encrypt to every recipient and to the sender")
    .addOption(
      new Option("--digest <name>", "signing digest")
        .choices(["sha256", "sha384", "sha512"] as const)
        .default("sha256" as const),
    )
    .option("--rsa-pss", "RSA signers use RSASSA-PSS instead of PKCS#1 v1.5")
    .addOption(
      new Option(
        "--cipher <name>",
        "content cipher for every copy (default: per copy, GCM only when all its recipients " +
          "announced it, else aes-256-cbc)",
      ).choices(["aes-256-cbc", "aes-128-cbc", "aes-256-gcm", "aes-128-gcm"] as const),
    )
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

/** The delivery options `send`, `worker` and `config check` share. */
export function withDeliveryOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option(
      "--config <file>",
      "config file (default: ./smimepost.toml, then the user's config folder)",
    )
    .option("--profile <name>", "delivery profile from the config file")
    .option(
      "--send-smtp",
      "deliver over SMTP using SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD (also --send_smtp)",
    )
    .addOption(new Option("--send_smtp").hideHelp())
    .option(
      "--send-api",
      "deliver through the SparkPost API using SPARKPOST_API_KEY, SPARKPOST_HOST (also --send_api)",
    )
    .addOption(new Option("--send_api").hideHelp())
    .option(
      "--option <key=value>",
      "set a profile option (repeatable); beats the environment and the file",
      collect,
    );
}

/** Inputs beyond files and folders, for `send` and `enqueue`: mbox files and manifests. */
export function withInputOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option("--mbox <file>", 'an mbox file of messages ("-" for stdin); repeatable', collect)
    .option(
      "--manifest <file>",
      "JSON Lines: file + envelope and delivery fields; repeatable",
      collect,
    );
}

/** The options of a run: inputs, concurrency, retries, journal, report. */
export function withRunOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return withInputOptions(command)
    .option(
      "--sessions <n>",
      "delivery sessions (SMTP connections / HTTP requests) at once (default: the plugin's, " +
        "4 or 8; 1 for one message)",
    )
    .option(
      "--window <n>",
      "messages in flight per session, pipelined over SMTP (default: the plugin's, 4 for SMTP)",
    )
    .option("--workers <n>", "signing/encryption threads (default: one per core; 0: none)")
    .option("--rate <n>", "at most this many messages a second (default: no limit)")
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

/** Where a queued run lives: the NATS server and the stream. */
export function withQueueOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option("--nats <url>", "NATS server, nats://host:4222 (default: url in [nats] of the config)")
    .option("--stream <name>", "the run's JetStream stream (default: SMIMEPOST)");
}

/** Leaves options out of a command's --help. */
export function hideOptions<C extends { options: readonly Option[] }>(
  command: C,
  flags: string[],
): C {
  for (const option of command.options) if (flags.includes(option.long ?? "")) option.hideHelp();
  return command;
}

/** Two to four examples at the end of a command's --help. */
export function withExamples<C extends { addHelpText(position: "after", text: string): unknown }>(
  command: C,
  examples: string[],
): C {
  command.addHelpText("after", `\nExamples:\n${examples.map((e) => `  ${e}`).join("\n")}`);
  return command;
}
