/**
 * The sink: a small SMTP server (no TLS, no AUTH) that accepts everything,
 * keeps it, and can be told to misbehave. It is the safe dry-run target of
 * `smimepost sink` and `deno task demo`, the programmable server of the
 * fault tests, and a benchmark target.
 *
 * Strict by default: a bare CR or bare LF in a command or in DATA is refused
 * with `500 5.5.2`, so a client that could take part in SMTP smuggling
 * (CVE-2023-51764) fails here rather than at a real MTA that lets it through.
 *
 * @example
 * ```ts
 * import { startSink } from "./mod.ts";
 * const sink = await startSink({ port: 0 });
 * console.log(`listening on ${sink.host}:${sink.port}`);
 * await sink.close();
 * ```
 *
 * @module
 */
import { createServer } from "node:net";
import type { Server } from "node:net";
import { reasonOf, SmimeError } from "../errors.ts";
import { SmtpSession } from "./session.ts";
import type { SessionContext } from "./session.ts";
import { MessageStore } from "./store.ts";
import type { SinkOptions, SinkServer } from "./types.ts";

export type { SinkFaults, SinkOptions, SinkServer, StoredMessage } from "./types.ts";

/** RFC 1870 SIZE the sink announces unless told otherwise: 50 MB. */
export const DEFAULT_MAX_SIZE = 50 * 1024 * 1024;
/** How many messages {@link SinkServer.received} keeps unless told otherwise. */
export const DEFAULT_KEEP = 10_000;

/**
 * Starts a sink and resolves once it listens.
 *
 * @param options where to listen and store; see {@link SinkOptions}
 * @throws SmimeError E_USAGE for a bad port, E_UNAVAILABLE when it cannot
 *   listen (port taken) or E_OUTPUT when the folder cannot be created
 */
export async function startSink(options: SinkOptions): Promise<SinkServer> {
  const host = options.host ?? "127.0.0.1";
  const { port } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SmimeError("E_USAGE", `Cannot start the sink: port ${port} is not 0-65535`);
  }
  if (options.dir === "") {
    throw new SmimeError("E_USAGE", "Cannot start the sink: the store folder name is empty");
  }
  const dir = options.dir?.replace(/(.)\/+$/, "$1");
  if (dir !== undefined) {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (err) {
      throw new SmimeError("E_OUTPUT", `Cannot create the sink folder ${dir}: ${reasonOf(err)}`, {
        cause: err,
      });
    }
  }
  const store = new MessageStore(dir, options.keep ?? DEFAULT_KEEP);
  const ctx: SessionContext = {
    hostname: options.hostname ?? "sink.smimepost.invalid",
    strict: options.strict ?? true,
    maxSize: options.maxSize ?? DEFAULT_MAX_SIZE,
    faults: options.faults ?? {},
    store,
    nextId: idGenerator(),
    log: options.log,
  };
  const sessions = new Set<SmtpSession>();
  let closing: Promise<void> | undefined;
  const server = createServer((socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const session = new SmtpSession(socket, ctx);
    sessions.add(session);
    session.closed.then(() => sessions.delete(session));
  });
  const bound = await listen(server, host, port);
  return {
    host,
    port: bound,
    get received() {
      return store.received;
    },
    get count() {
      return store.count;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...sessions].map((session) => session.shutdown()));
        await stopped;
      })();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      reject(
        new SmimeError(
          "E_UNAVAILABLE",
          `Cannot start the sink on ${host}:${port}: ${err.message}`,
          {
            cause: err,
          },
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/**
 * Queue ids unique across sinks sharing a folder: a per-server prefix from
 * the clock and randomness, then a counter (sorts in arrival order).
 */
function idGenerator(): () => string {
  const random = crypto.getRandomValues(new Uint8Array(3));
  const prefix = (Date.now().toString(36).slice(-6) +
    [...random].map((b) => b.toString(16).padStart(2, "0")).join("")).toUpperCase();
  let counter = 0;
  return () => prefix + (++counter).toString(36).toUpperCase().padStart(5, "0");
}
