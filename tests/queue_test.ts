/**
 * The job queue from the CLI as users run it (`deno run` with the compile
 * task's permissions), against a real nats-server with JetStream started
 * per test, the Postfix rig, and the in-repo sink: enqueueing twice queues
 * once, a message without Message-ID deduplicates too, a message over the
 * server's max_payload goes through the object store and arrives byte for
 * byte, SIGTERM finishes what a worker holds and exits 0, and a NATS
 * password shows nowhere.
 */
import { assert, assertEquals, assertIncludes, assertMatch } from "./support/assert.ts";
import { testPki, toLf, tool } from "./support/helpers.ts";
import { runCli } from "../scripts/run_cli.ts";
import type { CliRun } from "../scripts/run_cli.ts";
import { natsAvailable, startNats } from "../core/queue/test_nats.ts";
import type { TestNats } from "../core/queue/test_nats.ts";
import { startSink } from "../core/sink/mod.ts";
import { postfixAvailable, startPostfix } from "./support/rig.ts";
import {
  consumerState,
  messageIdOf,
  spawnCli,
  streamTexts,
  testMessage,
  waitFor,
  writeMessages,
} from "./support/queue.ts";
import { CLEAN_ENV } from "./support/batch.ts";

const ignore = !natsAvailable();

/** A scratch folder with its own XDG_CONFIG_HOME, removed after `fn`. */
async function inScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-queue-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function env(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...CLEAN_ENV, XDG_CONFIG_HOME: `${dir}/xdg`, ...extra };
}

async function keyFlags(): Promise<string[]> {
  const pki = await testPki();
  return ["--keys", pki, "--trust", `${pki}/trust.pem`];
}

function assertExit(run: CliRun, code: number): void {
  assertEquals(run.code, code, `exit ${run.code}\nstdout: ${run.text}\nstderr: ${run.stderr}`);
}

/** Asserts a refusal: the exit code, one line on stderr naming `parts`, no stack. */
function assertRefused(run: CliRun, code: number, ...parts: string[]): void {
  assertExit(run, code);
  assertEquals(run.stderr.trimEnd().split("\n").length, 1, `one line expected: ${run.stderr}`);
  for (const part of parts) assertIncludes(run.stderr, part);
  assert(!run.stderr.includes("    at "), "no stack trace");
}

async function withNats<T>(
  options: Parameters<typeof startNats>[0],
  fn: (nats: TestNats) => Promise<T>,
): Promise<T> {
  const nats = await startNats(options);
  try {
    return await fn(nats);
  } finally {
    await nats.close();
  }
}

Deno.test({
  name: "enqueue: the same folder twice queues each message once; the second run counts duplicates",
  ignore,
  fn: () =>
    withNats({}, (nats) =>
      inScratch(async (dir) => {
        await writeMessages(`${dir}/in`, 5);
        const noId = testMessage(6, { id: null });
        await Deno.writeTextFile(`${dir}/in/no-id.eml`, noId);
        const args = ["enqueue", `${dir}/in`, "--nats", nats.url, "--stream", "DEDUPE", "--json"];
        const first = await runCli(args, { env: env(dir) });
        assertExit(first, 0);
        const counts = JSON.parse(first.text);
        assertEquals(
          [counts.queued, counts.duplicates, counts.failed, counts.added_message_ids],
          [6, 0, 0, 1],
        );
        const second = await runCli(args, { env: env(dir) });
        assertExit(second, 0);
        const again = JSON.parse(second.text);
        // The message without a Message-ID got the same derived one, so it deduplicates too.
        assertEquals([again.queued, again.duplicates, again.failed], [0, 6, 0]);
        assertEquals((await consumerState(nats.url, "DEDUPE")).pending, 6);
        const plain = await runCli(args.slice(0, -1), { env: env(dir) });
        assertExit(plain, 0);
        assertEquals(
          plain.text,
          "queued 0, duplicates 6, failed to read 0 (1 given a Message-ID)\n",
        );
        const status = await runCli(["status", "--nats", nats.url, "--stream", "DEDUPE"], {
          env: env(dir),
        });
        assertExit(status, 0);
        assertIncludes(status.text, "queued 6, in flight 0\n");
      })),
});

