/**
 * Shell completion scripts for bash, zsh and fish, made from the command
 * tree when asked: every visible command, subcommand, option, option choice
 * and file argument comes from commander, so a new command or flag is
 * completed without a change here. Hidden options (the old spellings such
 * as --send_smtp) are left out, as they are of --help.
 *
 * @module
 */
import type { CommandUnknownOpts, Option } from "@commander-js/extra-typings";
import { collect } from "./options.ts";

/** What a value is completed with: files, folders, fixed choices, or nothing. */
export type ValueKind = "file" | "dir" | "choice" | "word";

/** An option as the generators see it. */
export interface OptionSpec {
  short?: string;
  long?: string;
  description: string;
  /** The value's name ("file", "name"), when the option takes one. */
  value?: string;
  kind: ValueKind;
  choices: readonly string[];
  /** Variadic, or collected (options.ts's collect): may be given more than once. */
  isRepeatable: boolean;
}

/** A positional argument as the generators see it. */
export interface ArgumentSpec {
  name: string;
  isRequired: boolean;
  isVariadic: boolean;
  kind: ValueKind;
  choices: readonly string[];
}

/** A command as the generators see it; the program is the one with an empty path. */
export interface CommandSpec {
  /** The words that name it after the program: [], ["send"], ["keys", "check"]. */
  path: string[];
  description: string;
  options: OptionSpec[];
  arguments: ArgumentSpec[];
  commands: CommandSpec[];
  /** The subcommand run when the first argument names none (send). */
  defaultCommand?: string;
}

/** The visible command tree under `command`. */
export function describeTree(command: CommandUnknownOpts, path: string[] = []): CommandSpec {
  const help = command.createHelp();
  return {
    path,
    description: command.description(),
    options: help.visibleOptions(command).map(describeOption),
    arguments: help.visibleArguments(command).map((argument) => ({
      name: argument.name(),
      isRequired: argument.required,
      isVariadic: argument.variadic,
      kind: argument.argChoices ? "choice" : kindOfName(argument.name()),
      choices: argument.argChoices ?? [],
    })),
    commands: help.visibleCommands(command).map((sub) => describeTree(sub, [...path, sub.name()])),
    defaultCommand: defaultCommandOf(command),
  };
}

/** The name of the subcommand `command` runs when none is named (send), if any. */
export function defaultCommandOf(command: CommandUnknownOpts): string | undefined {
  // commander has no getter for it, only this field.
  return (command as unknown as { _defaultCommandName?: string | null })._defaultCommandName ??
    undefined;
}

function describeOption(option: Option): OptionSpec {
  const value = /[<[]([^>\]]+?)(\.\.\.)?[>\]]/.exec(option.flags)?.[1];
  const choices = option.argChoices ?? [];
  return {
    short: option.short,
    long: option.long,
    description: option.description,
    value,
    kind: value === undefined ? "word" : choices.length > 0 ? "choice" : kindOfName(value),
    choices,
    isRepeatable: option.variadic || option.parseArg === (collect as Option["parseArg"]),
  };
}

/** A value named like a file (file, path, inputs) or a folder (dir, folder). */
function kindOfName(name: string): ValueKind {
  if (/^(dir|folder)s?$/.test(name)) return "dir";
  if (/file|path|input/.test(name)) return "file";
  return "word";
}

