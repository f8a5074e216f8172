/**
 * The queue commands: `enqueue`, `worker` and `status` (their work is in
 * core/cli/queue.ts, loaded only when one of them runs).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import {
  hideOptions,
  withDeliveryOptions,
  withExamples,
  withInputOptions,
  withKeyOptions,
  withQueueOptions,
  withRunOptions,
  withSealOptions,
} from "../options.ts";
import type { SetStatus } from "../options.ts";

const CONFIG_HELP =
  "config file with a [nats] table (default: ./smimepost.toml, then the user's folder)";

/** Adds `enqueue`, `worker` and `status` to the program. */
export function registerQueue(program: Command, setStatus: SetStatus): void {
  const enqueue = withInputOptions(withQueueOptions(
    program.command("enqueue")
      .description(
        "publish messages as jobs on a NATS JetStream queue, for workers on any node to send",
      )
      .argument("[inputs...]", 'message files, folders of *.eml, or "-" for one message on stdin')
      .option("--config <file>", CONFIG_HELP)
      .option("--json", "one JSON object with the counts on stdout")
      .option("-v, --verbose", "more detail on errors")
      .option("-q, --quiet", "no warnings"),
  ));
  withExamples(enqueue, [
    "smimepost enqueue statements/ --nats nats://queue.internal:4222 --stream NOV",
    "smimepost enqueue --manifest run.jsonl --stream NOV --json",
  ]);
  enqueue.action(async (inputs, options) => {
    const { enqueueCommand } = await import("../queue.ts");
    setStatus(await enqueueCommand(inputs, options));
  });

  const worker = hideOptions(
    withRunOptions(withDeliveryOptions(withKeyOptions(
      withQueueOptions(withSealOptions(
        program.command("worker")
          .description(
            "take jobs from the queue, seal and deliver them as send does, record each outcome",
          ),
      ))
        .option("--node <name>", "this node's name in the results (default: the host name)")
        .option("--until-empty", "exit once nothing is queued and no job is held by any worker")
        .option("--json", "one JSON object per delivered message on stdout")
        .option("--debug-smtp", "print the protocol transcript (secrets redacted) on stderr"),
    ))),
    // send's inputs and journal: refused here, jobs come from the queue.
    ["--mbox", "--manifest", "--journal", "--resume", "--new-journal"],
  );
  withExamples(worker, [
    "smimepost worker --stream NOV --sign --encrypt --profile pmta",
    "smimepost worker --stream NOV --sign --profile pmta --until-empty --json",
  ]);
  worker.action(async (options) => {
    const { workerCommand } = await import("../worker.ts");
    setStatus(await workerCommand(options));
  });

  const status = withQueueOptions(
    program.command("status")
      .description("show a queued run across all nodes: queued, in flight, and every outcome")
      .option("--config <file>", CONFIG_HELP)
      .option("--json", "one JSON object on stdout")
      .option("--report <file>", "write every message's outcome as JSON (as send --report does)")
      .option("-v, --verbose", "more detail on errors")
      .option("-q, --quiet", "no warnings"),
  );
  withExamples(status, [
    "smimepost status --stream NOV",
    "smimepost status --stream NOV --json --report nov.json",
  ]);
  status.action(async (options) => {
    const { statusCommand } = await import("../queue.ts");
    setStatus(await statusCommand(options));
  });
}
