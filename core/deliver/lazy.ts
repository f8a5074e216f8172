/**
 * A transport built on open(): plugins whose set-up does I/O (reading a CA
 * file) stay free of I/O in create(), as the contract asks.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import type { DeliveryFields, DeliveryResult, SealedMessage, Transport } from "./types.ts";

/** Defers building the real transport to open(). */
export class LazyTransport implements Transport {
  #build: () => Promise<Transport>;
  #inner: Transport | undefined;

  constructor(build: () => Promise<Transport>) {
    this.#build = build;
  }

  async open(signal?: AbortSignal): Promise<void> {
    this.#inner ??= await this.#build();
    await this.#inner.open(signal);
  }

  async deliver(
    message: SealedMessage,
    signal?: AbortSignal,
    fields?: DeliveryFields,
  ): Promise<DeliveryResult> {
    if (!this.#inner) throw new SmimeError("E_UNAVAILABLE", "Cannot deliver: not opened");
    return await this.#inner.deliver(message, signal, fields);
  }

  async close(): Promise<void> {
    await this.#inner?.close();
  }
}
