/**
 * The plugin contract suite, written once and run by every plugin from its
 * own `mod_test.ts` (as hono runs one router suite against each router):
 * `runContract(plugin, fixture)` defines the same named cases for each.
 *
 * Options (options.ts): the documented example
 * (fixtures/config/smimepost.example.toml) is accepted, an unknown key is
 * refused with the key named, every listed secret is masked. Transports, for
 * each target (the plugin in one of its ways in: SMTP, HTTP), pointed at a
 * local server: the sink (sink.ts), the Postfix rig and npm smtp-server
 * where STARTTLS + AUTH are needed (login.ts), the fake transmissions API
 * (api.ts): create() does no I/O; open/deliver/close deliver with one
 * result per recipient and the server's words verbatim; a refused recipient
 * is a result, not an exception; close() is idempotent and safe after a
 * failed open; aborts leak nothing; no form of a secret reaches a line; the
 * per-message fields reach the wire. Sanitizers stay on: a leaked socket
 * fails.
 *
 * @module
 */
import type { DeliveryPlugin } from "../../../core/deliver/types.ts";
import { sharedPostfix } from "../rig.ts";
import { defineApiChecks } from "./api.ts";
import { defineCommonChecks } from "./common.ts";
import { checkRigRedaction, defineLoginChecks, hasPostfix } from "./login.ts";
import { defineOptionChecks } from "./options.ts";
import { defineSinkChecks } from "./sink.ts";
import type { Bound, ContractFixture } from "./types.ts";

export { apiBase, EVERY_FIELD, smtpOptions } from "./types.ts";
export type { ContractFixture, ContractKind, ContractTarget, Endpoint, Wire } from "./types.ts";

/**
 * Defines the contract cases for `plugin`, each named
 * `<id>[ (<mode>)]: <case>`, the same for every plugin.
 */
export function runContract(plugin: DeliveryPlugin, fixture: ContractFixture): void {
  defineOptionChecks(plugin);
  for (const target of fixture.targets) {
    const name = target.mode ? `${plugin.id} (${target.mode})` : plugin.id;
    const bound: Bound = { ...target, plugin, name };
    defineCommonChecks(bound);
    if (target.kind === "sink") defineSinkChecks(bound);
    if (target.kind === "api") defineApiChecks(bound);
    if (target.kind === "login") defineLoginChecks(bound);
    if (target.kind === "login" || target.kind === "sink") {
      Deno.test({
        name: `${name}: over STARTTLS + AUTH, no form of the password reaches any line`,
        ignore: !hasPostfix,
        async fn() {
          await checkRigRedaction(bound, await sharedPostfix());
        },
      });
    }
  }
}