Deno.test({
  name: "enqueue + worker: a message over max_payload goes through the object store and arrives " +
    "at Postfix byte for byte; the object is deleted",
  ignore: ignore || !postfixAvailable(),
  fn: () =>
    withNats({ maxPayload: 64 * 1024 }, (nats) =>
      inScratch(async (dir) => {
        const rig = await startPostfix();
        try {
          await Deno.mkdir(`${dir}/in`);
          const big = testMessage(1, {
            to: "big@example.net",
            body: Array.from({ length: 3000 }, (_, i) => `line ${i} ${"x".repeat(60)}`).join("\n"),
          });
          const small = testMessage(2, { to: "small@example.net" });
          const noId = testMessage(3, { to: "noid@example.net", id: null });
          await Deno.writeTextFile(`${dir}/in/big.eml`, big);
          await Deno.writeTextFile(`${dir}/in/small.eml`, small);
          await Deno.writeTextFile(`${dir}/in/noid.eml`, noId);
          assert(big.length > 128 * 1024, "the big message exceeds max_payload");
          const queued = await runCli(
            ["enqueue", `${dir}/in`, "--nats", nats.url, "--stream", "BIG", "--json"],
            { env: env(dir) },
          );
          assertExit(queued, 0);
          const counts = JSON.parse(queued.text);
          assertEquals([counts.queued, counts.objects], [3, 1]);
          assertEquals((await consumerState(nats.url, "BIG")).objects > 0, true);
          const worker = await runCli(
            [
              "worker",
              "--nats",
              nats.url,
              "--stream",
              "BIG",
              "--send_smtp",
              "--until-empty",
              "--workers",
              "0",
              "-q",
              ...await keyFlags(),
            ],
            { env: env(dir, { SMTP_HOST: rig.host, SMTP_PORT: String(rig.smtpPort) }) },
          );
          assertExit(worker, 0);
          const arrived = await rig.waitForRecipient("big@example.net");
          assert(
            sameText(arrived.eml, toLf(new TextEncoder().encode(big))),
            "the big message arrived changed",
          );
          const other = await rig.waitForRecipient("small@example.net");
          assert(sameText(other.eml, toLf(new TextEncoder().encode(small))));
          // The Message-ID added at enqueue is the first field; the rest is as written.
          const withId = new TextDecoder().decode(
            (await rig.waitForRecipient("noid@example.net")).eml,
          );
          const [first, ...rest] = withId.split("\n");
          assert(/^Message-ID: <[0-9a-f]{32}@example\.com>$/.test(first!), first);
          assertEquals(
            rest.join("\n"),
            new TextDecoder().decode(toLf(new TextEncoder().encode(noId))),
          );
          const state = await consumerState(nats.url, "BIG");
          assertEquals([state.pending, state.ackPending, state.results], [0, 0, 3]);
          assertEquals(state.objects, 0, "the object was deleted after its outcome");
          const status = await runCli(
            [
              "status",
              "--nats",
              nats.url,
              "--stream",
              "BIG",
              "--json",
              "--report",
              `${dir}/r.json`,
            ],
            { env: env(dir) },
          );
          assertExit(status, 0);
          const figures = JSON.parse(status.text);
          assertEquals([figures.queued, figures.in_flight], [0, 0]);
          assertEquals(figures.messages, { accepted: 3, partial: 0, failed: 0, uncertain: 0 });
          assertEquals((await Deno.stat(`${dir}/r.json`)).mode! & 0o777, 0o600);
          const report = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
          assertEquals(report.messages.length, 3);
          assertEquals(report.summary.messages.accepted, 3);
          const ids = report.messages.map((m: { message_id: string }) => m.message_id).sort();
          assertEquals(ids.includes(messageIdOf(big)), true);
        } finally {
          await rig.stop();
        }
      })),
});

