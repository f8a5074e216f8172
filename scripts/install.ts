/**
 * `deno task install`: puts a `smimepost` command on PATH that runs this
 * checkout's cli.ts from any folder, with exactly the permissions and V8
 * flags the compiled binary has (read from the compile task, so the two
 * cannot drift apart).
 *
 * Usage: `deno task install [--root DIR]` (default: Deno's, ~/.deno; the
 * command lands in DIR/bin).
 *
 * @module
 */
import { compileRuntimeFlags } from "./run_cli.ts";

const ROOT = new URL("../", import.meta.url);

/** Installs the command; returns `deno install`'s exit status (its errors go to stderr). */
export async function install(root?: string): Promise<number> {
  const flags = await compileRuntimeFlags();
  const args = [
    "install",
    "--global",
    "--force",
    "--quiet",
    "--name",
    "smimepost",
    "--config",
    new URL("deno.json", ROOT).pathname,
    ...(root ? ["--root", root] : []),
    ...flags,
    new URL("cli.ts", ROOT).pathname,
  ];
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "inherit" });
  return (await child.spawn().status).code;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--root");
  const root = at >= 0 ? Deno.args[at + 1] : undefined;
  if (at >= 0 && !root) {
    console.error("usage: deno task install [--root DIR]");
    Deno.exit(64);
  }
  const code = await install(root);
  if (code !== 0) Deno.exit(code);
  const bin = `${root ?? `${Deno.env.get("HOME")}/.deno`}/bin`;
  console.log(`installed ${bin}/smimepost (runs ${new URL("cli.ts", ROOT).pathname})`);
  if (!(Deno.env.get("PATH") ?? "").split(":").includes(bin)) {
    console.log(`add it to PATH: export PATH="${bin}:$PATH"`);
  }
}
