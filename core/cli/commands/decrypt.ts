/**
 * `decrypt` prints the MIME entity inside an encrypted message; `show`
 * prints a message's MIME tree with its S/MIME layers.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { SmimeError } from "../../errors.ts";
import { readInput, writeFileAtomic, writeStdout } from "../../io.ts";
import { printLines, setOutput } from "../output.ts";
import { withExamples, withKeyOptions } from "../options.ts";

/** Adds `decrypt` to the program. */
export function registerDecrypt(program: Command): void {
  const decrypt = withKeyOptions(
    program.command("decrypt")
      .description("decrypt a message and print the MIME entity inside")
      .argument("<file>", 'sealed message, or "-" for stdin')
      .option(
        "--key <file...>",
        "private key file(s), tried in turn: PEM, DER or .p12; no certificate needed (repeatable)",
      )
      .option("-o, --output <file>", "write the entity to a file instead of stdout")
      .option(
        "--json",
        "print what was decrypted (cipher, recipients, key, signed or not) as one JSON object " +
          "instead of the entity; the entity goes only to -o",
      ),
  );
  withExamples(decrypt, [
    "smimepost decrypt sealed.eml --key bob@example.com.pem",
    "smimepost decrypt sealed.eml --keys keys/ -o inner.eml",
    "smimepost decrypt sealed.eml --key bob.p12 --json      # who it was for, cipher, signed",
  ]);
  decrypt.action(async (file, options) => {
    const { keyCandidates, openKeyStore } = await import("../keys.ts");
    setOutput(options);
    const { decryptedJson, decryptMessage } = await import("../../smime/decrypt_message.ts");
    const { bytes, source } = await readInput(file);
    await refuseMbox(bytes, source, "decrypt");
    const keys = await openKeyStore(options, file === "-");
    // Signed layers around the encrypted one are peeled unverified: verify checks them.
    // The message is read for this alone: it is decoded and decrypted in place.
    const decrypted = await decryptMessage(
      bytes,
      source,
      keyCandidates(keys, bytes, source, options.key),
      { inPlace: true },
    );
    if (options.output) await writeFileAtomic(options.output, decrypted.content);
    else if (!options.json) await writeStdout(decrypted.content);
    if (options.json) {
      await printLines([JSON.stringify(decryptedJson(source, decrypted, options.output))]);
    }
  });
}

/** Adds `show` to the program. */
export function registerShow(program: Command): void {
  const show = withKeyOptions(
    program.command("show")
      .description("print the MIME tree of a message, indented, with its S/MIME layers")
      .argument("<file>", 'message, or "-" for stdin')
      .option("--key <file...>", "private key(s) to look inside encrypted layers")
      .option("--json", "the tree as one JSON object on stdout"),
  );
  withExamples(show, [
    "smimepost show sealed.eml",
    "smimepost show sealed.eml --key bob@example.com.pem    # look inside the encrypted layer",
    "smimepost show sealed.eml --json",
  ]);
  show.action(async (file, options) => {
    const { keyCandidates, openKeyStore } = await import("../keys.ts");
    setOutput(options);
    const { describeShown, showMessage, shownJson } = await import("../../smime/show.ts");
    const { bytes, source } = await readInput(file);
    await refuseMbox(bytes, source, "show");
    const keys = options.key ? await openKeyStore(options, file === "-") : undefined;
    const shown = await showMessage(bytes, source, {
      keys: keys && keyCandidates(keys, bytes, source, options.key),
    });
    await printLines(
      options.json ? [JSON.stringify(shownJson(source, shown))] : describeShown(shown),
    );
  });
}

/**
 * Refuses an mbox of several messages where one message is read: taken
 * whole, it would be its first message with the others as an epilogue.
 *
 * @throws {SmimeError} E_USAGE naming the file and the count
 */
async function refuseMbox(bytes: Uint8Array, source: string, command: string): Promise<void> {
  const { mboxMessageCount } = await import("../../batch/sources/mbox_bytes.ts");
  const count = mboxMessageCount(bytes);
  if (count < 2) return;
  throw new SmimeError(
    "E_USAGE",
    `${source} is an mbox of ${count} messages; ${command} takes one message ` +
      "(verify reads each message of an mbox)",
  );
}