function sameText(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

Deno.test({
  name: "worker: a message enqueued again after the duplicate window is found done and not sent",
  ignore,
  fn: () =>
    withNats({}, (nats) =>
      inScratch(async (dir) => {
        await writeMessages(`${dir}/in`, 3);
        await Deno.writeTextFile(
          `${dir}/smimepost.toml`,
          `[nats]\nurl = "${nats.url}"\nstream = "AGAIN"\nduplicate_window_seconds = 1\n`,
        );
        const sink = await startSink({ port: 0 });
        try {
          const smtp = env(dir, { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) });
          const enqueue = () => runCli(["enqueue", "in", "--json"], { cwd: dir, env: smtp });
          assertEquals(JSON.parse((await enqueue()).text).queued, 3);
          const work = ["worker", "--send_smtp", "--until-empty", "--workers", "0"];
          assertExit(await runCli([...work, "-q"], { cwd: dir, env: smtp }), 0);
          assertEquals(sink.count, 3);
          // Once the server has forgotten the ids, the same inputs queue again...
          await waitFor("the duplicate window to pass", async () => {
            return JSON.parse((await enqueue()).text).queued === 3;
          });
          // ...and a worker finds their outcome recorded: nothing goes out twice.
          const again = await runCli(work, { cwd: dir, env: smtp });
          assertExit(again, 0);
          assertIncludes(again.stderr, "0 job(s) recorded, 3 already done, 0 handed back");
          assertEquals(sink.count, 3);
          assertEquals((await consumerState(nats.url, "AGAIN")).ackPending, 0);
        } finally {
          await sink.close();
        }
      })),
});

Deno.test({
  name: "worker: jobs held longer than the ack wait stay with their worker (working()): two " +
    "workers, none redelivered, none sent twice",
  ignore,
  fn: () =>
    withNats({}, (nats) =>
      inScratch(async (dir) => {
        await writeMessages(`${dir}/in`, 16);
        await Deno.writeTextFile(
          `${dir}/smimepost.toml`,
          `[nats]\nurl = "${nats.url}"\nstream = "SLOW"\nack_wait_seconds = 5\n`,
        );
        // Each reply waits: a worker holding 8 jobs on one session keeps the last one
        // well past the 5 s ack wait.
        const sink = await startSink({ port: 0, faults: { replyDelayMs: 250 } });
        try {
          const smtp = env(dir, { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) });
          assertExit(await runCli(["enqueue", "in"], { cwd: dir, env: smtp }), 0);
          const work = [
            "worker",
            "--send_smtp",
            "--until-empty",
            "--workers",
            "0",
            "--sessions",
            "1",
            "--window",
            "1",
            "-q",
          ];
          const started = performance.now();
          const runs = await Promise.all([
            spawnCli(work, { cwd: dir, env: smtp }),
            spawnCli(work, { cwd: dir, env: smtp }),
          ].map(async (w) => (await w).done));
          for (const run of runs) assertExit(run, 0);
          const seconds = (performance.now() - started) / 1000;
          const results = (await streamTexts(nats.url, "SLOW_RESULTS")).map((t) =>
            JSON.parse(t.slice(t.indexOf("{")))
          );
          assertEquals(results.length, 16);
          assertEquals(sink.count, 16, "a message went out twice");
          assertEquals(
            results.filter((r) => r.deliveries !== 1).length,
            0,
            "a job was redelivered",
          );
          // Only meaningful when some job was held past the ack wait: the run lasted longer.
          assert(seconds > 5, `the run took ${seconds.toFixed(1)} s, under the ack wait`);
        } finally {
          await sink.close();
        }
      })),
});

Deno.test({
  name: "worker: SIGTERM finishes the jobs in hand, records them, exits 0 and leaves none unacked",
  ignore,
  fn: () =>
    withNats({}, (nats) =>
      inScratch(async (dir) => {
        const sent = await writeMessages(`${dir}/in`, 150);
        const queued = await runCli([
          "enqueue",
          `${dir}/in`,
          "--nats",
          nats.url,
          "--stream",
          "TERM",
        ], {
          env: env(dir),
        });
        assertExit(queued, 0);
        // A slow receiver, so the worker is mid-run when the signal comes.
        const sink = await startSink({ port: 0, faults: { replyDelayMs: 15 } });
        try {
          const worker = await spawnCli(
            [
              "worker",
              "--nats",
              nats.url,
              "--stream",
              "TERM",
              "--send_smtp",
              "--workers",
              "0",
              "--sessions",
              "2",
              ...await keyFlags(),
            ],
            { env: env(dir, { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) }) },
          );
          await waitFor("20 deliveries", () => sink.count >= 20);
          worker.kill("SIGTERM");
          const run = await worker.done;
          assertExit(run, 0);
          assertIncludes(run.stderr, "stopping: finishing the jobs in hand");
          const state = await consumerState(nats.url, "TERM");
          assertEquals(state.ackPending, 0, "nothing left unacknowledged");
          // Every delivered message has its result; the rest is still queued.
          assertEquals(state.results, sink.count);
          assertEquals(state.pending + state.results, sent.size);
          assert(state.pending > 0, "the worker stopped before the end");
        } finally {
          await sink.close();
        }
      })),
});

