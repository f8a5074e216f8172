/**
 * A real NATS server with JetStream for tests: `nats-server -js` on a free
 * loopback port with its store in a temporary folder, started, stopped and
 * started again (same port, same store), as a restart in production would.
 *
 * ```ts
 * import { natsAvailable, startNats } from "./test_nats.ts";
 *
 * // At the top level of a *_test.ts file (a doc example may not register tests).
 * function defineTest(): void {
 *   Deno.test({
 *     name: "...",
 *     ignore: !natsAvailable(),
 *     fn: async () => {
 *       const nats = await startNats({ maxPayload: 64 * 1024 });
 *       try {
 *         // connect to nats.url
 *       } finally {
 *         await nats.close();
 *       }
 *     },
 *   });
 * }
 * ```
 *
 * @module
 */

/** A running (or stopped) test server. */
export interface TestNats {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The folder holding the store, the config and the log. */
  dir: string;
  /** The server's process id while it runs. */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, waiting for it to exit); the store stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Stops it and deletes its folder. Idempotent. */
  close(): Promise<void>;
}

/** How the server runs. */
export interface TestNatsOptions {
  /** max_payload in bytes (default: the server's 1 MB). */
  maxPayload?: number;
  /** Clients must log in with these. */
  user?: string;
  password?: string;
  /** Or with this token. */
  token?: string;
  /** TLS required, with this server certificate chain and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
}

let reported = false;

/**
 * True when nats-server is installed. When it is not, says so once and the
 * test is skipped, except under CI=true, where it must be: then it throws.
 */
export function natsAvailable(): boolean {
  if (natsServerPath()) return true;
  if (Deno.env.get("CI") === "true") {
    throw new Error("Cannot run the NATS tests under CI=true: nats-server is not installed");
  }
  if (!reported) {
    reported = true;
    console.error(
      "skipping NATS tests: nats-server is not installed (apt-get install nats-server)",
    );
  }
  return false;
}

/**
 * Starts a server with JetStream in a new temporary folder and waits until
 * it accepts connections and JetStream is ready.
 *
 * @throws Error when it does not come up, quoting its log
 */
export async function startNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const dir = await Deno.makeTempDir({ prefix: "smimepost-nats-" });
  const lines = [];
  if (options.maxPayload) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.user) {
    lines.push(
      `authorization { user: ${JSON.stringify(options.user)}, ` +
        `password: ${JSON.stringify(options.password ?? "")} }`,
    );
  }
  if (options.token) lines.push(`authorization { token: ${JSON.stringify(options.token)} }`);
  if (options.tls) {
    lines.push(
      `tls { cert_file: ${JSON.stringify(options.tls.certFile)}, ` +
        `key_file: ${JSON.stringify(options.tls.keyFile)} }`,
    );
  }
  await Deno.writeTextFile(`${dir}/nats.conf`, lines.join("\n") + "\n");
  let port = freePort();
  let child: { process: Deno.ChildProcess; log: Promise<void> } | undefined;
  let closed = false;
  const logFile = `${dir}/nats.log`;
  const launch = async (): Promise<void> => {
    await Deno.writeTextFile(logFile, "", { append: true });
    const marker = (await Deno.readTextFile(logFile)).length;
    const args = ["-js", "-sd", `${dir}/store`, "-a", "127.0.0.1", "-p", String(port)];
    const process = new Deno.Command(natsServerPath()!, {
      args: [...args, "-c", `${dir}/nats.conf`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // The server logs to stderr: copied to the log file, read for "Server is ready".
    child = { process, log: pump(process.stderr, logFile) };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const text = (await Deno.readTextFile(logFile)).slice(marker);
      if (text.includes("Server is ready") && await accepts(port)) return;
      if (text.includes("address already in use")) throw new Error("port taken");
      if (Date.now() > deadline) {
        throw new Error(`nats-server did not start on port ${port}:\n${text.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    if (!child) return;
    const running = child;
    child = undefined;
    try {
      running.process.kill("SIGTERM");
    } catch { /* gone */ }
    await running.process.status;
    await running.log;
  };
  for (let attempt = 0;; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      await stop();
      if (attempt >= 2 || !String(err).includes("port taken")) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        throw err;
      }
      port = freePort();
    }
  }
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.process.pid;
    },
    dir,
    stop,
    async start() {
      if (child) return;
      await launch();
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Appends what the server writes to the log file. */
async function pump(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
  const file = await Deno.open(path, { append: true });
  try {
    for await (const chunk of stream) await file.write(chunk);
  } catch {
    /* the server went away */
  } finally {
    file.close();
  }
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function natsServerPath(): string | undefined {
  const path = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"]);
  for (const folder of path) {
    try {
      if (folder && Deno.statSync(`${folder}/nats-server`).isFile) return `${folder}/nats-server`;
    } catch { /* next */ }
  }
  return undefined;
}
