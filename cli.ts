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
import type { CipherName, DigestName } from "./core/cms/types.ts";
import { ExitCode, exitCodeOf, isSmimeError, SmimeError } from "./core/errors.ts";
import { readInput, writeFileAtomic, writeStdout } from "./core/io.ts";
import { KeyStore, loadPemBundle } from "./core/keys/mod.ts";
import type { KeyReport } from "./core/keys/mod.ts";
import { envelopeOf, getHeader, parseMessage } from "./core/message/mod.ts";
import { sealMessage } from "./core/pipeline.ts";
import { openMessage } from "./core/smime/open.ts";
import type { KeyCandidates, OpenedLayer } from "./core/smime/open.ts";
import { describeMessage } from "./core/smime/show.ts";

const VERSION = "0.1.0";
const PASSPHRASE_ENV = "SMIMEPOST_PASSPHRASE";

/** Set by --verbose / --quiet on whichever command runs. */
const output = { verbose: false, quiet: false };

function warn(text: string): void {
  if (!output.quiet) console.error(`smimepost: warning: ${text}`);
}

// ---------------------------------------------------------------- options

const digestOption = new Option("--digest <name>", "signing digest")
  .choices(["sha256", "sha384", "sha512"] as const)
  .default("sha256" as const);
const cipherOption = new Option("--cipher <name>", "content encryption")
  .choices(["aes-256-cbc", "aes-128-cbc", "aes-256-gcm", "aes-128-gcm"] as const)
  .default("aes-256-cbc" as const);

/** The key-folder options every command that touches keys shares. */
function withKeyOptions<Args extends unknown[], Opts extends OptionValues>(
  command: Command<Args, Opts>,
) {
  return command
    .option("--keys <dir>", "key folder: ADDRESS.crt, ADDRESS.pem, ADDRESS.p12", ".")
    .option("--trust <file>", "PEM bundle of trust anchors; chains are checked against it")
    .option("--passphrase-file <file>", `private-key passphrase (also $${PASSPHRASE_ENV})`)
    .option(
      "--allow-invalid-cert",
      "let expired, not-yet-valid and self-signed certificates through",
    )
    .option("--allow-insecure-key-permissions", "accept key files readable by group or others")
    .option("-v, --verbose", "more detail on errors")
    .option("-q, --quiet", "no warnings or progress lines");
}

type KeyOptions = {
  keys: string;
  trust?: string;
  passphraseFile?: string;
  allowInvalidCert?: true;
  allowInsecureKeyPermissions?: true;
  verbose?: true;
  quiet?: true;
};

// --------------------------------------------------------------- commands

const program = new Command()
  .name("smimepost")
  .description("Sign and encrypt mail with S/MIME, and hand it to a mail platform.")
  .version(VERSION)
  .exitOverride()
  .configureOutput({ outputError: (text) => console.error(`smimepost: ${text.trim()}`) });

withKeyOptions(
  program.command("send", { isDefault: true })
    .description("seal a message (sign and/or encrypt); with no delivery it goes to stdout")
    .argument("<file>", 'RFC 5322 message file, or "-" for stdin')
    .option("--sign", "sign (opaque application/pkcs7-mime, as before)")
    .option("--sign-detached", "sign as multipart/signed, readable without S/MIME")
    .addOption(new Option("--sign_detached").hideHelp())
    .option("--encrypt", "encrypt to every recipient and to the sender")
    .addOption(digestOption)
    .option("--rsa-pss", "RSA signers use RSASSA-PSS instead of PKCS#1 v1.5")
    .addOption(cipherOption)
    .option("--oaep", "RSA key transport with RSA-OAEP (SHA-256) instead of PKCS#1 v1.5")
    .option("--no-encrypt-to-self", "do not encrypt to the sender's own certificate")
    .option("--bcc-shared", "one encrypted copy for all, Bcc recipients visible to the others")
    .option("-o, --output <file>", "write the sealed message to a file instead of stdout"),
).action(async (file, options) => {
  setOutput(options);
  const detached = Boolean(options.signDetached || options.sign_detached);
  const sign = Boolean(options.sign) || detached;
  const { bytes, source } = await readInput(file);
  const message = parseMessage(bytes, source);
  const keys = await openKeyStore(options, file === "-");
  const result = await sealMessage(message, keys, {
    sign,
    detached,
    encrypt: Boolean(options.encrypt),
    digest: digestName(options.digest),
    rsaPadding: options.rsaPss ? "pss" : "pkcs1",
    cipher: options.cipher as CipherName,
    rsaKeyTransport: options.oaep ? "oaep" : "pkcs1",
    encryptToSelf: options.encryptToSelf,
    bcc: options.bccShared ? "shared" : "separate",
    singleCopy: true,
  });
  result.warnings.forEach(warn);
  if (!sign && !options.encrypt) warn(`${source}: neither --sign nor --encrypt given; sent as is`);
  const [copy] = result.copies;
  if (options.output) await writeFileAtomic(options.output, copy!.bytes);
  else await writeStdout(copy!.bytes);
});