Deno.test({
  name: "worker: AUTH refused stops the run with exit 77 and hands every job back; another " +
    "worker delivers them all",
  ignore: ignore || !postfixAvailable(),
  fn: () =>
    withNats({}, (nats) =>
      inScratch(async (dir) => {
        const rig = await startPostfix();
        try {
          await writeMessages(`${dir}/in`, 20);
          const queue = ["--nats", nats.url, "--stream", "FATAL"];
          assertExit(await runCli(["enqueue", `${dir}/in`, ...queue], { env: env(dir) }), 0);
          const wrong = `wrong-${crypto.randomUUID()}`;
          const work = ["worker", ...queue, "--send_smtp", "--until-empty", "--workers", "0"];
          const refused = await runCli([...work, "-q", ...await keyFlags()], {
            env: env(dir, {
              SMTP_HOST: rig.host,
              SMTP_PORT: String(rig.submitPort),
              SMTP_TLS: "require",
              SMTP_CA_FILE: rig.caFile,
              SMTP_USER: rig.user,
              SMTP_PASSWORD: wrong,
            }),
          });
          assertExit(refused, 77);
          assert(!refused.stderr.includes(wrong), "password on stderr");
          let state = await consumerState(nats.url, "FATAL");
          assertEquals(state.results, 0, "a job given up by a stopped run is not an outcome");
          assertEquals(state.pending + state.ackPending, 20);
          const good = await runCli([...work, "-q", ...await keyFlags()], {
            env: env(dir, { SMTP_HOST: rig.host, SMTP_PORT: String(rig.smtpPort) }),
          });
          assertExit(good, 0);
          for (let i = 1; i <= 20; i++) await rig.waitForRecipient(`user${i}@example.net`);
          state = await consumerState(nats.url, "FATAL");
          assertEquals([state.pending, state.ackPending, state.results], [0, 0, 20]);
        } finally {
          await rig.stop();
        }
      })),
});

Deno.test({
  name: "queue commands: exit codes for no server, no URL, unreadable input, refused login",
  ignore,
  fn: () =>
    withNats({ user: "queue", password: "right-password" }, (nats) =>
      inScratch(async (dir) => {
        await writeMessages(`${dir}/in`, 1);
        const nobody = `nats://127.0.0.1:${
          (await import("../core/queue/test_nats.ts")).freePort()
        }`;
        assertRefused(
          await runCli(["enqueue", `${dir}/in`, "--nats", nobody], { env: env(dir) }),
          69,
          `Cannot connect to NATS at ${nobody}: connection refused`,
        );
        assertRefused(
          await runCli(["status", "--nats", nobody], { env: env(dir) }),
          69,
          nobody,
        );
        assertRefused(
          await runCli(["enqueue", `${dir}/in`], { env: env(dir) }),
          64,
          "no NATS server",
        );
        assertRefused(
          await runCli(["enqueue", "--nats", nats.url], { env: env(dir) }),
          64,
          "no input",
        );
        const login = { SMIMEPOST_NATS_USER: "queue", SMIMEPOST_NATS_PASSWORD: "wrong-password" };
        const refused = await runCli(["enqueue", `${dir}/in`, "--nats", nats.url], {
          env: env(dir, login),
        });
        assertRefused(refused, 77, "authorization refused", "SMIMEPOST_NATS_PASSWORD", nats.url);
        assert(!refused.stderr.includes("wrong-password"));
        const ok = { ...login, SMIMEPOST_NATS_PASSWORD: "right-password" };
        const missing = await runCli(["enqueue", `${dir}/nothing.eml`, "--nats", nats.url], {
          env: env(dir, ok),
        });
        assertExit(missing, 66);
        assertIncludes(missing.text, "queued 0, duplicates 0, failed to read 1");
        const partly = await runCli(
          ["enqueue", `${dir}/in`, `${dir}/nothing.eml`, "--nats", nats.url],
          { env: env(dir, ok) },
        );
        assertExit(partly, 3);
        assertRefused(
          await runCli(["status", "--nats", nats.url, "--stream", "NOSUCH"], { env: env(dir, ok) }),
          66,
          "no such stream",
        );
        assertRefused(
          await runCli(["worker", "--nats", nats.url, "--mbox", "x.mbox", "--send_smtp"], {
            env: env(dir, ok),
          }),
          64,
          "--mbox does not apply",
        );
      })),
});

