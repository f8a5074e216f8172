/**
 * The command tree: the program with its global help, the hook that fills
 * in the key folder and trust bundle, and every command (one module each in
 * commands/). Actions load what they need when they run, so starting the
 * program loads little beyond the tree itself; and a run of `send`, the
 * default command, builds `send` alone (see {@link treeFor}).
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { ExitCode } from "../errors.ts";
import { readEnv } from "./delivery.ts";
import { VERSION } from "./version.ts";
import { registerSend } from "./commands/send.ts";

/** The program and the exit status its last action set. */
export interface Program {
  readonly command: Command;
  /** The exit status the action set; ok when it finished without setting one. */
  status(): number;
}

/**
 * Which tree a command line needs: `send` alone when it runs send (its first
 * argument is "send", or an input by the rule {@link buildProgram}'s help
 * states: "-", or an argument with "/" or "." that is no option); every
 * command otherwise, for help, suggestions and the other commands. A word
 * that may be a file of that name gets every command, and cli.ts decides;
 * so does any help or version flag, as the program's help lists every
 * command.
 */
export function treeFor(args: readonly string[]): "send" | "all" {
  const first = args[0];
  if (first === undefined) return "all";
  if (args.some((a) => ["-h", "--help", "-V", "--version"].includes(a))) return "all";
  if (first === "send" || first === "-") return "send";
  return !first.startsWith("-") && /[/.]/.test(first) ? "send" : "all";
}

/** A fresh command tree: every command, or `send` alone (see {@link treeFor}). */
export async function buildProgram(tree: "send" | "all" = "all"): Promise<Program> {
  let status: number = ExitCode.ok;
  const setStatus = (value: number) => {
    status = value;
  };
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
    const { resolveKeyPaths } = await import("../config/key_paths.ts");
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

  registerSend(program, setStatus);
  if (tree === "all") {
    const [verify, decrypt, keys, config, sink, harvest, queue, completions] = await Promise.all([
      import("./commands/verify.ts"),
      import("./commands/decrypt.ts"),
      import("./commands/keys.ts"),
      import("./commands/config.ts"),
      import("./commands/sink.ts"),
      import("./commands/harvest.ts"),
      import("./commands/queue.ts"),
      import("./commands/completions.ts"),
    ]);
    verify.registerVerify(program, setStatus);
    decrypt.registerDecrypt(program);
    decrypt.registerShow(program);
    keys.registerKeys(program, setStatus);
    config.registerConfig(program);
    sink.registerSink(program);
    harvest.registerHarvest(program);
    queue.registerQueue(program, setStatus);
    completions.registerCompletions(program); // last: it reads the whole tree
  }
  return { command: program, status: () => status };
}
