/**
 * The contract cases every target runs (create() does no I/O; close() is
 * idempotent and safe after a failed open), and the helpers the other
 * cases share.
 *
 * @module
 */
import { assert, assertEquals, assertIncludes, assertSmimeError } from "../assert.ts";
import { bytesEqual } from "../../../core/bytes.ts";
import type {
  DeliveryResult,
  PluginContext,
  SealedMessage,
  Transport,
} from "../../../core/deliver/types.ts";
import { sampleMessage } from "../../../core/deliver/test_message.ts";
import { contractReply, startFakeApi } from "../../../core/http/test_server.ts";
import { startSink } from "../../../core/sink/mod.ts";
import type { SinkFaults, SinkServer } from "../../../core/sink/mod.ts";
import type { Bound, Wire } from "./types.ts";

/** Every line a plugin reports, in order. */
export function recorder(): { lines: string[]; context: PluginContext } {
  const lines: string[] = [];
  return {
    lines,
    context: {
      info: (l) => lines.push(`info: ${l}`),
      warn: (l) => lines.push(`warn: ${l}`),
      debug: (l) => lines.push(`debug: ${l}`),
    },
  };
}

export function create(target: Bound, options: Record<string, unknown>, context: PluginContext) {
  return target.plugin.create(target.plugin.options.parse(options), context);
}

/** A loopback port nothing listens on (free a moment ago). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Opens, runs `fn`, and always closes twice (close must be idempotent). */
export async function withOpen<T>(transport: Transport, fn: () => Promise<T>): Promise<T> {
  try {
    await transport.open();
    return await fn();
  } finally {
    await transport.close();
    await transport.close();
  }
}

/** A sink counting connections, with faults. */
export async function sink(
  faults: SinkFaults = {},
): Promise<{ server: SinkServer; log: string[] }> {
  const log: string[] = [];
  const server = await startSink({ port: 0, faults, log: (line) => log.push(line) });
  return { server, log };
}

/** The header fields in front of the sealed message: names in order, and name -> value. */
export function addedHeaders(prefix: Uint8Array): { names: string[]; values: Map<string, string> } {
  const text = new TextDecoder().decode(prefix);
  const values = new Map<string, string>();
  if (text === "") return { names: [], values };
  assert(/\r?\n$/.test(text), `added headers end with a line end: ${JSON.stringify(text)}`);
  const names = text.replace(/\r?\n$/, "").split(/\r?\n(?![ \t])/).map((field) => {
    const colon = field.indexOf(":");
    assert(colon > 0, `not a header field: ${JSON.stringify(field)}`);
    const name = field.slice(0, colon);
    // Unfolding removes the line ends only (RFC 5322 2.2.3).
    values.set(name.toLowerCase(), field.slice(colon + 1).replace(/\r?\n/g, "").trim());
    return name;
  });
  return { names, values };
}

/**
 * Asserts `data` is the `expected` header fields followed by exactly the
 * `sealed` bytes; returns those fields.
 */
export function assertHeadersOnlyInFront(
  data: Uint8Array,
  sealed: Uint8Array,
  expected: string[],
): Map<string, string> {
  assert(data.length >= sealed.length, "the delivered message is shorter than the sealed one");
  const tail = data.subarray(data.length - sealed.length);
  assert(bytesEqual(tail, sealed), "the bytes after the added headers differ from the sealed ones");
  const { names, values } = addedHeaders(data.subarray(0, data.length - sealed.length));
  assertEquals(names, expected);
  return values;
}

export function assertOneResultPerRecipient(result: DeliveryResult, message: SealedMessage): void {
  assertEquals(result.recipients.map((r) => r.recipient), [...message.recipients]);
}

/** Fails when `secret`, or a base64 form an SMTP AUTH exchange would carry, is in `text`. */
export function assertNoSecret(text: string, secret: string, user?: string): void {
  const forms = [secret, btoa(secret)];
  if (user) forms.push(btoa(`\0${user}\0${secret}`));
  for (const form of forms) assert(!text.includes(form), `a secret form leaked: ${form}`);
}

export async function errorText(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return "";
}

/** Checks the fields on the wire: the target's own check, or that they changed nothing. */
export function checkFields(target: Bound, wire: Wire): void {
  if (target.fields) target.fields(wire);
}

export function defineCommonChecks(target: Bound): void {
  const { name } = target;

  Deno.test(`${name}: create() does no I/O`, async () => {
    const missingCa = `/nonexistent/${crypto.randomUUID()}/ca.pem`;
    const closed = closedPort();
    // A closed port and a missing CA file: create() reads and connects nothing, so no throw.
    const { lines, context } = recorder();
    const offline = { host: "127.0.0.1", port: closed, apiKey: "unused-key" };
    const extra = target.kind === "api" ? {} : { tls_ca_file: missingCa };
    create(target, { ...target.options(offline), ...extra }, context);
    // A live server: nothing may reach it.
    const { server, log } = await sink();
    const api = await startFakeApi(contractReply("unused-key"));
    try {
      const port = target.kind === "api" ? Number(new URL(api.origin).port) : server.port;
      create(target, { ...target.options({ ...offline, port }), ...extra }, context);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assertEquals(log, [], "the sink saw a connection");
      assertEquals(api.requests.length, 0, "the API saw a request");
      assertEquals(lines, []);
    } finally {
      await server.close();
      await api.close();
    }
    if (target.kind !== "api") {
      // The CA file is read at open(), and named in the error.
      const transport = create(target, { ...target.options(offline), ...extra }, context);
      const err = await assertSmimeError(() => transport.open(), "E_CONFIG");
      assertIncludes(err.message, missingCa);
      await transport.close();
    }
  });

  Deno.test(`${name}: close() is idempotent and safe after a failed open`, async () => {
    const { context } = recorder();
    const transport = create(
      target,
      target.options({ host: "127.0.0.1", port: closedPort(), apiKey: "unused-key" }),
      context,
    );
    if (target.kind === "api") {
      // open() of an API does no I/O; the refused connection shows at deliver().
      await transport.open();
      const err = await assertSmimeError(() => transport.deliver(sampleMessage()), "E_UNAVAILABLE");
      assertIncludes(err.message, "127.0.0.1");
    } else {
      const err = await assertSmimeError(() => transport.open(), "E_UNAVAILABLE");
      assertIncludes(err.message, "Cannot connect to 127.0.0.1:");
    }
    await transport.close();
    await transport.close();
    // Never opened at all.
    const unopened = create(target, target.options({ host: "127.0.0.1", port: 1 }), context);
    await unopened.close();
    await unopened.close();
  });
}
