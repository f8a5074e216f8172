/**
 * `send`, the default command: seal messages and deliver them, or write
 * them. Either way it is one run (core/cli/run.ts), for one message or a
 * million: writing is a delivery target like the plugins
 * (core/deliver/write.ts).
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import type { Command } from "@commander-js/extra-typings";
import { SmimeError } from "../../errors.ts";
import type { WriteTo } from "../../deliver/write.ts";
import { deliveryInputs, loadDelivery } from "../delivery.ts";
import { output, setOutput, warn } from "../output.ts";
import { sealOptionsOf } from "../seal.ts";
import {
  withDeliveryOptions,
  withExamples,
  withKeyOptions,
  withRunOptions,
  withSealOptions,
} from "../options.ts";
import type { SetStatus } from "../options.ts";

/** Adds `send` to the program, as its default command. */
export function registerSend(program: Command, setStatus: SetStatus): void {
  const send = withRunOptions(withDeliveryOptions(withKeyOptions(
    withSealOptions(
      program.command("send", { isDefault: true })
        .description(
          "seal messages (sign and/or encrypt) and deliver them, or write them: one to stdout " +
            "or -o FILE, several as an mbox on stdout or to -o FOLDER",
        )
        .argument(
          "[inputs...]",
          'message files, folders of *.eml, or "-" for one message on stdin',
        ),
    )
      .option(
        "-o, --output <path>",
        "write instead of delivering: one message to this file, several into this folder " +
          "(MESSAGE-ID.eml each)",
      )
      .option(
        "--dry-run",
        "seal and write to stdout (or -o) instead of delivering through the configured profile",
      )
      .addOption(new Option("--stdout", "the same as --dry-run").hideHelp())
      .option("--json", "one JSON object per message, then one with the summary, on stdout")
      .option("--debug-smtp", "print the protocol transcript (secrets redacted) on stderr"),
  )));
  withExamples(send, [
    "smimepost send statement.eml --sign --encrypt > sealed.eml",
    "smimepost statement.eml --sign --send_smtp          # the old form: send is the default",
    "smimepost send statements/ --sign --encrypt --profile pmta --journal run.jsonl --json",
    "smimepost send --mbox november.mbox --sign --encrypt --dry-run -o sealed/",
  ]);
  send.action(async (inputs, options) => {
    setOutput(options);
    const seal = sealOptionsOf(options);
    if (!seal.sign && !seal.encrypt) {
      warn("neither --sign nor --encrypt given; messages go as they are");
    }
    if (inputs.length === 0 && !options.mbox && !options.manifest) {
      throw new SmimeError(
        "E_USAGE",
        'no input: give message files or folders, "-", --mbox or --manifest',
      );
    }
    const inputsOfConfig = deliveryInputs(options);
    const [configured, { deliverRun, filesSource }] = await Promise.all([
      loadDelivery(inputsOfConfig),
      import("../run.ts"),
    ]);
    const source = await filesSource(inputs, options);
    const dryRun = Boolean(options.dryRun || options.stdout);
    const asked = options.profile || inputsOfConfig.legacy;
    if (options.output && configured && asked && !dryRun) {
      throw new SmimeError(
        "E_USAGE",
        `conflicting: --output and a delivery (${configured.profile}); add --dry-run to write ` +
          "instead of delivering",
      );
    }
    if (configured && !dryRun && !options.output) {
      setStatus(await deliverRun(configured, source, options, seal));
      return;
    }
    if (configured && dryRun && !output.quiet) {
      console.error(
        `smimepost: dry run: writing ${options.output ? `to ${options.output}` : "to stdout"}, ` +
          `not delivering through ${configured.profile}`,
      );
    }
    const target = await writeTo(options.output, source.one, Boolean(options.json));
    const { writeTarget } = await import("../../deliver/write.ts");
    setStatus(
      await deliverRun(
        {
          profile: target.kind === "stdout" ? "stdout" : target.path,
          plugin: writeTarget,
          options: target,
          warnings: [],
          stdoutTaken: target.kind === "stdout",
          writing: true,
        },
        source,
        options,
        { ...seal, singleCopy: true },
      ),
    );
  });
}

/**
 * Where written messages go: one message to -o FILE or stdout; several into
 * -o FOLDER (made 0700 if missing), or to stdout as an mbox when stdout is
 * not a terminal.
 *
 * @throws {SmimeError} E_USAGE when they can't go there
 */
async function writeTo(path: string | undefined, one: boolean, json: boolean): Promise<WriteTo> {
  if (path === undefined && json) {
    throw new SmimeError(
      "E_USAGE",
      "--json and messages written to stdout: give -o FILE (or -o FOLDER for several)",
    );
  }
  if (one) return path === undefined ? { kind: "stdout", mbox: false } : { kind: "file", path };
  if (path === undefined) {
    if (Deno.stdout.isTerminal()) {
      throw new SmimeError(
        "E_USAGE",
        "several messages and no delivery: give --profile, --send_smtp or --send_api; " +
          "-o FOLDER to write them there; or redirect stdout for an mbox",
      );
    }
    return { kind: "stdout", mbox: true };
  }
  try {
    if (!(await Deno.stat(path)).isDirectory) {
      throw new SmimeError(
        "E_USAGE",
        `-o ${path}: several messages go into a folder, and this is a file`,
      );
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  }
  return { kind: "folder", path };
}
