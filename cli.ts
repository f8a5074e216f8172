#!/usr/bin/env -S deno run --allow-read --allow-write --allow-env
/**
 * The smimepost command line: the only module that reads Deno.args or
 * exits. The commands are in core/cli/commands/, one module each; this file
 * answers --version, refuses unknown commands, runs the one asked for and
 * maps errors to exit codes.
 *
 * @module
 */
import { CommanderError } from "@commander-js/extra-typings";
import { ExitCode, exitCodeOf, isSmimeError, SmimeError } from "./core/errors.ts";
import { output, printLines } from "./core/cli/output.ts";
import { buildProgram, treeFor } from "./core/cli/program.ts";
import type { Program } from "./core/cli/program.ts";
import { suggest } from "./core/config/suggest.ts";
import { versionInfo, versionLines } from "./core/cli/version.ts";

/** Runs the CLI with `args`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  try {
    const program = await buildProgram(treeFor(args));
    if (args.length === 0) {
      program.command.outputHelp();
      return ExitCode.ok;
    }
    if (isVersionRequest(args)) {
      const info = versionInfo();
      await printLines(args.includes("--json") ? [JSON.stringify(info)] : versionLines(info));
      return ExitCode.ok;
    }
    await refuseUnknownCommand(program, args[0]!);
    await program.command.parseAsync(args, { from: "user" });
    return program.status();
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
async function refuseUnknownCommand(program: Program, first: string): Promise<void> {
  if (!/^[A-Za-z][A-Za-z-]*$/.test(first)) return;
  const names = program.command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
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
