/**
 * A token bucket for --rate (messages a second), shared by all sessions.
 *
 * @module
 */

/** Paces callers to at most `perSecond` takes a second (bursts up to one second's worth). */
export class RateLimiter {
  readonly #perSecond: number;
  #tokens: number;
  #last = performance.now();
  #chain: Promise<void> = Promise.resolve();

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#tokens = Math.min(perSecond, 1);
  }

  /** Waits until one more message may go. Callers are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#chain.then(() => this.#wait(signal));
    this.#chain = turn.catch(() => {});
    return turn;
  }

  async #wait(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = performance.now();
      this.#tokens = Math.min(
        Math.max(1, this.#perSecond),
        this.#tokens + ((now - this.#last) / 1000) * this.#perSecond,
      );
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      const ms = ((1 - this.#tokens) / this.#perSecond) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, ms)));
    }
  }
}