Deno.test({
  name:
    "queue commands: TLS with tls_ca_file, a token from [nats]; an unverified server is refused",
  ignore,
  fn: () =>
    inScratch(async (dir) => {
      await makeServerCertificate(dir);
      const token = `token-${crypto.randomUUID()}`;
      await withNats(
        { token, tls: { certFile: `${dir}/server.pem`, keyFile: `${dir}/server.key` } },
        async (nats) => {
          await writeMessages(`${dir}/in`, 2);
          const url = nats.url.replace("nats://", "tls://");
          await Deno.writeTextFile(
            `${dir}/smimepost.toml`,
            `[nats]\nurl = "${url}"\nstream = "TLS"\ntoken_file = "token"\n` +
              `tls_ca_file = "ca.pem"\n`,
            { mode: 0o600 },
          );
          await Deno.writeTextFile(`${dir}/token`, `${token}\n`);
          const queued = await runCli(["enqueue", "in", "--json"], { cwd: dir, env: env(dir) });
          assertExit(queued, 0);
          assertEquals(JSON.parse(queued.text).queued, 2);
          const status = await runCli(["status"], { cwd: dir, env: env(dir) });
          assertExit(status, 0);
          assertIncludes(status.text, "queued 2, in flight 0");
          // Without the CA the server's certificate does not verify.
          const unverified = await runCli(["status", "--nats", url], { env: env(dir) });
          assertExit(unverified, 69);
          assertIncludes(unverified.stderr, `Cannot connect to NATS at ${url}`);
          const noToken = await runCli(
            ["status", "--config", `${dir}/smimepost.toml`],
            { env: env(dir, { SMIMEPOST_NATS_TOKEN: "not-it" }) },
          );
          assertRefused(noToken, 77, "authorization refused", "SMIMEPOST_NATS_TOKEN");
          for (const run of [queued, status, unverified, noToken]) {
            assert(!run.stderr.includes(token) && !run.text.includes(token), "token shown");
          }
        },
      );
    }),
});

/** A test CA (ca.pem) and a server certificate for 127.0.0.1 signed by it (server.pem/key). */
async function makeServerCertificate(dir: string): Promise<void> {
  const run = async (args: string[]) => {
    const out = await tool("openssl", args, undefined, dir);
    assertEquals(out.code, 0, out.stderr);
  };
  await Deno.writeTextFile(`${dir}/san.ext`, "subjectAltName=IP:127.0.0.1\n");
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=smimepost test NATS CA",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
}

