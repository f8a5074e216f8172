/**
 * `verify`: who signed each message, whether it is intact, its path to the
 * trust anchors, and its From.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { ExitCode, isSmimeError, SmimeError } from "../../errors.ts";
import { printLines, setOutput } from "../output.ts";
import { withExamples, withKeyOptions } from "../options.ts";
import type { SetStatus } from "../options.ts";

/** Adds `verify` to the program. */
export function registerVerify(program: Command, setStatus: SetStatus): void {
  const verify = withKeyOptions(
    program.command("verify")
      .description(
        "check who signed each message, that it is intact, its path to --trust, and its From",
      )
      .argument("<inputs...>", 'sealed messages, folders of *.eml, or "-" for stdin')
      .option("--key <file...>", "private key(s) for an encrypted message")
      .option("--json", "one JSON object per message on stdout"),
  );
  withExamples(verify, [
    "smimepost verify sealed.eml --trust ca.pem",
    "smimepost verify inbox/ --trust ca.pem --json",
    "smimepost verify - --key bob@example.com.pem < sealed.eml",
  ]);
  verify.action(async (inputs, options) => {
    const { keyCandidates, openKeyStore } = await import("../keys.ts");
    setOutput(options);
    const keys = await openKeyStore(options, inputs.includes("-"));
    const trust = await keys.trustStore();
    const [{ readInputs }, { mboxMessages }, { verdictJson, verifyMessage }, { verdictLines }] =
      await Promise.all([
        import("../../batch/sources/mod.ts"),
        import("../../batch/sources/mbox_bytes.ts"),
        import("../../smime/verdict.ts"),
        import("../../report.ts"),
      ]);
    const errors: SmimeError[] = [];
    let count = 0;
    const report = async (source: string, err: SmimeError) => {
      errors.push(err);
      console.error(`smimepost: ${err.message}`);
      if (options.json) await printLines([JSON.stringify({ file: source, error: err.message })]);
    };
    const verifyOne = async (bytes: Uint8Array, source: string) => {
      count++;
      try {
        const verdict = await verifyMessage(bytes, source, {
          trust,
          keys: keyCandidates(keys, bytes, source, options.key),
        });
        const lines = options.json
          ? [JSON.stringify(verdictJson(source, verdict))]
          : verdictLines(source, verdict);
        await printLines(lines);
        if (verdict.problems.length > 0) {
          const n = verdict.problems.length;
          await report(
            source,
            new SmimeError("E_VERIFY", `${source}: verification failed (${n} problem(s))`),
          );
        }
      } catch (err) {
        if (!isSmimeError(err)) throw err;
        await report(source, err);
      }
    };
    const items = readInputs(inputs);
    for (;;) {
      let input;
      try {
        const next = await items.next();
        if (next.done) break;
        input = next.value;
      } catch (err) {
        if (!isSmimeError(err)) throw err;
        count++;
        await report("label" in err ? String(err.label) : "input", err);
        continue;
      }
      // An mbox (smimepost's own output of several messages): each message, as `--mbox` reads it.
      const messages = mboxMessages(input.bytes);
      if (!messages) await verifyOne(input.bytes, input.label);
      else {
        for (const [i, bytes] of messages.entries()) {
          await verifyOne(bytes, `${input.label} message ${i + 1}`);
        }
      }
    }
    if (errors.length === 0) return;
    // One message keeps its own error's exit code (66 missing, 65 bad data).
    if (count === 1) setStatus(errors[0]!.exitCode);
    else {
      console.error(`smimepost: ${errors.length} of ${count} message(s) failed verification`);
      setStatus(ExitCode.dataErr);
    }
  });
}
