/**
 * Runs the CLI as a user would run the compiled binary: `deno run` with
 * exactly the permission flags that `deno task compile` bakes in, read from
 * deno.json, so a permission the binary lacks fails here too.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

/**
 * The runtime flags the compile task bakes into the binary: its --allow-*
 * permissions and its --v8-flags.
 */
export async function compileRuntimeFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task: string = config.tasks.compile;
  return task.split(/\s+/).filter((word) =>
    word.startsWith("--allow-") || word.startsWith("--v8-flags=")
  );
}

/** What a CLI run produced. */
export interface CliRun {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  /** stdout decoded as UTF-8. */
  text: string;
}

/** Options of {@link runCli}. */
export interface RunOptions {
  cwd?: string;
  stdin?: Uint8Array;
  env?: Record<string, string>;
}

/** Runs `cli.ts` with `args` under the compile task's permissions. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<CliRun> {
  const flags = await compileRuntimeFlags();
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...flags, new URL("cli.ts", ROOT).pathname, ...args],
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout,
    stderr: new TextDecoder().decode(stderr),
    text: new TextDecoder().decode(stdout),
  };
}
