/**
 * Test support for the SMTP client: an npm smtp-server wrapper that records
 * what it received, a strict scripted raw server, and a self-signed
 * certificate made with openssl. Runtime code never imports this file.
 *
 * @module
 */
import { bytesToLatin1, concatBytes } from "../bytes.ts";
import net from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

/** One message as smtp-server received it. */
export interface Received {
  from: string;
  to: string[];
  data: Uint8Array;
}

/** A running smtp-server and what it has received. */
export interface TestServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/**
 * Starts npm smtp-server on 127.0.0.1 with a random port. `options` override
 * the defaults (no STARTTLS, AUTH optional, collect every message).
 */
export async function startSmtpServer(
  options: Partial<SMTPServerOptions> = {},
): Promise<TestServer> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data: concatBytes(chunks),
        });
        callback(null, `2.0.0 Ok: queued as Q${received.length}`);
      });
    },
    ...options,
  } as SMTPServerOptions);
  // Handshake failures the tests provoke are reported here; without a listener they throw.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A self-signed certificate for "localhost" and 127.0.0.1. */
export interface TestCert {
  key: string;
  cert: string;
  /** Hex SHA-256 of the DER, colon-separated as openssl prints it. */
  sha256: string;
}

/** Makes a throwaway self-signed certificate with the openssl CLI. */
export async function makeCert(): Promise<TestCert> {
  const dir = await Deno.makeTempDir({ prefix: "smtp_test_" });
  try {
    const run = async (args: string[]) => {
      const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
        .output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
      return new TextDecoder().decode(out.stdout);
    };
    await run([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]); // deno-fmt-ignore
    const fp = await run(["x509", "-in", `${dir}/cert.pem`, "-noout", "-fingerprint", "-sha256"]);
    return {
      key: await Deno.readTextFile(`${dir}/key.pem`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      sha256: fp.trim().split("=")[1]!,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The expected bytes after DATA: CRLF line ends, a final CRLF (what a server stores). */
export function normaliseLines(bytes: Uint8Array): string {
  let text = bytesToLatin1(bytes).replace(/\r\n|\r|\n/g, "\r\n");
  if (text.length && !text.endsWith("\r\n")) text += "\r\n";
  return text;
}
