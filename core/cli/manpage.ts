/**
 * The smimepost(1) manual page in roff (man(7) macros), made from the
 * command tree: every visible command with its description, arguments,
 * options (help text, choices, defaults) and the examples of its --help,
 * then the exit statuses of core/errors.ts, the environment and the config
 * file's places. No date in the title line, so the page is the same bytes
 * for the same version.
 *
 * @module
 */
import type { CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { ExitCode } from "../errors.ts";
import { defaultCommandOf } from "./completions.ts";
import { PASSPHRASE_ENV } from "./options.ts";
import { VERSION } from "./version.ts";

/** What each exit status means, as the README's table says. */
const EXIT_MEANINGS: Record<keyof typeof ExitCode, string> = {
  ok: "done: every recipient of every message accepted",
  partial: "partial: some messages or recipients were accepted, some not",
  usage: "usage: unknown flag, conflicting flags, a used journal without --resume",
  dataErr: "bad data: an unusable message, certificate or key, a signature that does not " +
    "verify, a message that can't be decrypted, recipients refused by the server",
  noInput: "an input file is missing or unreadable",
  noUser: "no certificate or key for an address",
  unavailable: "the server could not be reached (connection refused, TLS verification failed)",
  internal: "internal error (a bug: the only case that prints a stack trace)",
  ioErr: "output could not be written",
  tempFail: "temporary failure: deferred until the retries ran out, or possibly delivered",
  noPerm: "permission: wrong or missing passphrase, key file readable by others, AUTH or " +
    "API key refused",
  config: "configuration error",
};

/** The environment variables smimepost reads, and what for. */
const ENVIRONMENT: [string, string][] = [
  ["SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD", "the SMTP server of --send-smtp"],
  ["SMTP_TLS", "TLS for --send-smtp: auto, require, never or implicit"],
  ["SMTP_CA_FILE", "PEM bundle that the SMTP server's certificate is checked against"],
  ["SPARKPOST_API_KEY, SPARKPOST_HOST", "the SparkPost API of --send-api"],
  ["SMIMEPOST_KEYS", "the key folder, when --keys is not given"],
  ["SMIMEPOST_TRUST", "the trust-anchor bundle, when --trust is not given"],
  [PASSPHRASE_ENV, "the private-key passphrase, when --passphrase-file is not given"],
  [
    "SMIMEPOST_NATS_URL, SMIMEPOST_NATS_STREAM, SMIMEPOST_NATS_USER, SMIMEPOST_NATS_PASSWORD, " +
    "SMIMEPOST_NATS_TOKEN, SMIMEPOST_NATS_CREDS",
    "the job queue of enqueue, worker and status; they beat the [nats] table of the config file",
  ],
  ["SMIMEPOST_HARVEST_TOKEN", "the webhook token harvest requires, when --token-file is not given"],
  ["SMIMEPOST_NO_FFI", "1: do not load libcrypto; sign and encrypt with Deno's own crypto"],
  ["XDG_CONFIG_HOME, HOME", "where the per-user config file is looked for"],
];

/** The manual page of `program`, in roff. */
export function manPage(program: CommandUnknownOpts): string {
  const name = program.name();
  const [prose, examples] = splitExamples(afterHelp(program));
  const lines = [
    `.\\" ${name}(1), made by "${name} man" from the command tree.`,
    `.TH ${name.toUpperCase()} 1 "" "${name} ${VERSION}" "User Commands"`,
    ".SH NAME",
    `${name} \\- ${
      text(program.description().replace(/^./, (c) => c.toLowerCase()).replace(/\.$/, ""))
    }`,
    ".SH SYNOPSIS",
    ".nf",
    ...defaultSynopsis(program),
    ...commandsOf(program).filter((c) => c.commands.length === 0).map(synopsis),
    ".fi",
    ".SH DESCRIPTION",
    text(program.description()),
    ...paragraphs(prose),
    ".SH OPTIONS",
    ...options(program),
    ".SH COMMANDS",
    ...commandsOf(program).flatMap(commandSection),
    ...(examples.length ? [".SH EXAMPLES", ...exampleBlock(examples)] : []),
    ".SH EXIT STATUS",
    ...(Object.keys(ExitCode) as (keyof typeof ExitCode)[])
      .sort((a, b) => ExitCode[a] - ExitCode[b])
      .flatMap((key) => [".TP", `.B ${ExitCode[key]}`, text(EXIT_MEANINGS[key])]),
    ".SH ENVIRONMENT",
    ...ENVIRONMENT.flatMap(([names, what]) => [".TP", `\\fB${code(names)}\\fR`, text(what)]),
    ".SH FILES",
    ".TP",
    "\\fI./smimepost.toml\\fR",
    text("the config file in the current folder, read first (--config FILE names another)"),
    ".TP",
    "\\fI$XDG_CONFIG_HOME/smimepost/smimepost.toml\\fR, \\fI~/.config/smimepost/smimepost.toml\\fR",
    "the per-user config file, read when the current folder has none",
    ".SH SEE ALSO",
    "\\fBopenssl\\-cms\\fR(1)",
  ];
  return lines.join("\n") + "\n";
}

/**
 * Every visible command under `command`, depth first, without `command`.
 * The implicit `help` command is left out: --help says the same, and
 * commander makes it without a parent.
 */
function commandsOf(command: CommandUnknownOpts): CommandUnknownOpts[] {
  return command.createHelp().visibleCommands(command)
    .filter((sub) => command.commands.includes(sub))
    .flatMap((sub) => [sub, ...commandsOf(sub)]);
}

/** `smimepost [options] [inputs...]`: the default command's usage without its name. */
function defaultSynopsis(program: CommandUnknownOpts): string[] {
  const name = defaultCommandOf(program);
  const command = program.commands.find((c) => c.name() === name);
  if (!command) return [];
  const usage = command.createHelp().commandUsage(command);
  return [`\\fB${code(program.name())}\\fR ${code(usage.slice(fullName(command).length).trim())}`];
}

function synopsis(command: CommandUnknownOpts): string {
  const usage = command.createHelp().commandUsage(command);
  const path = fullName(command);
  return `\\fB${code(path)}\\fR ${code(usage.slice(path.length).trim())}`;
}

/** A command's section: description, arguments, options, examples. */
function commandSection(command: CommandUnknownOpts): string[] {
  const help = command.createHelp();
  const [prose, examples] = splitExamples(afterHelp(command));
  const args = help.visibleArguments(command).flatMap((argument) => [
    ".TP",
    `\\fI${code(argument.name())}\\fR`,
    text(help.argumentDescription(argument)),
  ]);
  const flags = command.commands.length > 0 ? [] : options(command);
  return [
    `.SS "${fullName(command)}"`,
    text(help.commandDescription(command)),
    ...paragraphs(prose),
    ...(args.length === 0 ? [] : [".PP", "Arguments:", ...args]),
    ...(flags.length === 0 ? [] : [".PP", "Options:", ...flags]),
    ...(examples.length === 0 ? [] : [".PP", "Examples:", ...exampleBlock(examples)]),
  ];
}

/** The options of `command`, each a tagged paragraph; --help only on the program. */
function options(command: CommandUnknownOpts): string[] {
  const help = command.createHelp();
  return help.visibleOptions(command)
    .filter((o) => !command.parent || o.long !== "--help")
    .flatMap((o) => [".TP", optionTerm(o), text(help.optionDescription(o))]);
}

function optionTerm(option: Option): string {
  const names = [option.short, option.long].filter((f): f is string => !!f)
    .map((f) => `\\fB${code(f)}\\fR`).join(", ");
  const value = /[<[][^>\]]+[>\]]/.exec(option.flags)?.[0];
  return value ? `${names} \\fI${code(value)}\\fR` : names;
}

