/**
 * Smoke test against Postfix's smtp-sink: 200 pipelined 19 KB messages on
 * one connection. No timing assertions; the rate is printed for the record.
 */
import net from "node:net";
import { SmtpClient } from "./client.ts";
import { assertEquals } from "../../tests/support/assert.ts";

const SINK = "/usr/sbin/smtp-sink";
const hasSink = await Deno.stat(SINK).then(() => true, () => false);

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`smtp-sink did not listen on ${port}`);
}

function message19k(i: number): Uint8Array {
  const line =
    "VGhpcyBpcyBhIGJhc2U2NCBsaW5lIG9mIGFuIFMvTUlNRSBib2R5IGZvciB0ZXN0aW5nIHB1cnBvc2Vz\r\n";
  const head = `From: a@x.example\r\nTo: b@x.example\r\nSubject: sink ${i}\r\n` +
    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n" +
    "Content-Transfer-Encoding: base64\r\n\r\n";
  return new TextEncoder().encode(
    head + line.repeat(Math.ceil((19_000 - head.length) / line.length)),
  );
}

Deno.test({
  name: "smtp-sink (Postfix) accepts 200 pipelined 19 KB messages on one connection",
  ignore: !hasSink,
  async fn() {
    const port = await freePort();
    const sink = new Deno.Command(SINK, {
      args: ["-u", "root", `127.0.0.1:${port}`, "100"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const client = new SmtpClient({ host: "127.0.0.1", port, tls: { mode: "never" } });
    try {
      await waitListening(port);
      const session = await client.connect();
      assertEquals(session.extensions.has("PIPELINING"), true);
      const messages = Array.from({ length: 200 }, (_, i) => message19k(i));
      const started = performance.now();
      const results = await Promise.all(
        messages.map((m, i) => client.send({ from: "a@x.example", to: [`r${i}@x.example`] }, m)),
      );
      const seconds = (performance.now() - started) / 1000;
      assertEquals(results.filter((r) => r.data?.code === 250).length, 200);
      assertEquals(client.messagesSent, 200);
      console.log(
        `smtp-sink: 200 x ${messages[0]!.length} B in ${seconds.toFixed(3)} s, ` +
          `${(200 / seconds).toFixed(0)} msg/s on one connection`,
      );
    } finally {
      await client.close();
      sink.kill("SIGTERM");
      await sink.status;
    }
  },
});
