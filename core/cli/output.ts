/**
 * What every command prints through: the --verbose / --quiet state, warnings
 * on stderr, and whole lines on stdout.
 *
 * @module
 */
import { writeStdout } from "../io.ts";

/** Set by --verbose / --quiet on whichever command runs. */
export const output = { verbose: false, quiet: false };

const encoder = new TextEncoder();

/** Takes --verbose / --quiet from a command's options. */
export function setOutput(options: { verbose?: true; quiet?: true }): void {
  output.verbose = Boolean(options.verbose);
  output.quiet = Boolean(options.quiet);
}

/** A warning on stderr, unless --quiet. */
export function warn(text: string): void {
  if (!output.quiet) console.error(`smimepost: warning: ${text}`);
}

/**
 * Writes lines to stdout, all of them or an E_OUTPUT error.
 *
 * @throws {SmimeError} E_OUTPUT when stdout is closed
 */
export function printLines(lines: string[]): Promise<void> {
  return writeStdout(encoder.encode(lines.join("\n") + "\n"));
}
