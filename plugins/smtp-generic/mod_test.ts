/**
 * smtp-generic runs the shared plugin contract suite: into the sink, and
 * over STARTTLS + AUTH into the Postfix rig. It honours no per-message
 * fields, so they change nothing on the wire.
 */
import { runContract, smtpOptions } from "../../tests/support/contract/mod.ts";
import { plugin } from "./mod.ts";

runContract(plugin, {
  targets: [{ kind: "sink", headers: [], options: smtpOptions }],
});
