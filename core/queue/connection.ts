/**
 * Connecting to the NATS server of a run, with the credentials and TLS of
 * the [nats] settings, and setting up the run's streams and consumer. Every
 * failure of the NATS client becomes one line (a SmimeError) that names the
 * server without credentials and, for a refused login, the config keys
 * involved; no secret ever appears in it.
 *
 * @module
 */
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { isIP } from "node:net";
import { reasonOf, SmimeError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { fileErrorReason } from "../io.ts";
import { escapeControls } from "../printable.ts";
import { redact } from "../config/secrets.ts";
import type { NatsSettings } from "../config/nats.ts";
import { runNames } from "./names.ts";
import type { RunNames } from "./names.ts";

/** An open connection to a run's server, with its JetStream handles. */
export interface QueueConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: RunNames;
  settings: NatsSettings;
  /** Every secret of the connection (settings and `.creds`), for redact. */
  secrets: string[];
  /** Turns any NATS client error into a one-line SmimeError. */
  fail(err: unknown, action: string): SmimeError;
  /** Closes the connection, flushing what is buffered; never throws. */
  close(): Promise<void>;
}

/** How a command uses the connection. */
export interface ConnectOptions {
  /** Shown to the server's monitoring: "smimepost worker host:pid". */
  name: string;
  /** Keep reconnecting for ever (a worker rides out a server restart). */
  persistent: boolean;
}

/**
 * Connects, checks that JetStream is there, and returns the handles.
 *
 * @throws {SmimeError} E_CONFIG for an unreadable `.creds` file; E_UNAVAILABLE
 *   when the server can't be reached or has no JetStream; E_AUTH when it
 *   refuses the login; E_TLS for TLS trouble
 */
export async function openQueue(
  settings: NatsSettings,
  options: ConnectOptions,
): Promise<QueueConnection> {
  const secrets = [...settings.secrets];
  const connection: NodeConnectionOptions = {
    servers: settings.servers,
    name: options.name,
    timeout: 5000,
    pingInterval: 10_000,
    maxPingOut: 3,
    reconnect: true,
    maxReconnectAttempts: options.persistent ? -1 : 20,
    reconnectTimeWait: 500,
  };
  if (settings.user !== undefined) connection.user = settings.user;
  if (settings.password !== undefined) connection.pass = settings.password;
  if (settings.token !== undefined) connection.token = settings.token;
  if (settings.credsFile) {
    const creds = await readCreds(settings.credsFile, settings.where.creds ?? "nats.creds");
    secrets.push(...creds.secrets);
    connection.authenticator = credsAuthenticator(creds.bytes);
  }
  if (settings.tls) {
    const { caFile, certFile, keyFile } = settings.tls;
    connection.tls = {};
    // A server given by IP address: the client checks the certificate against that address
    // (nats.js names no host for an IP, and node:tls would then check "localhost").
    const ip = ipOf(settings.servers);
    if (ip) Object.assign(connection.tls, { host: ip });
    if (caFile) connection.tls.caFile = caFile;
    if (certFile) connection.tls.certFile = certFile;
    if (keyFile) connection.tls.keyFile = keyFile;
  }
  const fail = (err: unknown, action: string) => natsError(err, settings, action, secrets);
  let nc: NatsConnection;
  try {
    nc = await connect(connection);
  } catch (err) {
    throw fail(err, "connect to");
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const js = jetstream(nc, { timeout: 10_000 });
    return {
      nc,
      js,
      jsm,
      names: runNames(settings.stream),
      settings,
      secrets,
      fail,
      close: async () => {
        await nc.close().catch(() => {});
      },
    };
  } catch (err) {
    await nc.close().catch(() => {});
    throw fail(err, "use JetStream on");
  }
}

/**
 * Creates the run's streams and the workers' consumer when they are missing
 * (a run already set up is left as it is).
 *
 * @throws {SmimeError} E_CONFIG when a stream of that name exists but is not a smimepost one
 */
export async function setUpRun(queue: QueueConnection): Promise<void> {
  const { jsm, names, settings } = queue;
  const window = settings.duplicateWindowMs * 1_000_000;
  try {
    const jobs = await streamInfo(jsm, names.stream);
    if (!jobs) {
      await jsm.streams.add({
        name: names.stream,
        subjects: [names.jobsSubject],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: window,
      });
    } else if (
      jobs.config.retention !== RetentionPolicy.Workqueue ||
      !jobs.config.subjects?.includes(names.jobsSubject)
    ) {
      throw new SmimeError(
        "E_CONFIG",
        `stream ${names.stream} on ${settings.display} is not a smimepost job queue ` +
          `(choose another with --stream)`,
      );
    }
    if (!await streamInfo(jsm, names.resultsStream)) {
      await jsm.streams.add({
        name: names.resultsStream,
        subjects: [names.resultsFilter],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        duplicate_window: window,
      });
    }
    const consumer = await jsm.consumers.info(names.stream, names.consumer).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!consumer) {
      await jsm.consumers.add(names.stream, {
        durable_name: names.consumer,
        ack_policy: AckPolicy.Explicit,
        ack_wait: settings.ackWaitMs * 1_000_000,
        max_deliver: -1,
        max_ack_pending: 10_000,
      });
    }
  } catch (err) {
    if (err instanceof SmimeError) throw err;
    throw queue.fail(err, `set up stream ${names.stream} on`);
  }
}

