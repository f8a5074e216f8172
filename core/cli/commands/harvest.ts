/**
 * `harvest`: receive signed mail over HTTP, check DKIM and the signature,
 * and store the senders' certificates in the key folder.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { SmimeError } from "../../errors.ts";
import { readInput } from "../../io.ts";
import { withExamples } from "../options.ts";
import { untilSignal } from "./sink.ts";

/** Adds `harvest` to the program. */
export function registerHarvest(program: Command): void {
  const harvest = program.command("harvest")
    .description(
      "receive signed mail over HTTP (SparkPost relay webhooks or message/rfc822), check DKIM " +
        "and the signature, and store the senders' certificates in the key folder",
    )
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:8080")
    .option(
      "--keys <dir>",
      "key folder the certificates go into (also $SMIMEPOST_KEYS, keys in the config file)",
      ".",
    )
    .option(
      "--trust <file>",
      "PEM bundle of trust anchors the signers' paths must reach (required; also " +
        "$SMIMEPOST_TRUST, trust in the config file)",
    )
    .option(
      "--token-file <file>",
      "X-MessageSystems-Webhook-Token to require (also $SMIMEPOST_HARVEST_TOKEN)",
    )
    .option("--no-dkim", "accept mail without a DKIM signature aligned with its From domain")
    .option("--dns-server <host:port>", "DNS server for DKIM keys (default: the system's)")
    .option("--max-bytes <n>", "largest request body", String(25 * 1024 * 1024))
    .option("--tls-cert <file>", "serve HTTPS with this certificate chain (PEM)")
    .option("--tls-key <file>", "and this private key (PEM)");
  withExamples(harvest, [
    "smimepost harvest --trust ca.pem --keys keys/",
    "smimepost harvest --listen 0.0.0.0:8443 --trust ca.pem --token-file token \\\n" +
    "    --tls-cert cert.pem --tls-key key.pem",
  ]);
  harvest.action(async (options) => {
    const { loadTrust } = await import("../keys.ts");
    if (!options.trust) {
      throw new SmimeError(
        "E_USAGE",
        "harvest needs --trust FILE ($SMIMEPOST_TRUST, or trust in the config file)",
      );
    }
    const [hostname, port] = hostPort(options.listen, "--listen");
    const maxBytes = Number(options.maxBytes);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new SmimeError("E_USAGE", `--max-bytes: not a size in bytes: "${options.maxBytes}"`);
    }
    if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
      throw new SmimeError("E_USAGE", "--tls-cert and --tls-key go together");
    }
    const token = options.tokenFile
      ? new TextDecoder().decode((await readInput(options.tokenFile)).bytes).trim()
      : Deno.env.get("SMIMEPOST_HARVEST_TOKEN");
    const dns = options.dnsServer ? hostPort(options.dnsServer, "--dns-server") : undefined;
    const trustAnchors = (await loadTrust(options.trust))!;
    const [{ startHarvest }, { importHandler }, { KeyStore }] = await Promise.all([
      import("../../harvest/mod.ts"),
      import("../../harvest/importer.ts"),
      import("../../keys/key_store.ts"),
    ]);
    // The key folder's CA certificates are candidate intermediates, as for keys import.
    const store = new KeyStore({ dir: options.keys, trustAnchors });
    const intermediates = (await store.trustStore())?.intermediates[0];
    const server = await startHarvest({
      hostname,
      port,
      token,
      maxBytes,
      tls: options.tlsCert ? { certFile: options.tlsCert, keyFile: options.tlsKey! } : undefined,
      dkim: { required: options.dkim, dnsServer: dns && { ipAddr: dns[0], port: dns[1] } },
      handle: importHandler({ keysDir: options.keys, trustAnchors, intermediates, dryRun: false }),
      log: (line) => console.error(line),
    });
    console.error(`smimepost harvest listening on ${server.url}, storing into ${options.keys}`);
    await untilSignal();
    await server.close();
    console.error("smimepost harvest: stopped");
  });
}

/** "host:port" or "[v6]:port" as a pair, or a usage error naming the flag. */
function hostPort(value: string, flag: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) {
    throw new SmimeError("E_USAGE", `${flag}: expected HOST:PORT, not "${value}"`);
  }
  return [m[1], port];
}
