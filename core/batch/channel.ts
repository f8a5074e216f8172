/**
 * A bounded channel between pipeline stages: `send` waits while it is full,
 * so a slow MTA slows the readers instead of filling memory.
 *
 * @module
 */

/** A bounded FIFO with async send/receive and close. */
export class Channel<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #senders: (() => void)[] = [];
  #receivers: ((value: IteratorResult<T>) => void)[] = [];
  #closed = false;

  /** @param capacity how many items may wait before `send` blocks */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** Items waiting. */
  get size(): number {
    return this.#items.length;
  }

  /** Waits for room, then queues `item`. */
  async send(item: T): Promise<void> {
    while (this.#items.length >= this.#capacity && !this.#closed) {
      await new Promise<void>((resolve) => this.#senders.push(resolve));
    }
    this.push(item);
  }

  /** Queues `item` without waiting for room (retries must never deadlock). */
  push(item: T): void {
    if (this.#closed) throw new Error("send on a closed channel");
    const receiver = this.#receivers.shift();
    if (receiver) receiver({ value: item, done: false });
    else this.#items.push(item);
  }

  /** The next item, or done once closed and drained. */
  receive(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined || this.#items.length > 0) {
      this.#senders.shift()?.();
      return Promise.resolve({ value: item as T, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#receivers.push(resolve));
  }

  /** No more items: waiting receivers finish once the queue drains. */
  close(): void {
    this.#closed = true;
    for (const receiver of this.#receivers.splice(0)) receiver({ value: undefined, done: true });
    for (const sender of this.#senders.splice(0)) sender();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const next = await this.receive();
      if (next.done) return;
      yield next.value;
    }
  }
}