withKeyOptions(
  program.command("verify")
    .description("check who signed a message, that it is intact, and its chain")
    .argument("<file>", 'sealed message, or "-" for stdin')
    .option("--key <file...>", "private key(s) for an encrypted message"),
).action(async (file, options) => {
  setOutput(options);
  const { bytes, source } = await readInput(file);
  const trustAnchors = await loadTrust(options.trust);
  const keys = await openKeyStore(options, file === "-", trustAnchors);
  const opened = await openMessage(bytes, source, {
    trustAnchors,
    keys: keyCandidates(keys, bytes, source, options.key),
  });
  const signed = opened.layers.filter((l) => l.kind === "signed");
  if (signed.length === 0) throw new SmimeError("E_VERIFY", `${source}: not signed`);
  const from = fromAddress(bytes, source);
  let failures = 0;
  const lines: string[] = [];
  for (const layer of opened.layers) {
    const described = layerLines(source, layer, from);
    lines.push(...described.lines);
    failures += described.problems;
  }
  await writeStdout(new TextEncoder().encode(lines.join("\n") + "\n"));
  if (failures > 0) {
    throw new SmimeError("E_VERIFY", `${source}: verification failed (${failures} problem(s))`);
  }
});

withKeyOptions(
  program.command("decrypt")
    .description("decrypt a message and print the MIME entity inside")
    .argument("<file>", 'sealed message, or "-" for stdin')
    .option("--key <file...>", "private key file(s): ADDRESS.pem (with ADDRESS.crt) or .p12")
    .option("-o, --output <file>", "write the entity to a file instead of stdout"),
).action(async (file, options) => {
  setOutput(options);
  const { bytes, source } = await readInput(file);
  const keys = await openKeyStore(options, file === "-");
  const opened = await openMessage(bytes, source, {
    keys: keyCandidates(keys, bytes, source, options.key),
    stopAfterDecrypt: true,
  });
  const decrypted = opened.layers.find((l) => l.kind !== "signed");
  if (!decrypted) throw new SmimeError("E_DECRYPT", `${source}: not encrypted`);
  if (options.output) await writeFileAtomic(options.output, opened.content);
  else await writeStdout(opened.content);
});

withKeyOptions(
  program.command("show")
    .description("print the MIME tree of a message, indented, with its S/MIME layers")
    .argument("<file>", 'message, or "-" for stdin')
    .option("--key <file...>", "private key(s) to look inside encrypted layers"),
).action(async (file, options) => {
  setOutput(options);
  const { bytes, source } = await readInput(file);
  const keys = options.key ? await openKeyStore(options, file === "-") : undefined;
  const lines = await describeMessage(bytes, source, {
    keys: keys && keyCandidates(keys, bytes, source, options.key),
  });
  await writeStdout(new TextEncoder().encode(lines.join("\n") + "\n"));
});

const keysCommand = program.command("keys").description("work with the key folder");
withKeyOptions(
  keysCommand.command("check")
    .description("check every certificate and key in the key folder"),
).action(async (options) => {
  setOutput(options);
  const keys = await openKeyStore(options, false);
  const reports = await keys.check();
  const lines = reports.flatMap(reportLines);
  lines.push(`${reports.length} file(s), ${reports.filter((r) => !r.ok).length} with problems`);
  await writeStdout(new TextEncoder().encode(lines.join("\n") + "\n"));
  if (reports.some((r) => !r.ok)) {
    throw new SmimeError("E_CERT_INVALID", `problems found in ${options.keys}`);
  }
});

// ---------------------------------------------------------------- helpers

function setOutput(options: { verbose?: true; quiet?: true }): void {
  output.verbose = Boolean(options.verbose);
  output.quiet = Boolean(options.quiet);
}

function digestName(option: string): DigestName {
  return option.replace("sha", "SHA-") as DigestName;
}

async function loadTrust(file: string | undefined): Promise<Uint8Array[] | undefined> {
  if (!file) return undefined;
  const { bytes, source } = await readInput(file);
  return loadPemBundle(bytes, source);
}

async function openKeyStore(
  options: KeyOptions,
  stdinIsMessage: boolean,
  trustAnchors?: Uint8Array[],
): Promise<KeyStore> {
  return new KeyStore({
    dir: options.keys,
    trustAnchors: trustAnchors ?? await loadTrust(options.trust),
    passphrase: passphraseSource(options.passphraseFile, stdinIsMessage),
    allowInvalid: Boolean(options.allowInvalidCert),
    allowInsecurePermissions: Boolean(options.allowInsecureKeyPermissions),
  });
}

/**
 * Where a private key's passphrase comes from: --passphrase-file, then
 * $SMIMEPOST_PASSPHRASE, then a prompt on the terminal.
 */
