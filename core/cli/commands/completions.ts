/**
 * `completions <shell>` and `man`: shell completion scripts and a man page,
 * made from the command tree itself (core/cli/completions.ts,
 * core/cli/manpage.ts, loaded only when asked). Registered last, so that the
 * tree they read is whole.
 *
 * @module
 */
import { Argument } from "@commander-js/extra-typings";
import type { Command } from "@commander-js/extra-typings";
import { printLines } from "../output.ts";
import { withExamples } from "../options.ts";

/** Adds `completions` and `man` to the program. */
export function registerCompletions(program: Command): void {
  const completions = program.command("completions")
    .description("print a completion script for bash, zsh or fish on stdout")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh", "fish"] as const));
  withExamples(completions, [
    "source <(smimepost completions bash)",
    'smimepost completions zsh > "${fpath[1]}/_smimepost"',
    "smimepost completions fish > ~/.config/fish/completions/smimepost.fish",
  ]);
  completions.action(async (shell) => {
    const { bashScript, fishScript, zshScript } = await import("../completions.ts");
    const script = { bash: bashScript, zsh: zshScript, fish: fishScript }[shell];
    await printLines([script(program).trimEnd()]);
  });

  const man = program.command("man")
    .description("print the manual page (roff) on stdout");
  withExamples(man, [
    "smimepost man > /usr/local/share/man/man1/smimepost.1",
    "smimepost man | man -l -",
  ]);
  man.action(async () => {
    const { manPage } = await import("../manpage.ts");
    await printLines([manPage(program).trimEnd()]);
  });
}
