/**
 * Test support for harvest: a real DNS server (Debian's `dnsmasq`) on a free
 * local port publishing throw-away DKIM keys, and two DKIM signers nobody
 * here wrote: dkimpy's `dkimsign` (Debian python3-dkim) and mailauth's.
 * Runtime code never imports this file.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { generateKeyPairSync } from "node:crypto";
import { createSocket } from "node:dgram";

/** A DKIM key pair: the PEM private key and the TXT record that publishes it. */
export interface DkimKey {
  /** PKCS#1 PEM, the form dkimsign reads. */
  privatePem: string;
  /** "v=DKIM1; k=rsa; p=..." */
  record: string;
}

/** A running dnsmasq. */
export interface TestDns {
  ipAddr: string;
  port: number;
  close(): Promise<void>;
}

/** A fresh RSA-2048 DKIM key; `testing` adds the t=y flag to the record. */
export function makeDkimKey(testing = false): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const spki = publicKey.export({ type: "spki", format: "der" });
  return {
    privatePem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    record: `v=DKIM1; k=rsa;${testing ? " t=y;" : ""} p=${Buffer.from(spki).toString("base64")}`,
  };
}

/**
 * Starts dnsmasq on 127.0.0.1 and a port free for both UDP and TCP, serving
 * only the given TXT records (no upstream, no hosts file), and waits until it
 * answers.
 *
 * @param records TXT records by owner name, e.g. "sel._domainkey.example.com"
 */
export async function startDnsmasq(records: Record<string, string>): Promise<TestDns> {
  const dir = await Deno.makeTempDir({ prefix: "harvest-dns-" });
  // A TXT record is a list of strings of at most 255 bytes (RFC 1035 3.3.14);
  // a DKIM key is longer, so it goes in pieces that the verifier joins.
  const lines = Object.entries(records).map(([name, text]) =>
    `txt-record=${name},${(text.match(/.{1,255}/g) ?? []).map((s) => `"${s}"`).join(",")}`
  );
  await Deno.writeTextFile(`${dir}/dnsmasq.conf`, lines.join("\n") + "\n");
  const port = await freeUdpAndTcpPort();
  const child = new Deno.Command("dnsmasq", {
    args: [
      "--no-daemon",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--pid-file=",
      `--conf-file=${dir}/dnsmasq.conf`,
      ...(Deno.uid() === 0 ? ["--user=root"] : []),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  const probe = Object.keys(records)[0]!;
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.resolveDns(probe, "TXT", { nameServer: { ipAddr: "127.0.0.1", port } });
      return { ipAddr: "127.0.0.1", port, close };
    } catch (err) {
      if (attempt >= 100) {
        await close();
        throw new Error(`dnsmasq on port ${port} did not answer`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A port the OS says is free on 127.0.0.1 for TCP and for UDP. */
async function freeUdpAndTcpPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = tcp.addr.port;
    try {
      if (await isUdpPortFree(port)) return port;
    } finally {
      tcp.close();
    }
  }
  throw new Error("no free port for dnsmasq");
}

/** Binds a UDP socket to `port` and closes it again; false when taken. */
export function isUdpPortFree(port: number): Promise<boolean> {
  const socket = createSocket("udp4");
  return new Promise((resolve) => {
    socket.once("error", () => socket.close(() => resolve(false)));
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}

/** A UDP port on 127.0.0.1 that was free a moment ago and has nothing listening. */
export async function unusedUdpPort(): Promise<number> {
  for (;;) {
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = tcp.addr.port;
    tcp.close();
    if (await isUdpPortFree(port)) return port;
  }
}

/**
 * Signs `message` with dkimpy's `dkimsign` (relaxed/simple, rsa-sha256) and
 * returns the signed message.
 */
export async function signWithDkimpy(
  message: string,
  selector: string,
  domain: string,
  key: DkimKey,
): Promise<Uint8Array> {
  const keyFile = await Deno.makeTempFile({ prefix: "harvest-dkim-", suffix: ".pem" });
  try {
    await Deno.writeTextFile(keyFile, key.privatePem);
    const child = new Deno.Command("dkimsign", {
      args: [selector, domain, keyFile],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(message));
    await writer.close();
    const out = await child.output();
    if (!out.success) throw new Error(`dkimsign failed: ${new TextDecoder().decode(out.stderr)}`);
    return out.stdout;
  } finally {
    await Deno.remove(keyFile);
  }
}

/** Signs `message` with mailauth's DKIM signer (relaxed/relaxed). */
export async function signWithMailauth(
  message: string,
  selector: string,
  domain: string,
  key: DkimKey,
): Promise<Uint8Array> {
  const { dkimSign } = await import("mailauth/lib/dkim/sign.js");
  const result = await dkimSign(
    message,
    {
      canonicalization: "relaxed/relaxed",
      signatureData: [{ signingDomain: domain, selector, privateKey: key.privatePem }],
    } as Parameters<typeof dkimSign>[1],
  );
  if (result.errors.length > 0 || !result.signatures) {
    throw new Error(`mailauth could not sign: ${result.errors[0]}`);
  }
  return new TextEncoder().encode(result.signatures + message);
}

/** A small message in CRLF form. */
export function plainMessage(from: string, subject = "key", body = "hello\r\n"): string {
  return `From: ${from}\r\nTo: keys@harvest.example\r\nSubject: ${subject}\r\n` +
    `Date: Thu, 04 Dec 2025 10:00:00 +0000\r\nMessage-ID: <${crypto.randomUUID()}@test>\r\n` +
    `\r\n${body}`;
}
