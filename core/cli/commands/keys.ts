/**
 * `keys check` checks every certificate and key in the key folder; `keys
 * import` collects recipients' certificates from signed mail and
 * certificate files.
 *
 * @module
 */
import { resolve } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { SmimeError } from "../../errors.ts";
import { printLines, setOutput } from "../output.ts";
import { withExamples, withKeyOptions } from "../options.ts";
import type { SetStatus } from "../options.ts";

/** Adds `keys check` and `keys import` to the program. */
export function registerKeys(program: Command, setStatus: SetStatus): void {
  const keys = withExamples(program.command("keys").description("work with the key folder"), [
    "smimepost keys check --keys keys/",
    "smimepost keys import replies/ partner.p7b --keys keys/ --trust ca.pem",
  ]);

  const check = withKeyOptions(
    keys.command("check")
      .description("check every certificate and key in the key folder")
      .option("--json", "one JSON object per file on stdout"),
  );
  withExamples(check, [
    "smimepost keys check --keys keys/ --trust ca.pem",
    "SMIMEPOST_KEYS=/srv/smimepost/keys smimepost keys check --json",
  ]);
  check.action(async (options) => {
    const { openKeyStore } = await import("../keys.ts");
    setOutput(options);
    const { keyReportJson, reportLines } = await import("../../report.ts");
    const store = await openKeyStore(options, false);
    const reports = await store.check();
    const lines = options.json
      ? reports.map((r) => JSON.stringify(keyReportJson(r)))
      : reports.flatMap(reportLines);
    if (!options.json) {
      lines.push(`${reports.length} file(s), ${reports.filter((r) => !r.ok).length} with problems`);
    }
    await printLines(lines);
    if (reports.some((r) => !r.ok)) {
      const folder = resolve(options.keys);
      throw new SmimeError("E_CERT_INVALID", `problems found in the key folder ${folder}`);
    }
  });

  const importer = withKeyOptions(
    keys.command("import")
      .description("collect recipients' certificates from signed mail and certificate files")
      .argument("<inputs...>", 'signed mail, .p7s/.p7b/.p7c, certificates, folders, mbox, or "-"')
      .option("--key <file...>", "private key(s) for mail signed inside an encrypted message")
      .option("--dry-run", "check and report, write nothing")
      .option("--json", "one JSON object per outcome on stdout"),
  );
  withExamples(importer, [
    "smimepost keys import inbox.mbox replies/ --keys keys/ --trust ca.pem",
    "smimepost keys import partner.p7b --trust ca.pem --dry-run",
    "smimepost keys import - --trust ca.pem --json < signed.eml",
  ]);
  importer.action(async (inputs, options) => {
    const { keyCandidates, loadTrust, openKeyStore } = await import("../keys.ts");
    setOutput(options);
    if (!options.trust) {
      throw new SmimeError(
        "E_USAGE",
        "keys import needs --trust FILE, $SMIMEPOST_TRUST or trust in the config file " +
          "(only trusted paths import)",
      );
    }
    const trustAnchors = (await loadTrust(options.trust))!;
    const store = await openKeyStore(options, inputs.includes("-"), trustAnchors);
    const [{ importJson, importLine, ImportTally }, { runImport }] = await Promise.all([
      import("../../keys/import.ts"),
      import("../../keys/import_inputs.ts"),
    ]);
    // The key folder's CA certificates are candidate intermediates, as for send.
    const folder = (await store.trustStore())?.intermediates[0];
    const tally = new ImportTally();
    for await (
      const outcome of runImport(inputs, {
        keysDir: options.keys,
        trustAnchors,
        intermediates: folder,
        dryRun: Boolean(options.dryRun),
        decryptionKeys: (bytes, source) => keyCandidates(store, bytes, source, options.key),
      })
    ) {
      tally.add(outcome);
      await printLines([options.json ? JSON.stringify(importJson(outcome)) : importLine(outcome)]);
    }
    setStatus(tally.exitCode());
  });
}