function exampleBlock(examples: string[]): string[] {
  return [".PP", ".RS 4", ".nf", ...examples.map(code), ".fi", ".RE"];
}

function fullName(command: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** The text a command's --help prints after the built-in part (its examples). */
function afterHelp(command: CommandUnknownOpts): string {
  const saved = { ...command.configureOutput() };
  let output = "";
  command.configureOutput({ writeOut: (s) => output += s, writeErr: (s) => output += s });
  try {
    command.outputHelp();
  } finally {
    command.configureOutput(saved);
  }
  return output.slice(command.helpInformation().length);
}

/** The prose of an after-help text and its example lines. */
function splitExamples(after: string): [string, string[]] {
  const [prose = "", examples = ""] = after.split(/^Examples:\n/m);
  const lines = examples.trimEnd().split("\n").map((l) => l.replace(/^ {2}/, ""));
  return [prose.trim(), lines.filter((l) => l.trim())];
}

function paragraphs(prose: string): string[] {
  if (!prose) return [];
  return prose.split(/\n\s*\n/).flatMap((
    p,
  ) => [".PP", ...p.split("\n").map((l) => text(l.trim()))]);
}

/** Roff-safe text: backslashes, a leading dot or quote, and the hyphens of options. */
function text(value: string): string {
  const escaped = value.replaceAll("\\", "\\e")
    .replace(/(^|[\s("'=[])(-[-\w]*)/g, (_, before, word) => before + word.replaceAll("-", "\\-"));
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** Roff-safe literal text (commands, option names): every hyphen a minus. */
function code(value: string): string {
  const escaped = value.replaceAll("\\", "\\e").replaceAll("-", "\\-");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}
