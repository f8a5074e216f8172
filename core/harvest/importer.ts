/**
 * The harvest receiver's import step: each message that passed DKIM goes
 * through `keys import` (signature, path, From equals the signer), and its
 * outcomes become the one outcome the receiver logs and answers.
 *
 * @module
 */

import { importLine, importMessage, type ImportOptions } from "../keys/import.ts";
import type { HarvestHandler } from "./types.ts";

/** A {@link HarvestHandler} that imports into the key folder of `options`. */
export function importHandler(options: ImportOptions): HarvestHandler {
  return async (bytes, meta) => {
    const outcomes = await importMessage(bytes, meta.source, options);
    const stored = outcomes.find((o) => o.status !== "refused");
    return {
      status: stored?.status ?? "refused",
      // The receiver's log line names the message and the status already.
      detail: outcomes.map((o) => importLine(o).slice(o.source.length + 2)).join("; "),
    };
  };
}