/** The stream's info, or undefined when there is no such stream. */
export async function streamInfo(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A JetStream "not found" (stream, consumer, message). */
export function isNotFound(err: unknown): boolean {
  const name = (err as Error | undefined)?.name ?? "";
  const message = reasonOf(err).toLowerCase();
  return name === "StreamNotFoundError" || name === "ConsumerNotFoundError" ||
    message.includes("not found");
}

/** The address of the only server, when it is given as an IP address. */
function ipOf(servers: string[]): string | undefined {
  if (servers.length !== 1) return undefined;
  const host = new URL(servers[0]!).hostname.replace(/^\[|\]$/g, "");
  return isIP(host) ? host : undefined;
}

async function readCreds(path: string, where: string) {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new SmimeError("E_CONFIG", `${where}: cannot read ${path}: ${fileErrorReason(err)}`);
  }
  // The JWT and the seed between the BEGIN/END lines are secrets.
  const secrets = new TextDecoder().decode(bytes).split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith("-") && !l.includes(" "));
  if (!secrets.some((s) => s.startsWith("SU"))) {
    throw new SmimeError(
      "E_CONFIG",
      `${where}: ${path} holds no user NKey seed (not a .creds file)`,
    );
  }
  return { bytes, secrets };
}

/**
 * One line for a NATS client failure: "Cannot connect to NATS at
 * nats://host:4222: authorization refused (nats.user, nats.password)".
 */
export function natsError(
  err: unknown,
  settings: NatsSettings,
  action: string,
  secrets: readonly string[] = settings.secrets,
): SmimeError {
  if (err instanceof SmimeError) return err;
  const { code, reason } = classify(err, settings);
  // The reason may quote the server (-ERR '...'): escaped for the terminal, then masked.
  const text = `Cannot ${action} NATS at ${settings.display}: ${escapeControls(reason)}`;
  return new SmimeError(code, redact(text, secrets), { cause: err });
}

function classify(err: unknown, settings: NatsSettings): { code: ErrorCode; reason: string } {
  const name = (err as Error | undefined)?.name ?? "";
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const text = reasonOf(err);
  const lower = `${text} ${cause?.message ?? ""}`.toLowerCase();
  if (name === "AuthorizationError" || lower.includes("authorization violation")) {
    return { code: "E_AUTH", reason: `authorization refused${credentialKeys(settings)}` };
  }
  if (name === "UserAuthenticationExpiredError" || lower.includes("expired")) {
    return { code: "E_AUTH", reason: `credentials expired${credentialKeys(settings)}` };
  }
  if (name === "PermissionViolationError" || lower.includes("permissions violation")) {
    return { code: "E_AUTH", reason: `permission denied: ${text}${credentialKeys(settings)}` };
  }
  if (name === "JetStreamNotEnabled" || lower.includes("jetstream not enabled")) {
    return { code: "E_UNAVAILABLE", reason: "JetStream is not enabled there (nats-server -js)" };
  }
  if (lower.includes("tls") || lower.includes("certificate") || lower.includes("ssl")) {
    return { code: "E_TLS", reason: text };
  }
  if (cause?.code === "ECONNREFUSED" || lower.includes("connection refused")) {
    return { code: "E_UNAVAILABLE", reason: "connection refused" };
  }
  if (cause?.code === "ENOTFOUND" || lower.includes("enotfound")) {
    return { code: "E_UNAVAILABLE", reason: "host not found" };
  }
  if (name === "TimeoutError" || lower.includes("timeout")) {
    return { code: "E_UNAVAILABLE", reason: "no answer in time" };
  }
  if (name === "NoRespondersError" || lower.includes("no responders")) {
    return { code: "E_UNAVAILABLE", reason: "no responders (JetStream unavailable)" };
  }
  if (name === "ClosedConnectionError" || name === "ConnectionError") {
    return { code: "E_UNAVAILABLE", reason: text };
  }
  if (name === "JetStreamApiError" || name === "JetStreamError") {
    return { code: "E_UNAVAILABLE", reason: text };
  }
  return { code: "E_UNAVAILABLE", reason: text };
}

/** " (nats.user, nats.password)": where the refused credentials came from. */
function credentialKeys(settings: NatsSettings): string {
  const keys = ["user", "password", "token", "creds"]
    .filter((k) => settings.where[k] !== undefined)
    .map((k) => settings.where[k]!);
  const unique = [...new Set(keys)];
  return unique.length ? ` (${unique.join(", ")})` : " (no credentials given: set them in [nats])";
}