/** Every command under `spec`, depth first, without the program itself. */
function allCommands(spec: CommandSpec): CommandSpec[] {
  return spec.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

function optionWords(spec: { options: OptionSpec[] }): string[] {
  return spec.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
}

/**
 * The default command, and the program's own options it lacks (--version):
 * where the default command's options are offered, these are too.
 */
function defaultOf(root: CommandSpec): { fallback?: CommandSpec; rootOnly: OptionSpec[] } {
  const fallback = root.commands.find((c) => c.path[0] === root.defaultCommand);
  if (!fallback) return { rootOnly: [] };
  const taken = optionWords(fallback);
  return { fallback, rootOnly: root.options.filter((o) => !taken.includes(o.long ?? o.short!)) };
}

/** "file" or "dir" when the command takes paths as arguments. */
function fileArgumentKind(spec: CommandSpec): ValueKind | undefined {
  return spec.arguments.find((a) => a.kind === "file" || a.kind === "dir")?.kind;
}

/** A word for a shell script: as it is when plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w.,:@%+=/-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

// bash ----------------------------------------------------------------------

/** The bash completion script: `complete -F _smimepost smimepost`. */
export function bashScript(program: CommandUnknownOpts): string {
  const root = describeTree(program);
  const name = program.name();
  const fn = `_${name.replaceAll("-", "_")}`;
  const withSubcommands = allCommands(root).filter((c) => c.commands.length > 0);
  const { rootOnly } = defaultOf(root);
  const subPatterns = withSubcommands.flatMap((parent) =>
    parent.commands.map((sub) => `"${sub.path.join(" ")}"`)
  );
  const lines = [
    `# bash completion for ${name}, made by "${name} completions bash".`,
    `# Load it with: source <(${name} completions bash)`,
    "",
    `${fn}_reply() {`,
    `  mapfile -t -O "\${#COMPREPLY[@]}" COMPREPLY < <(compgen "$@" -- "$cur")`,
    "}",
    "",
    `${fn}() {`,
    `  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD - 1]}`,
    `  local command=${shellWord(root.defaultCommand ?? "")} options="" words="" files=""`,
    "  COMPREPLY=()",
    "  # The command: the first word when it names one, then a subcommand of it.",
    "  if ((COMP_CWORD > 1)); then",
    "    case ${COMP_WORDS[1]} in",
    `      ${root.commands.map((c) => c.path[0]).join(" | ")}) command=\${COMP_WORDS[1]} ;;`,
    "    esac",
    "  fi",
    ...(subPatterns.length === 0 ? [] : [
      "  if ((COMP_CWORD > 2)); then",
      '    case "$command ${COMP_WORDS[2]}" in',
      `      ${subPatterns.join(" | ")}) command+=" \${COMP_WORDS[2]}" ;;`,
      "    esac",
      "  fi",
    ]),
    "  case $command in",
    ...[...(root.defaultCommand ? [] : [root]), ...allCommands(root)]
      .flatMap((spec) => bashCase(spec, fn)),
    "  esac",
    "  if [[ $cur == -* ]]; then",
    `    ${fn}_reply -W "$options"`,
    ...(rootOnly.length === 0 ? [] : [
      `    ((COMP_CWORD == 1)) && ${fn}_reply -W ${
        shellWord(optionWords({ options: rootOnly }).join(" "))
      }`,
    ]),
    "  elif ((COMP_CWORD == 1)); then",
    `    ${fn}_reply -W ${shellWord(root.commands.map((c) => c.path[0]).join(" "))}`,
    ...(root.defaultCommand ? ["    compopt -o filenames 2>/dev/null", `    ${fn}_reply -f`] : []),
    "  elif [[ -n $words ]]; then",
    `    ${fn}_reply -W "$words"`,
    "  elif [[ -n $files ]]; then",
    "    compopt -o filenames 2>/dev/null",
    `    ${fn}_reply "-$files"`,
    "  fi",
    "}",
    "",
    `complete -F ${fn} ${name}`,
  ];
  return lines.join("\n") + "\n";
}

/** One arm of the `case $command`: the values after an option, then the words. */
function bashCase(spec: CommandSpec, fn: string): string[] {
  // Options whose values complete alike share one arm: `--trust | --config) ...`.
  const arms = new Map<string, string[]>();
  for (const option of spec.options.filter((o) => o.value !== undefined)) {
    const reply = option.kind === "choice"
      ? `${fn}_reply -W ${shellWord(option.choices.join(" "))}`
      : option.kind === "file" || option.kind === "dir"
      ? `compopt -o filenames 2>/dev/null; ${fn}_reply -${option.kind === "dir" ? "d" : "f"}`
      : ":";
    const flags = [option.short, option.long].filter((f): f is string => !!f);
    arms.set(reply, [...arms.get(reply) ?? [], ...flags]);
  }
  const files = fileArgumentKind(spec);
  // The words an argument may be: a subcommand's name, or one of its choices.
  const words = spec.commands.length > 0
    ? spec.commands.map((c) => c.path.at(-1)!)
    : spec.arguments.flatMap((a) => a.choices);
  const assignments = [
    `options=${shellWord(optionWords(spec).join(" "))}`,
    ...(words.length > 0 ? [`words=${shellWord(words.join(" "))}`] : []),
    ...(files ? [`files=${files === "dir" ? "d" : "f"}`] : []),
  ];
  return [
    `    ${shellWord(spec.path.join(" "))})`,
    ...(arms.size === 0 ? [] : [
      "      case $prev in",
      ...[...arms].map(([reply, flags]) => `        ${flags.join(" | ")}) ${reply}; return ;;`),
      "      esac",
    ]),
    `      ${assignments.join(" ")}`,
    "      ;;",
  ];
}

// zsh -----------------------------------------------------------------------

/** The zsh completion script: a #compdef function using _arguments and _describe. */
export function zshScript(program: CommandUnknownOpts): string {
  const root = describeTree(program);
  const name = program.name();
  const fnOf = (spec: CommandSpec) => ["", name, ...spec.path].join("_").replaceAll("-", "_");
  const lines = [
    `#compdef ${name}`,
    `# zsh completion for ${name}, made by "${name} completions zsh".`,
    `# Install it with: ${name} completions zsh > "\${fpath[1]}/_${name}"`,
  ];
  for (const spec of [...allCommands(root), root]) {
    lines.push("", `${fnOf(spec)}() {`, ...zshBody(spec, fnOf, name), "}");
  }
  lines.push(
    "",
    `if [[ $funcstack[1] == ${fnOf(root)} ]]; then`,
    `  ${fnOf(root)} "$@"`,
    "else",
    `  compdef ${fnOf(root)} ${name}`,
    "fi",
  );
  return lines.join("\n") + "\n";
}

/** A command's function: _describe its subcommands, or _arguments its options. */
function zshBody(
  spec: CommandSpec,
  fnOf: (spec: CommandSpec) => string,
  name: string,
): string[] {
  if (spec.commands.length === 0) {
    const specs = [...spec.options.map(zshOption), ...spec.arguments.map(zshArgument)];
    return [
      "  _arguments -s -S \\",
      ...specs.map((s, i) => `    ${s}${i < specs.length - 1 ? " \\" : ""}`),
    ];
  }
  const label = [name, ...spec.path].join(" ");
  const { fallback, rootOnly } = defaultOf(spec);
  const described = (word: string, description: string) =>
    `    ${zshQuote(`${word.replaceAll(":", "\\:")}:${description}`)}`;
  return [
    "  local -a commands=(",
    ...spec.commands.map((c) => described(c.path.at(-1)!, c.description)),
    "  )",
    ...(rootOnly.length === 0 ? [] : [
      "  local -a options=(",
      ...rootOnly.flatMap((o) =>
        [o.short, o.long].filter((f): f is string => !!f).map((f) => described(f, o.description))
      ),
      "  )",
      "  if ((CURRENT == 2)) && [[ $PREFIX == -* ]]; then",
      `    _describe -t options ${zshQuote(`${label} option`)} options`,
      "  fi",
    ]),
    "  if ((CURRENT == 2)) && [[ $PREFIX != -* ]]; then",
    `    _describe -t commands ${zshQuote(`${label} command`)} commands`,
    // The default command takes files where a command name may stand.
    ...(fallback && fileArgumentKind(fallback) ? ["    _files"] : []),
    "    return",
    "  fi",
    "  case $words[2] in",
    ...spec.commands.map((c) => `    ${c.path.at(-1)}) shift words; ((CURRENT--)); ${fnOf(c)} ;;`),
    ...(fallback ? [`    *) ${fnOf(fallback)} ;;`] : []),
    "  esac",
  ];
}

function zshOption(option: OptionSpec): string {
  const explanation = `[${option.description.replace(/[\\[\]]/g, (c) => `\\${c}`)}]`;
  const value = option.value === undefined
    ? ""
    : `:${zshEscape(option.value)}:${zshAction(option)}`;
  if (option.short && option.long) {
    const names = option.value === undefined
      ? `{${option.short},${option.long}}`
      : `{${option.short}+,${option.long}=}`;
    const exclusion = option.isRepeatable ? "'*'" : `'(${option.short} ${option.long})'`;
    return `${exclusion}${names}${zshQuote(explanation + value)}`;
  }
  const flag = option.long ?? option.short!;
  const suffix = option.value === undefined ? "" : option.long ? "=" : "+";
  return zshQuote(`${option.isRepeatable ? "*" : ""}${flag}${suffix}${explanation}${value}`);
}

function zshArgument(argument: ArgumentSpec): string {
  const position = argument.isVariadic ? "*:" : argument.isRequired ? ":" : "::";
  return zshQuote(`${position}${zshEscape(argument.name)}:${zshAction(argument)}`);
}

function zshAction(value: { kind: ValueKind; choices: readonly string[] }): string {
  switch (value.kind) {
    case "choice":
      return `(${value.choices.join(" ")})`;
    case "file":
      return "_files";
    case "dir":
      return "_files -/";
    case "word":
      return " ";
  }
}

/** Colons and backslashes quoted for a message or name in an _arguments spec. */
function zshEscape(text: string): string {
  return text.replace(/[\\:]/g, (c) => `\\${c}`);
}

function zshQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

// fish ----------------------------------------------------------------------

/** The fish completion script: `complete -c smimepost` lines. */
export function fishScript(program: CommandUnknownOpts): string {
  const root = describeTree(program);
  const name = program.name();
  const topNames = root.commands.map((c) => c.path[0]!);
  const lines = [
    `# fish completion for ${name}, made by "${name} completions fish".`,
    `# Install it with: ${name} completions fish > ~/.config/fish/completions/${name}.fish`,
    `complete -c ${name} -f`,
  ];
  for (const sub of root.commands) {
    lines.push(
      `complete -c ${name} -n __fish_use_subcommand -a ${fishQuote(sub.path[0]!)} ` +
        `-d ${fishQuote(sub.description)}`,
    );
  }
  for (const spec of allCommands(root)) {
    const isDefault = spec.path.length === 1 && spec.path[0] === root.defaultCommand;
    // The default command runs when no other is named: "smimepost FILE --sign".
    const seen = isDefault
      ? [`not __fish_seen_subcommand_from ${topNames.filter((n) => n !== spec.path[0]).join(" ")}`]
      : spec.path.map((word) => `__fish_seen_subcommand_from ${word}`);
    const subNames = spec.commands.map((c) => c.path.at(-1)!);
    const when = fishQuote(
      [
        ...seen,
        ...(subNames.length ? [`not __fish_seen_subcommand_from ${subNames.join(" ")}`] : []),
      ]
        .join("; and "),
    );
    for (const sub of spec.commands) {
      lines.push(
        `complete -c ${name} -n ${when} -a ${fishQuote(sub.path.at(-1)!)} ` +
          `-d ${fishQuote(sub.description)}`,
      );
    }
    for (const option of spec.options) {
      lines.push(`complete -c ${name} -n ${when}${fishOption(option)}`);
    }
    if (fileArgumentKind(spec)) lines.push(`complete -c ${name} -n ${when} -F`);
    const choices = spec.arguments.flatMap((a) => a.choices);
    if (choices.length) {
      lines.push(`complete -c ${name} -n ${when} -a ${fishQuote(choices.join(" "))}`);
    }
  }
  return lines.join("\n") + "\n";
}

function fishOption(option: OptionSpec): string {
  const names = [
    option.short ? ` -s ${option.short.slice(1)}` : "",
    option.long ? ` -l ${option.long.slice(2)}` : "",
  ].join("");
  const value = option.value === undefined
    ? ""
    : option.kind === "choice"
    ? ` -x -a ${fishQuote(option.choices.join(" "))}`
    : option.kind === "file"
    ? " -r -F"
    : option.kind === "dir"
    ? " -x -a '(__fish_complete_directories)'"
    : " -x";
  return `${names}${value} -d ${fishQuote(option.description)}`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}
