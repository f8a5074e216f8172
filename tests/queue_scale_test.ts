/**
 * The job queue at volume and under trouble: 2,000 messages enqueued,
 * three worker processes (the real CLI), one killed with kill -9 mid-run
 * and started again, the NATS server stopped and started mid-run (same
 * store, same port). Every message must arrive; a repeat is allowed only
 * for jobs a worker held when it died or when the server went away.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { natsAvailable, startNats } from "../core/queue/test_nats.ts";
import { startSink } from "../core/sink/mod.ts";
import type { StoredMessage } from "../core/sink/mod.ts";
import { consumerState, messageIdOf, spawnCli, waitFor, writeMessages } from "./support/queue.ts";
import type { CliProcess } from "./support/queue.ts";
import { CLEAN_ENV } from "./support/batch.ts";

const COUNT = 2000;
/** What one worker holds at most with the flags below (see workerCommand: 2*1*3 + 4). */
const HELD_PER_WORKER = 10;

function assertExit(run: CliRun, code: number): void {
  assertEquals(run.code, code, `exit ${run.code}\nstdout: ${run.text}\nstderr: ${run.stderr}`);
}

Deno.test({
  name:
    "queue: 2,000 jobs, three workers, one killed with kill -9 and restarted, the NATS server " +
    "restarted: every message arrives once (repeats only from what was held), status all accepted",
  ignore: !natsAvailable(),
  fn: async () => {
    const nats = await startNats();
    const dir = await Deno.makeTempDir({ prefix: "smimepost-queue-scale-" });
    const sink = await startSink({ port: 0, keep: 3 * COUNT });
    const workers: CliProcess[] = [];
    try {
      const written = await writeMessages(`${dir}/in`, COUNT);
      await Deno.writeTextFile(
        `${dir}/smimepost.toml`,
        `[nats]\nurl = "${nats.url}"\nstream = "SCALE"\nack_wait_seconds = 5\n`,
      );
      const env = {
        ...CLEAN_ENV,
        XDG_CONFIG_HOME: `${dir}/xdg`,
        SMTP_HOST: sink.host,
        SMTP_PORT: String(sink.port),
      };
      const queued = await runCli(["enqueue", "in", "--json"], { cwd: dir, env });
      assertExit(queued, 0);
      assertEquals(JSON.parse(queued.text).queued, COUNT);

      // Unsealed (no --sign): what arrives must be the bytes that were queued.
      const worker = (node: string) =>
        spawnCli(
          [
            "worker",
            "--send_smtp",
            "--until-empty",
            "--workers",
            "0",
            "--sessions",
            "2",
            "--window",
            "1",
            "--node",
            node,
            "-q",
          ],
          { cwd: dir, env },
        );
      for (const node of ["w1", "w2", "w3"]) workers.push(await worker(node));

      await waitFor("a fifth of the messages", () => sink.count >= COUNT / 5);
      workers[0]!.kill("SIGKILL");
      assert(sink.count < COUNT, "killed mid-run");
      const killed = await workers[0]!.done;
      assert(killed.code !== 0, "the worker was killed");

      await waitFor("half of the messages", () => sink.count >= COUNT / 2);
      await nats.stop();
      assert(sink.count < COUNT, "the server stopped mid-run");
      await nats.start();
      workers[0] = await worker("w1-again");

      const runs = await Promise.all(workers.map((w) => w.done));
      for (const run of runs) assertExit(run, 0);

      // Every message arrived; repeats only from jobs held by the killed worker or
      // in flight when the server went away.
      const byId = new Map<string, StoredMessage[]>();
      for (const message of sink.received) {
        const id = messageIdOf(new TextDecoder().decode(message.data)) ?? "";
        byId.set(id, [...(byId.get(id) ?? []), message]);
      }
      const expected = new Map([...written.values()].map((text) => [messageIdOf(text)!, text]));
      assertEquals(byId.size, COUNT, "distinct Message-IDs received");
      for (const id of expected.keys()) assert(byId.has(id), `${id} never arrived`);
      const repeats = sink.count - COUNT;
      assert(
        repeats <= HELD_PER_WORKER * 4,
        `${repeats} repeats: more than the killed worker and the others held`,
      );
      console.error(`queue scale: ${sink.count} received, ${repeats} repeat(s)`);
      // A sample, byte for byte (the sink keeps CRLF; the files were written so).
      let sampled = 0;
      for (const [id, text] of expected) {
        if (sampled++ % 97 !== 0) continue;
        const got = new TextDecoder().decode(byId.get(id)![0]!.data);
        assertEquals(got, text, `${id} arrived changed`);
      }

      const status = await runCli(["status", "--json"], { cwd: dir, env });
      assertExit(status, 0);
      const figures = JSON.parse(status.text);
      assertEquals([figures.queued, figures.in_flight], [0, 0]);
      assertEquals(figures.messages, { accepted: COUNT, partial: 0, failed: 0, uncertain: 0 });
      const state = await consumerState(nats.url, "SCALE");
      assertEquals([state.pending, state.ackPending], [0, 0]);

      // The same inputs again: nothing new goes out.
      const again = await runCli(["enqueue", "in", "--json"], { cwd: dir, env });
      assertExit(again, 0);
      const counts = JSON.parse(again.text);
      assertEquals(counts.queued + counts.duplicates, COUNT);
      const before = sink.count;
      const last = await runCli(
        ["worker", "--send_smtp", "--until-empty", "--workers", "0", "-q"],
        { cwd: dir, env },
      );
      assertExit(last, 0);
      assertEquals(sink.count, before, "enqueueing again delivered something");
    } finally {
      for (const w of workers) w.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.done));
      await sink.close();
      await nats.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
