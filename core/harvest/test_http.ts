/**
 * Test support for harvest: a raw HTTP/1.1 client on a socket, so tests can
 * send what fetch() never would (half a head, a lying Content-Length, a
 * chunked body past the limit) and read exactly what came back. Runtime code
 * never imports this file.
 *
 * @module
 */

import { bytesToLatin1, concatBytes } from "../bytes.ts";

/** An answer as it came off the wire. */
export interface RawResponse {
  status: number;
  /** Header fields by lower-cased name. */
  headers: Map<string, string>;
  body: string;
  /** Everything received, interim 100 Continue included. */
  raw: string;
}

/** How to reach the server. */
export interface Target {
  port: number;
  /** Connect with TLS, trusting these CA certificates. */
  caCerts?: string[];
}

/** Opens a connection to 127.0.0.1 (TLS when `caCerts` is given). */
export async function connect(target: Target): Promise<Deno.Conn> {
  return target.caCerts
    ? await Deno.connectTls({ hostname: "127.0.0.1", port: target.port, caCerts: target.caCerts })
    : await Deno.connect({ hostname: "127.0.0.1", port: target.port });
}

/** Writes all of `data` to `conn`. */
export async function writeAll(conn: Deno.Conn, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** Reads until the server closes, then parses the last answer in it. */
export async function readResponse(conn: Deno.Conn): Promise<RawResponse> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch (err) {
      if (err instanceof Deno.errors.ConnectionReset) break;
      throw err;
    }
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  const raw = new TextDecoder().decode(concatBytes(chunks));
  // An interim "100 Continue" comes first; the final answer is the last head.
  const final = raw.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, "");
  const split = final.indexOf("\r\n\r\n");
  if (split < 0) throw new Error(`no answer, got ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...fields] = final.slice(0, split).split("\r\n");
  const headers = new Map<string, string>();
  for (const field of fields) {
    const colon = field.indexOf(":");
    headers.set(field.slice(0, colon).toLowerCase(), field.slice(colon + 1).trim());
  }
  return {
    status: Number(statusLine!.split(" ")[1]),
    headers,
    body: final.slice(split + 4),
    raw,
  };
}

/** Sends one request and reads the answer; the connection is closed after. */
export async function request(target: Target, data: string | Uint8Array): Promise<RawResponse> {
  const conn = await connect(target);
  try {
    await writeAll(conn, data);
    return await readResponse(conn);
  } finally {
    conn.close();
  }
}

/** A POST with a Content-Length, the way SparkPost sends one. */
export function post(
  path: string,
  contentType: string,
  body: string | Uint8Array,
  extra: Record<string, string> = {},
): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  let head = `POST ${path} HTTP/1.1\r\nHost: harvest.test\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${bytes.length}\r\n`;
  for (const [name, value] of Object.entries(extra)) head += `${name}: ${value}\r\n`;
  const headBytes = new TextEncoder().encode(head + "\r\n");
  const out = new Uint8Array(headBytes.length + bytes.length);
  out.set(headBytes);
  out.set(bytes, headBytes.length);
  return out;
}

/** A SparkPost relay webhook batch holding these messages. */
export function relayBatch(
  messages: { bytes: Uint8Array; base64?: boolean; msgFrom?: string; rcptTo?: string }[],
): string {
  return JSON.stringify(messages.map((m, i) => ({
    msys: {
      relay_message: {
        content: {
          email_rfc822: m.base64 ? btoa(bytesToLatin1(m.bytes)) : new TextDecoder().decode(m.bytes),
          email_rfc822_is_base64: m.base64 ?? false,
        },
        msg_from: m.msgFrom ?? "bounce@example.com",
        rcpt_to: m.rcptTo ?? "keys@harvest.example",
        friendly_from: "someone",
        webhook_id: `hook${i}`,
        protocol: "smtp",
      },
    },
  })));
}
