/**
 * A lock per key: work for one key runs one at a time, in arrival order;
 * work for different keys runs side by side.
 *
 * `harvest` runs the import of each message under the lock of its From
 * address, so two requests carrying mail from one sender never interleave
 * the import's read-compare-write of `ADDRESS.crt` (the "never replace a
 * newer certificate with an older one" decision). The writer's atomic rename
 * is what keeps a reader, or a crash, from ever seeing half a file; this lock
 * is what keeps two correct writes from racing each other to a wrong result.
 * It holds within one process only.
 *
 * @module
 */

/** Serialises async work per key. Keys are compared exactly: normalise first. */
export class KeyedLock {
  /** The tail of each key's queue; removed when the queue empties. */
  readonly #tails = new Map<string, Promise<void>>();

  /** How many keys have work running or waiting (0 when idle). */
  get size(): number {
    return this.#tails.size;
  }

  /**
   * Runs `fn` once every earlier call for `key` has settled.
   *
   * @param key what to serialise on, e.g. a lower-cased address
   * @param fn the work; its result or rejection is passed through
   * @returns what `fn` returns
   */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => release = resolve);
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    try {
      await previous;
      return await fn();
    } finally {
      release();
      // Only the last in line removes the entry, so the map stays bounded by
      // the keys with work in hand.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
