/**
 * `sink`: a small SMTP server that stores what it receives, the target of a
 * dry run.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { SmimeError } from "../../errors.ts";
import { withExamples } from "../options.ts";

/** Adds `sink` to the program. */
export function registerSink(program: Command): void {
  const sink = program.command("sink")
    .description("run a small SMTP server that stores what it receives (a dry-run target)")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--port <n>", "port to listen on", "2525")
    .option("--dir <folder>", "store each message as ID.eml with its envelope in ID.json")
    .option("--no-strict", "accept bare CR or LF (a strict receiver refuses them: SMTP smuggling)");
  withExamples(sink, [
    "smimepost sink --port 2525 --dir captured/",
    "smimepost sink --host 0.0.0.0 --port 2525 --no-strict",
  ]);
  sink.action(async (options) => {
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new SmimeError("E_USAGE", `--port: not a port number: "${options.port}"`);
    }
    if (options.dir) await Deno.mkdir(options.dir, { recursive: true });
    const { startSink } = await import("../../sink/mod.ts");
    const server = await startSink({
      host: options.host,
      port,
      dir: options.dir,
      strict: options.strict,
      keep: options.dir ? undefined : 0,
      log: (line) => console.error(line),
    });
    console.error(
      `smimepost sink listening on ${server.host}:${server.port}` +
        (options.dir ? `, storing messages in ${options.dir}` : ", counting messages only"),
    );
    await untilSignal();
    await server.close();
    console.error(`smimepost sink: stopped after ${server.count} message(s)`);
  });
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
  });
}
