/**
 * A seal worker: receives messages, seals them with its own KeyStore, and
 * sends the copies back (their buffers transferred, not copied). Asks the
 * main thread for a key's passphrase, which only it can prompt for.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { FromWorker, ToWorker } from "./seal_protocol.ts";
import { Sealer } from "./sealer.ts";

let sealer: Sealer | undefined;
let nextRequest = 0;
const waiting = new Map<number, (value: string | undefined) => void>();

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function askPassphrase(file: string): Promise<string | undefined> {
  const request = nextRequest++;
  post({ type: "passphrase", request, file });
  return new Promise((resolve) => waiting.set(request, resolve));
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      sealer = new Sealer(message.keys, message.seal, askPassphrase);
    } else if (message.type === "passphrase") {
      waiting.get(message.request)?.(message.value);
      waiting.delete(message.request);
    } else {
      const reply = await sealer!.seal(message.job);
      const transfer = reply.ok
        ? [...new Set(reply.copies.map((c) => c.bytes.buffer as ArrayBuffer))]
        : [];
      post({ type: "sealed", id: message.id, reply }, transfer);
    }
  } catch (err) {
    post({ type: "fatal", reason: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
};