function passphraseSource(file: string | undefined, stdinIsMessage: boolean) {
  let cached: string | undefined;
  return async (keyFile: string): Promise<string | undefined> => {
    if (cached !== undefined) return cached;
    if (file) {
      const { bytes } = await readInput(file);
      cached = new TextDecoder().decode(bytes).replace(/\r?\n$/, "");
    } else if (Deno.env.get(PASSPHRASE_ENV) !== undefined) {
      cached = Deno.env.get(PASSPHRASE_ENV);
    } else {
      cached = await promptSecret(`Passphrase for ${keyFile}: `, stdinIsMessage);
    }
    return cached;
  };
}

/** Asks on the terminal without echo; undefined when there is no terminal. */
async function promptSecret(prompt: string, stdinIsMessage: boolean): Promise<string | undefined> {
  const stdin = Deno.stdin;
  if (stdinIsMessage || !stdin.isTerminal() || !Deno.stderr.isTerminal()) return undefined;
  await Deno.stderr.write(new TextEncoder().encode(prompt));
  stdin.setRaw(true);
  const typed: number[] = [];
  const buf = new Uint8Array(1);
  try {
    for (;;) {
      const n = await stdin.read(buf);
      if (n === null || buf[0] === 13 || buf[0] === 10) break;
      if (buf[0] === 3) {
        throw new SmimeError("E_PASSPHRASE", "interrupted at the passphrase prompt");
      }
      if (buf[0] === 127 || buf[0] === 8) typed.pop();
      else typed.push(buf[0]!);
    }
  } finally {
    stdin.setRaw(false);
    await Deno.stderr.write(new TextEncoder().encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(typed));
}

/** Keys to try on an encrypted layer: --key files, else the recipients' own. */
function keyCandidates(
  keys: KeyStore,
  bytes: Uint8Array,
  source: string,
  files: string[] | undefined,
): KeyCandidates {
  return async () => {
    if (files?.length) return await Promise.all(files.map((f) => keys.recipientKeyFromFile(f)));
    const candidates = [];
    for (const address of messageAddresses(bytes, source)) {
      try {
        candidates.push({ ...await keys.recipientKeysFor(address), file: address });
      } catch (err) {
        if (!isSmimeError(err)) throw err;
      }
    }
    return candidates;
  };
}

/** The To, Cc and From addresses of a message, best effort. */
function messageAddresses(bytes: Uint8Array, source: string): string[] {
  try {
    const envelope = envelopeOf(parseMessage(bytes, source));
    return [...envelope.recipients, envelope.sender];
  } catch {
    return [];
  }
}

function fromAddress(bytes: Uint8Array, source: string): string | undefined {
  try {
    const message = parseMessage(bytes, source);
    return getHeader(message, "From") ? envelopeOf(message).sender : undefined;
  } catch {
    return undefined;
  }
}

/** The lines describing one opened layer, and how many problems it has. */
function layerLines(
  source: string,
  layer: OpenedLayer,
  from: string | undefined,
): { lines: string[]; problems: number } {
  if (layer.kind !== "signed") {
    return { lines: [`${source}: ${layer.kind}, opened with ${layer.decryptedWith}`], problems: 0 };
  }
  const form = layer.detached ? "multipart/signed" : "opaque";
  if (layer.result.signers.length === 0) {
    return { lines: [`${source}: signed (${form}) but has no signers`], problems: 1 };
  }
  const lines: string[] = [];
  let problems = 0;
  const problem = (line: string) => {
    lines.push(line);
    problems++;
  };
  for (const signer of layer.result.signers) {
    const who = signer.emailAddresses.join(", ") || signer.subject || "unknown signer";
    const when = signer.signingTime
      ? ` at ${signer.signingTime.toISOString().replace(/\.\d{3}Z$/, "Z")}`
      : "";
    lines.push(
      `${source}: signed (${form}) by ${who}${when}, ` +
        `${signer.digestAlgorithm} with ${signer.signatureAlgorithm}`,
      `  subject: ${signer.subject}`,
    );
    if (signer.signatureValid) lines.push("  signature: intact");
    else problem(`  signature: BROKEN (${signer.signatureError ?? "does not verify"})`);
    if (signer.chain === "trusted") lines.push("  chain: trusted");
    else if (signer.chain === "unchecked") lines.push("  chain: not checked (no --trust given)");
    else problem(`  chain: NOT trusted (${signer.chainError ?? "no path to a trust anchor"})`);
    if (from && !signer.emailAddresses.includes(from.toLowerCase())) {
      problem(`  from: ${from} is not an address of the signer's certificate`);
    }
  }
  return { lines, problems };
}

function reportLines(report: KeyReport): string[] {
  const head = `${report.ok ? "ok     " : "PROBLEM"} ${report.file}: ${report.summary}`;
  return [
    head,
    ...report.problems.map((p) => `        problem: ${p}`),
    ...report.warnings.map((w) => `        warning: ${w}`),
  ];
}

// ------------------------------------------------------------------- main

/** Runs the CLI with `args`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    await program.parseAsync(args, { from: "user" });
    return ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
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
