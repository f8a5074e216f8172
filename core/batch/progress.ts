/**
 * The progress line of a run: done / total, rate, ETA, failures. The CLI
 * redraws it on a terminal and prints it every few seconds elsewhere.
 *
 * @module
 */
import type { BatchEvent } from "./run.ts";

/** Counts message events into a one-line status. */
export class Progress {
  readonly #total: number | undefined;
  readonly #start = performance.now();
  #done = 0;
  #failed = 0;
  #deferred = 0;
  /** The latest reason a recipient was deferred or failed, so a stalled run says why. */
  #last: string | undefined;

  constructor(total?: number) {
    this.#total = total;
  }

  /** Takes one runner event. */
  update(event: BatchEvent): void {
    if (event.type === "message") {
      this.#done++;
      if (event.outcome === "failed" || event.outcome === "partial") {
        this.#failed++;
        this.#last = event.error ??
          event.recipients.find((r) => r.status !== "accepted")?.response ?? this.#last;
      }
    } else if (event.type === "deferred") {
      this.#deferred++;
      this.#last = event.response;
    }
  }

  /**
   * e.g. "[#########-----------] 4,512/10,000 1,203 msg/s ETA 0:05 failures 3 retries 12
   * (last: 451 4.3.0 try again later)"
   */
  line(width = 20): string {
    const seconds = (performance.now() - this.#start) / 1000;
    const rate = seconds > 0 ? this.#done / seconds : 0;
    const total = this.#total;
    const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
    let head = `${fmt(this.#done)} messages`;
    let eta = "";
    if (total !== undefined && total > 0) {
      const filled = Math.min(width, Math.round((this.#done / total) * width));
      head = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${fmt(this.#done)}/${
        fmt(total)
      }`;
      if (rate > 0 && this.#done < total) eta = ` ETA ${clock((total - this.#done) / rate)}`;
    }
    const last = this.#last === undefined ? "" : ` (last: ${shorten(this.#last, 80)})`;
    return `${head} ${fmt(rate)} msg/s${eta} failures ${fmt(this.#failed)} retries ${
      fmt(this.#deferred)
    }${last}`;
  }
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
