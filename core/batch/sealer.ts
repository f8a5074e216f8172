/**
 * Sealing one batch message: parse, find keys, sign, encrypt. Used in the
 * seal workers and, with --workers 0, on the main thread.
 *
 * @module
 */
import { isSmimeError, reasonOf } from "../errors.ts";
import { KeyStore } from "../keys/mod.ts";
import { parseMessage } from "../message/mod.ts";
import { sealMessage } from "../pipeline.ts";
import type { SealOptions } from "../pipeline.ts";
import type { KeySettings, SealJob, SealReply } from "./seal_protocol.ts";

/** Seals jobs with one KeyStore (its certificate cache serves the whole run). */
export class Sealer {
  readonly #keys: KeyStore;
  readonly #options: SealOptions;

  constructor(
    keys: KeySettings,
    options: SealOptions,
    passphrase: (file: string) => Promise<string | undefined>,
  ) {
    this.#keys = new KeyStore({ ...keys, passphrase });
    this.#options = options;
  }

  /** Seals one message; a user error is a reply, a bug is thrown. */
  async seal(job: SealJob): Promise<SealReply> {
    try {
      const message = parseMessage(job.bytes, job.label);
      const result = await sealMessage(message, this.#keys, {
        ...this.#options,
        sender: job.sender,
        recipients: job.recipients,
      });
      return {
        ok: true,
        copies: result.copies.map((c) => c.toRecord()),
        warnings: result.warnings,
        // The one sent: sealing adds a Message-ID when the input had none.
        messageId: result.messageId,
      };
    } catch (err) {
      if (!isSmimeError(err)) throw err;
      // The underlying cause as text (--verbose shows it), as it crosses to the main thread.
      const cause = err.cause === undefined ? undefined : reasonOf(err.cause);
      return { ok: false, code: err.code, reason: reasonOf(err), ...(cause ? { cause } : {}) };
    }
  }
}
