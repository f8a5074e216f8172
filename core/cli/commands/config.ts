/**
 * `config check`: the resolved delivery profile, key folder, trust bundle
 * and queue, secrets masked, with where each value came from.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { deliveryInputs, loadDelivery } from "../delivery.ts";
import { printLines } from "../output.ts";
import { withDeliveryOptions, withExamples } from "../options.ts";

/** Adds `config check` to the program. */
export function registerConfig(program: Command): void {
  const config = withExamples(
    program.command("config").description("delivery configuration"),
    ["smimepost config check", "smimepost config check --profile pmta --json"],
  );
  const check = withDeliveryOptions(
    config.command("check")
      .description(
        "print the resolved delivery profile, the key folder and trust bundle (and the [nats] " +
          "queue), secrets masked, with where each value came from",
      )
      .option("--json", "one JSON object on stdout (secrets masked)"),
  );
  withExamples(check, [
    "smimepost config check",
    "smimepost config check --config /etc/smimepost/smimepost.toml --profile pmta",
    "smimepost config check --json",
  ]);
  check.action(async (options) => {
    const inputs = deliveryInputs(options);
    const delivery = await loadDelivery(inputs);
    const [
      { describeDelivery, deliveryJson },
      { keyPathLines, keyPathsJson, resolveKeyPaths },
      { queueLines, queueJson, queueSettings },
    ] = await Promise.all([
      import("../../config/mod.ts"),
      import("../../config/key_paths.ts"),
      import("../queue.ts"),
    ]);
    const paths = await resolveKeyPaths(inputs, {});
    const queue = await queueSettings(inputs);
    if (options.json) {
      await printLines([JSON.stringify({
        delivery: delivery ? deliveryJson(delivery) : null,
        ...keyPathsJson(paths),
        queue: queue ? queueJson(queue) : null,
      })]);
      return;
    }
    const lines = delivery
      ? [...describeDelivery(delivery), ...delivery.warnings.map((w) => `warning: ${w}`)]
      : ["no delivery configured: sealed messages go to stdout"];
    lines.push(...keyPathLines(paths));
    if (queue) lines.push(...queueLines(queue));
    await printLines(lines);
  });
}
