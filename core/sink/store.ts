/**
 * Where the sink keeps what it accepted: the last messages in memory, and
 * optionally each message as files in a folder.
 *
 * @module
 */
import type { StoredMessage } from "./types.ts";

/** At most this many message bytes stay in memory, whatever `keep` says. */
export const MAX_KEPT_BYTES = 256 * 1024 * 1024;

/** Accepted messages: a bounded in-memory list plus an optional folder. */
export class MessageStore {
  /** Messages accepted since the start. */
  count = 0;
  readonly #dir: string | undefined;
  readonly #keep: number;
  #recent: StoredMessage[] = [];
  #keptBytes = 0;

  /**
   * @param dir folder for `<id>.eml` + `<id>.json`, or undefined for memory only
   * @param keep how many messages to keep in memory (0: count only)
   */
  constructor(dir: string | undefined, keep: number) {
    this.#dir = dir;
    this.#keep = keep;
  }

  /** The last `keep` messages (and at most {@link MAX_KEPT_BYTES}), oldest first. */
  get received(): StoredMessage[] {
    // Trimmed lazily so that accepting a message never shifts a 10,000-entry array.
    this.#drop(this.#recent.length - this.#keep);
    return this.#recent;
  }

  /**
   * Stores one message: files first (when there is a folder), then memory.
   *
   * @throws the file system's error when a file cannot be written
   */
  async add(message: StoredMessage): Promise<void> {
    if (this.#dir !== undefined) await this.#write(this.#dir, message);
    this.count++;
    if (this.#keep === 0) return;
    this.#recent.push(message);
    this.#keptBytes += message.data.length;
    if (this.#recent.length >= 2 * this.#keep) this.#drop(this.#keep);
    while (this.#keptBytes > MAX_KEPT_BYTES && this.#recent.length > 1) this.#drop(1);
  }

  /** Forgets the `n` oldest messages. */
  #drop(n: number): void {
    if (n <= 0) return;
    for (const old of this.#recent.splice(0, n)) this.#keptBytes -= old.data.length;
  }

  /**
   * Writes `<id>.eml` then `<id>.json`, each under a temporary name renamed
   * into place, so a reader that sees the .json finds the whole message.
   */
  async #write(dir: string, message: StoredMessage): Promise<void> {
    const base = `${dir}/${message.id}`;
    const envelope = {
      id: message.id,
      mail_from: message.mailFrom,
      rcpt_to: message.rcptTo,
      received_at: message.receivedAt,
      client: message.client,
      size: message.data.length,
    };
    // Both written in parallel under hidden names; renamed .eml first, .json last.
    await Promise.all([
      // Mail and its recipients: for the owner only, as the journal and reports.
      Deno.writeFile(`${dir}/.${message.id}.eml.tmp`, message.data, { mode: 0o600 }),
      Deno.writeTextFile(
        `${dir}/.${message.id}.json.tmp`,
        JSON.stringify(envelope, null, 2) + "\n",
        { mode: 0o600 },
      ),
    ]);
    await Deno.rename(`${dir}/.${message.id}.eml.tmp`, `${base}.eml`);
    await Deno.rename(`${dir}/.${message.id}.json.tmp`, `${base}.json`);
  }
}
