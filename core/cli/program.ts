/**
 * The command tree: the program with its global help, the hook that fills
 * in the key folder and trust bundle, and every command (one module each in
 * commands/). Actions load what they need when they run, so starting the
 * program loads little beyond the tree itself.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { ExitCode } from "../errors.ts";
import { readEnv } from "./delivery.ts";
import { VERSION } from "./version.ts";
import { registerCompletions } from "./commands/completions.ts";
import { registerConfig } from "./commands/config.ts";
import { registerDecrypt, registerShow } from "./commands/decrypt.ts";
import { registerHarvest } from "./commands/harvest.ts";
import { registerKeys } from "./commands/keys.ts";
import { registerQueue } from "./commands/queue.ts";
import { registerSend } from "./commands/send.ts";
import { registerSink } from "./commands/sink.ts";
import { registerVerify } from "./commands/verify.ts";

/** The program and the exit status its last action set. */
export interface Program {
  readonly command: Command;
  /** The exit status the action set; ok when it finished without setting one. */
  status(): number;
}

/** A fresh command tree. */
export function buildProgram(): Program {
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
  registerVerify(program, setStatus);
  registerDecrypt(program);
  registerShow(program);
  registerKeys(program, setStatus);
  registerConfig(program);
  registerSink(program);
  registerHarvest(program);
  registerQueue(program, setStatus);
  registerCompletions(program); // last: it reads the whole tree
  return { command: program, status: () => status };
}
