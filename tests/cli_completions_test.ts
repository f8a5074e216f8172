/**
 * `smimepost completions bash|zsh|fish` and `smimepost man`, through the
 * real CLI: each script is loaded by its own shell and asked to complete
 * (bash and fish) or parsed (zsh); the page is formatted by groff, which
 * must not warn, and shown by man when there is one.
 */
import { assert, assertEquals, assertIncludes } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import { CLEAN_ENV } from "./support/batch.ts";
import { ExitCode } from "../core/errors.ts";

const HIDDEN = ["--send_smtp", "--send_api", "--sign_detached", "--stdout"];

/** What `smimepost ARGS` printed on stdout; it must exit 0 and print nothing on stderr. */
async function generated(args: string[]): Promise<string> {
  const run = await runCli(args, { env: CLEAN_ENV });
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stderr, "");
  return run.text;
}

/** Runs a program; returns its exit code, stdout and stderr. */
async function exec(program: string, args: string[], options: { cwd?: string } = {}) {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd: options.cwd,
    // A completion that waits for input never ends by itself.
    signal: AbortSignal.timeout(60_000),
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: options.cwd ?? "/nonexistent" },
    clearEnv: true,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** `script` saved beside a scratch folder holding `files` (a name ending in "/" is a folder). */
async function withScript<T>(
  script: string,
  files: string[],
  use: (path: string, dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-completions-" });
  try {
    for (const file of files) {
      if (file.endsWith("/")) await Deno.mkdir(`${dir}/${file}`);
      else await Deno.writeTextFile(`${dir}/${file}`, "");
    }
    await Deno.writeTextFile(`${dir}.script`, script);
    return await use(`${dir}.script`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}.script`).catch(() => {});
  }
}

/** The flags a command's --help lists under "Options:". */
async function helpFlags(command: string[]): Promise<string[]> {
  const help = await generated([...command, "--help"]);
  const options = help.split("\nOptions:\n")[1]!.split(/\n\n|\nCommands:\n/)[0]!;
  return [...options.matchAll(/^ {2}(?:(-\w), )?(--[\w-]+)/gm)]
    .flatMap((m) => [m[1], m[2]]).filter((f): f is string => f !== undefined).sort();
}

// bash -------------------------------------------------------------------------

/** COMPREPLY for the command line `line` (the word under the cursor is the last one). */
async function bashComplete(script: string, dir: string, line: string): Promise<string[]> {
  const drive = 'source "$1"; read -ra COMP_WORDS <<< "$2"; [[ $2 == *" " ]] && COMP_WORDS+=("");' +
    ' COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _smimepost; printf "%s\\n" "${COMPREPLY[@]}"';
  const run = await exec("bash", ["--norc", "--noprofile", "-c", drive, "_", script, line], {
    cwd: dir,
  });
  assertEquals(run.stderr, "", line);
  assertEquals(run.code, 0, line);
  return run.stdout.split("\n").filter((word) => word !== "").sort();
}

Deno.test("completions bash: commands, subcommands, options, choices; hidden options never", async () => {
  const script = await generated(["completions", "bash"]);
  await withScript(script, [], async (path, dir) => {
    const cases: [string, string[]][] = [
      ["smimepost ke", ["keys"]],
      ["smimepost keys ", ["check", "help", "import"]],
      ["smimepost config ch", ["check"]],
      ["smimepost send --si", ["--sign", "--sign-detached", "--single-copy"]],
      ["smimepost --si", ["--sign", "--sign-detached", "--single-copy"]],
      ["smimepost send --digest ", ["sha256", "sha384", "sha512"]],
      ["smimepost worker --cipher aes-256", ["aes-256-cbc", "aes-256-gcm"]],
      ["smimepost verify --tr", ["--trust"]],
      ["smimepost keys check --tr", ["--trust"]],
      ["smimepost completions ", ["bash", "fish", "zsh"]],
      ["smimepost --vers", ["--version"]],
      ["smimepost send --st", []],
      ["smimepost send --send", ["--send-api", "--send-smtp"]],
    ];
    for (const [line, expected] of cases) {
      assertEquals(await bashComplete(path, dir, line), expected, line);
    }
  });
});

Deno.test("completions bash: every option of --help, and only those, for each command", async () => {
  const script = await generated(["completions", "bash"]);
  await withScript(script, [], async (path, dir) => {
    for (
      const command of [["send"], ["verify"], ["keys", "import"], ["config", "check"], ["worker"]]
    ) {
      const offered = await bashComplete(path, dir, `smimepost ${command.join(" ")} -`);
      assertEquals(offered, await helpFlags(command), command.join(" "));
      for (const hidden of HIDDEN) assert(!offered.includes(hidden), `${command}: ${hidden}`);
    }
  });
});

Deno.test("completions bash: files for inputs and <file> values, folders for <dir>", async () => {
  const script = await generated(["completions", "bash"]);
  await withScript(script, ["verify-me.eml", "ca.pem", "keys/"], async (path, dir) => {
    // send is the default command: a file may stand where a command name does.
    assertEquals(await bashComplete(path, dir, "smimepost ver"), ["verify", "verify-me.eml"]);
    assertEquals(await bashComplete(path, dir, "smimepost verify "), [
      "ca.pem",
      "keys",
      "verify-me.eml",
    ]);
    assertEquals(await bashComplete(path, dir, "smimepost send --trust c"), ["ca.pem"]);
    assertEquals(await bashComplete(path, dir, "smimepost send --keys "), ["keys"]);
    assertEquals(await bashComplete(path, dir, "smimepost keys "), ["check", "help", "import"]);
  });
});

// zsh --------------------------------------------------------------------------

/**
 * Asks zsh's own completion system for the words it offers for the line
 * given as $2, with the completion functions in the folder $1: an
 * interactive zsh in a pseudo-terminal (zpty) gets the line and a Tab;
 * compadd prints every match it is given, and the shell exits when the
 * completion is done. The markers are split in the source so that the
 * terminal's echo of these lines never matches them.
 */
const ZSH_DRIVER = `
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1= RPS1=; fpath=(\${(q)1} \\$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() {
  [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]] && { builtin compadd "$@"; return; }
  local -a hits; builtin compadd -A hits "$@"
  local h; for h in $hits; do print -r -- "<h""it>$h"; done
  builtin compadd "$@"
}'
zpty -w z 'done-line() { print -r -- "<do""ne>"; }; comppostfuncs=(done-line exit)'
zpty -w z 'bindkey "^I" complete-word'
zpty -w z "$2"$'\\t'
local out line
while zpty -r z line; do out+=$line; [[ $line == *"<done>"* ]] && break; done
print -r -- "$out" | tr -d '\\r' | grep -a -o '<hit>[^<]*' | sed 's/^<hit>//; s/[[:space:]]*$//'
`;

/** What zsh offers for `line`, sorted and without duplicates. */
async function zshComplete(fpath: string, dir: string, line: string): Promise<string[]> {
  const run = await exec("zsh", ["-f", "-c", ZSH_DRIVER, "zsh", fpath, line], { cwd: dir });
  assertEquals(run.code, 0, `${line}: ${run.stderr}`);
  return [...new Set(run.stdout.split("\n").filter((word) => word !== ""))].sort();
}

Deno.test("completions zsh: zsh parses it and completes from it", async () => {
  const script = await generated(["completions", "zsh"]);
  assert(script.startsWith("#compdef smimepost\n"), script.slice(0, 80));
  await withScript(script, ["verify-me.eml", "ca.pem", "keys/"], async (path, dir) => {
    const syntax = await exec("zsh", ["-n", path]);
    assertEquals(syntax.stderr, "");
    assertEquals(syntax.code, 0);
    // compinit finds the function by its file name, _smimepost, in a folder of fpath.
    const fpath = `${dir}.fpath`;
    await Deno.mkdir(fpath);
    try {
      await Deno.copyFile(path, `${fpath}/_smimepost`);
      const cases: [string, string[]][] = [
        ["smimepost ke", ["keys"]],
        ["smimepost ver", ["verify", "verify-me.eml"]],
        ["smimepost keys ", ["check", "help", "import"]],
        ["smimepost send --si", ["--sign", "--sign-detached", "--single-copy"]],
        ["smimepost --vers", ["--version"]],
        ["smimepost send --digest ", ["sha256", "sha384", "sha512"]],
        ["smimepost send --digest=", ["sha256", "sha384", "sha512"]],
        ["smimepost verify --tr", ["--trust"]],
        ["smimepost send --trust c", ["ca.pem"]],
        ["smimepost send --keys ", ["keys"]],
        ["smimepost completions ", ["bash", "fish", "zsh"]],
        ["smimepost send --st", []],
        ["smimepost send --send", ["--send-api", "--send-smtp"]],
      ];
      // Each line is a zsh of its own (about a second each): all at once.
      const offers = await Promise.all(cases.map(([line]) => zshComplete(fpath, dir, line)));
      cases.forEach(([line, expected], i) => assertEquals(offers[i], expected, line));
      const offered = await zshComplete(fpath, dir, "smimepost keys import -");
      assertEquals(offered, await helpFlags(["keys", "import"]));
    } finally {
      await Deno.remove(fpath, { recursive: true });
    }
  });
});

// fish -------------------------------------------------------------------------

/** What fish offers for `line`, as "word\tdescription" lines; the words only. */
async function fishComplete(path: string, dir: string, line: string): Promise<string[]> {
  const run = await exec("fish", ["--no-config", "-c", `source ${path}; complete -C '${line}'`], {
    cwd: dir,
  });
  assertEquals(run.stderr, "", line);
  assertEquals(run.code, 0, line);
  return run.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!).sort();
}

Deno.test("completions fish: fish parses it and completes from it", async () => {
  const script = await generated(["completions", "fish"]);
  await withScript(script, ["ca.pem"], async (path, dir) => {
    const syntax = await exec("fish", ["--no-config", "-n", path]);
    assertEquals(syntax.stderr, "");
    assertEquals(syntax.code, 0);
    const cases: [string, string[]][] = [
      ["smimepost keys ", ["check", "help", "import"]],
      ["smimepost ke", ["keys"]],
      ["smimepost send --digest ", ["sha256", "sha384", "sha512"]],
      ["smimepost --si", ["--sign", "--sign-detached", "--single-copy"]],
      ["smimepost verify --tr", ["--trust"]],
      ["smimepost send --trust c", ["ca.pem"]],
      ["smimepost completions ", ["bash", "fish", "zsh"]],
      ["smimepost send --st", []],
    ];
    for (const [line, expected] of cases) {
      assertEquals(await fishComplete(path, dir, line), expected, line);
    }
  });
});

// man --------------------------------------------------------------------------

const MACROS = [".TH", ".SH", ".SS", ".TP", ".PP", ".RS", ".RE", ".nf", ".fi", ".B", '.\\"'];

Deno.test("man: groff formats the page without a warning; it names every command", async () => {
  const page = await generated(["man"]);
  assertEquals(await generated(["man"]), page, "the page is the same bytes every time");
  await withScript(page, [], async (path) => {
    const run = await exec("groff", ["-man", "-Tutf8", "-ww", "-z", path]);
    assertEquals(run.stderr, "");
    assertEquals(run.code, 0);
  });
  // Every line that starts with a dot or quote is a macro we meant, not escaped text.
  for (const line of page.split("\n").filter((l) => /^[.']/.test(l))) {
    assert(MACROS.includes(line.split(" ")[0]!), line);
  }
  const help = await generated(["--help"]);
  const commands = [
    ...help.split("\nCommands:\n")[1]!.split("\n\n")[0]!.matchAll(/^ {2}([a-z-]+)/gm),
  ]
    .map((m) => m[1]!).filter((name) => name !== "help");
  assert(commands.includes("completions") && commands.includes("send"), commands.join(" "));
  for (const command of [...commands, "keys check", "keys import", "config check"]) {
    assertIncludes(page, `.SS "smimepost ${command}"`);
  }
  for (
    const part of [
      '.TH SMIMEPOST 1 "" "smimepost ',
      "\\fB\\-\\-dry\\-run\\fR",
      "\\fB\\-\\-digest\\fR \\fI<name>\\fR",
      'default: "sha256"',
      "smimepost keys import partner.p7b \\-\\-trust ca.pem \\-\\-dry\\-run",
      ".SH ENVIRONMENT",
      "SMIMEPOST_PASSPHRASE",
      "SMIMEPOST_NATS_URL",
      "smimepost.toml",
      "\\fBopenssl\\-cms\\fR(1)",
    ]
  ) {
    assertIncludes(page, part);
  }
  // Hidden options are not described (an example may still show the old spelling).
  for (const hidden of HIDDEN) {
    assert(!page.includes(`\\fB${hidden.replaceAll("-", "\\-")}\\fR`), hidden);
  }
  const exitStatus = page.split(".SH EXIT STATUS\n")[1]!.split("\n.SH ")[0]!;
  for (const code of Object.values(ExitCode)) assertIncludes(exitStatus, `.B ${code}\n`);
});

const hasMan = await exec("man", ["--version"]).then((r) => r.code === 0, () => false);

Deno.test({
  name: "man: man -l shows the page",
  ignore: !hasMan,
  fn: async () => {
    const page = await generated(["man"]);
    await withScript(page, [], async (path) => {
      const run = await exec("man", ["-l", "-P", "cat", path]);
      assertEquals(run.code, 0, run.stderr);
      for (const part of ["SMIMEPOST(1)", "EXIT STATUS", "smimepost keys import", "--dry-run"]) {
        assertIncludes(run.stdout.replaceAll("\u2010", "-").replaceAll("\u2212", "-"), part);
      }
    });
  },
});
