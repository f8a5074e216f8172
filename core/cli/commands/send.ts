/**
 * `send`, the default command: seal messages and deliver them, or write one
 * to stdout.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { SmimeError } from "../../errors.ts";
import { readInput, writeFileAtomic, writeStdout } from "../../io.ts";
import { deliveryInputs, loadDelivery } from "../delivery.ts";
import { openKeyStore } from "../keys.ts";
import { setOutput, warn } from "../output.ts";
import type { RunFlags } from "../run.ts";
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
        .description("seal messages (sign and/or encrypt) and deliver them, or write one to stdout")
        .argument(
          "[inputs...]",
          'message files, folders of *.eml, or "-" for one message on stdin',
        ),
    )
      .option("-o, --output <file>", "write the sealed message to a file instead of stdout")
      .option("--json", "one JSON object per delivered message on stdout")
      .option("--debug-smtp", "print the protocol transcript (secrets redacted) on stderr"),
  )));
  withExamples(send, [
    "smimepost send statement.eml --sign --encrypt > sealed.eml",
    "smimepost statement.eml --sign --send_smtp          # the old form: send is the default",
    "smimepost send statements/ --sign --encrypt --profile pmta --journal run.jsonl",
    "smimepost send --mbox november.mbox --sign --profile sp --json",
  ]);
  send.action(async (inputs, options) => {
    setOutput(options);
    const seal = sealOptionsOf(options);
    if (!seal.sign && !options.encrypt) {
      warn("neither --sign nor --encrypt given; messages go as they are");
    }
    if (inputs.length === 0 && !options.mbox && !options.manifest) {
      throw new SmimeError(
        "E_USAGE",
        'no input: give message files or folders, "-", --mbox or --manifest',
      );
    }
    const delivery = await loadDelivery(deliveryInputs(options));
    const single = await isSingleMessage(inputs, options);
    if (!delivery) {
      if (!single) {
        throw new SmimeError(
          "E_USAGE",
          "several messages need a delivery: --profile, --send_smtp or --send_api",
        );
      }
      const [{ parseMessage }, { sealMessage }] = await Promise.all([
        import("../../message/mod.ts"),
        import("../../pipeline.ts"),
      ]);
      const { bytes, source } = await readInput(inputs[0]!);
      const message = parseMessage(bytes, source);
      const keys = await openKeyStore(options, inputs[0] === "-");
      const result = await sealMessage(message, keys, { ...seal, singleCopy: true });
      result.warnings.forEach(warn);
      const [copy] = result.copies;
      if (options.output) await writeFileAtomic(options.output, copy!.bytes);
      else await writeStdout(copy!.bytes);
      return;
    }
    if (options.output) {
      throw new SmimeError("E_USAGE", `conflicting: --output and a delivery (${delivery.profile})`);
    }
    const { deliverRun, filesSource } = await import("../run.ts");
    const source = await filesSource(inputs, options, single);
    setStatus(await deliverRun(delivery, source, options, seal, single));
  });
}

/** One file or stdin and nothing that makes a run: the old tool's one-message mode. */
async function isSingleMessage(inputs: string[], options: RunFlags): Promise<boolean> {
  if (inputs.length !== 1 || options.mbox || options.manifest) return false;
  if (inputs[0] === "-") return true;
  try {
    return !(await Deno.stat(inputs[0]!)).isDirectory;
  } catch {
    return true; // reading it reports the error
  }
}