Deno.test({
  name: "queue commands: a NATS password from [nats] appears in no output, file or stream",
  ignore,
  fn: () => {
    const password = `nats-${crypto.randomUUID()}`;
    return withNats({ user: "queue", password }, (nats) =>
      inScratch(async (dir) => {
        await writeMessages(`${dir}/in`, 4);
        await Deno.writeTextFile(
          `${dir}/smimepost.toml`,
          `[nats]\nurl = "${nats.url}"\nstream = "SECRET"\nuser = "queue"\n` +
            `password = "${password}"\n`,
          { mode: 0o600 },
        );
        const sink = await startSink({ port: 0 });
        const runs: CliRun[] = [];
        try {
          const smtp = { SMTP_HOST: sink.host, SMTP_PORT: String(sink.port) };
          runs.push(await runCli(["enqueue", "in", "-v", "--json"], { cwd: dir, env: env(dir) }));
          assertExit(runs.at(-1)!, 0);
          runs.push(await runCli(["config", "check"], { cwd: dir, env: env(dir) }));
          assertExit(runs.at(-1)!, 0);
          assertIncludes(runs.at(-1)!.text, "queue: stream SECRET on nats://127.0.0.1:");
          assertMatch(
            runs.at(-1)!.text,
            /^ {2}password = \*{4} +\(file smimepost\.toml \[nats\]\)$/m,
          );
          runs.push(
            await runCli(
              [
                "worker",
                "--send_smtp",
                "--until-empty",
                "--workers",
                "0",
                "--json",
                "-v",
                "--report",
                "worker.json",
                ...await keyFlags(),
              ],
              { cwd: dir, env: env(dir, smtp) },
            ),
          );
          assertExit(runs.at(-1)!, 0);
          runs.push(
            await runCli(["status", "-v", "--report", "status.json"], { cwd: dir, env: env(dir) }),
          );
          assertExit(runs.at(-1)!, 0);
          assertIncludes(runs.at(-1)!.text, "accepted 4");
          // The password in the URL: a warning that names no secret; masked in errors.
          const inUrl = nats.url.replace("nats://", `nats://queue:${password}@`);
          runs.push(
            await runCli(["status", "--nats", inUrl, "--stream", "SECRET"], { env: env(dir) }),
          );
          assertExit(runs.at(-1)!, 0);
          assertIncludes(runs.at(-1)!.stderr, "a password in the URL is visible");
          const wrong = inUrl.replace(password, `${password}x`);
          runs.push(await runCli(["status", "--nats", wrong, "-v"], { env: env(dir) }));
          assertExit(runs.at(-1)!, 77);
          // A wrong password file: the error names the key, not the value.
          await Deno.writeTextFile(`${dir}/pw`, `${password}-old\n`);
          await Deno.writeTextFile(
            `${dir}/other.toml`,
            `[nats]\nurl = "${nats.url}"\nuser = "queue"\npassword_file = "pw"\n`,
          );
          runs.push(
            await runCli(["status", "--config", "other.toml"], { cwd: dir, env: env(dir) }),
          );
          assertRefused(runs.at(-1)!, 77, "nats.password_file", nats.url);
        } finally {
          await sink.close();
        }
        for (const run of runs) {
          assert(!run.text.includes(password), `password on stdout: ${run.text}`);
          assert(!run.stderr.includes(password), `password on stderr: ${run.stderr}`);
        }
        for (const file of ["worker.json", "status.json"]) {
          assert(!(await Deno.readTextFile(`${dir}/${file}`)).includes(password), file);
        }
        const login = { user: "queue", pass: password };
        for (const stream of ["SECRET", "SECRET_RESULTS"]) {
          for (const text of await streamTexts(nats.url, stream, login)) {
            assert(!text.includes(password), `password in stream ${stream}`);
          }
        }
      }));
  },
});

/** The modules `root` loads before running: its static imports, transitively. */
async function staticModules(root: string): Promise<string[]> {
  const run = await tool(Deno.execPath(), ["info", "--json", root]);
  assertEquals(run.code, 0, run.stderr);
  const info = JSON.parse(new TextDecoder().decode(run.stdout));
  const modules = new Map<string, { dependencies?: Dependency[] }>(
    info.modules.map((m: { specifier: string }) => [m.specifier, m]),
  );
  const seen = new Set<string>();
  const stack: string[] = [...info.roots];
  while (stack.length) {
    const specifier = stack.pop()!;
    const resolved = info.redirects[specifier] ?? specifier;
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    for (const dep of modules.get(resolved)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code?.specifier) stack.push(dep.code.specifier);
    }
  }
  return [...seen];
}

interface Dependency {
  isDynamic?: boolean;
  code?: { specifier: string };
}

Deno.test("cli.ts: send, one message or a run, loads no NATS module; the queue commands do", async () => {
  const root = new URL("../", import.meta.url);
  const isQueue = (s: string) =>
    s.includes("@nats-io") || s.startsWith(new URL("core/queue/", root).href) ||
    s === new URL("core/config/nats.ts", root).href;
  for (const entry of ["cli.ts", "core/cli/run.ts", "core/cli/queue.ts", "core/cli/worker.ts"]) {
    const loaded = await staticModules(new URL(entry, root).pathname);
    assert(loaded.length > 1, `${entry}: no graph`);
    assertEquals(loaded.filter(isQueue), [], `${entry} loads NATS modules up front`);
  }
  const queue = await staticModules(new URL("core/queue/consumer.ts", root).pathname);
  assert(queue.some((s) => s.includes("@nats-io")), "the graph does show NATS modules");
});
