/**
 * A seal worker: receives messages in batches, seals them with its own
 * KeyStore, and sends the copies back in batches (their buffers transferred,
 * not copied). Asks the main thread for a key's passphrase, which only it
 * can prompt for.
 *
 * A batch's messages are sealed at once (with WebCrypto, their work overlaps
 * on the runtime's threads). Replies go back together: when half of a batch
 * is done (so that the main thread refills before this worker runs dry) and
 * when nothing is left in hand. Each crossing wakes the other thread and
 * dispatches an event; one per batch instead of one per message is most of
 * what the hand-off costs.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { FromWorker, SealReply, ToWorker } from "./seal_protocol.ts";
import { Sealer } from "./sealer.ts";

let sealer: Sealer | undefined;
let nextRequest = 0;
const waiting = new Map<number, (value: string | undefined) => void>();
/** Messages being sealed, and replies not yet sent. */
let inHand = 0;
let done: { id: number; reply: SealReply }[] = [];
/** Replies go back together once this many are done (half of what the main thread sends at most). */
let flushAt = 1;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

function askPassphrase(file: string): Promise<string | undefined> {
  const request = nextRequest++;
  post({ type: "passphrase", request, file });
  return new Promise((resolve) => waiting.set(request, resolve));
}

async function sealOne(id: number, job: Parameters<Sealer["seal"]>[0]): Promise<void> {
  const reply = await sealer!.seal(job);
  inHand--;
  done.push({ id, reply });
  if (done.length >= flushAt || inHand === 0) flush();
}

function flush(): void {
  const replies = done;
  done = [];
  const buffers = new Set<ArrayBuffer>();
  for (const { reply } of replies) {
    if (reply.ok) { for (const c of reply.copies) buffers.add(c.bytes.buffer as ArrayBuffer); }
  }
  post({ type: "sealed", replies }, [...buffers]);
}

function fatal(err: unknown): void {
  post({ type: "fatal", reason: err instanceof Error ? err.stack ?? err.message : String(err) });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      sealer = new Sealer(message.keys, message.seal, askPassphrase);
      flushAt = Math.max(1, Math.floor(message.perWorker / 2));
      post({ type: "ready" });
    } else if (message.type === "passphrase") {
      waiting.get(message.request)?.(message.value);
      waiting.delete(message.request);
    } else {
      inHand += message.jobs.length;
      for (const { id, job } of message.jobs) sealOne(id, job).catch(fatal);
    }
  } catch (err) {
    fatal(err);
  }
};
