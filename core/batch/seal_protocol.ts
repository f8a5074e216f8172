/**
 * The messages the batch runner and its seal workers exchange. What crosses
 * is typed data: a sealed copy as a versioned {@link SealedRecord} (turned
 * back into a SealedMessage on the main thread), an error as its code.
 * Messages to seal and their replies cross in batches.
 *
 * @module
 */
import type { ErrorCode } from "../errors.ts";
import type { SealOptions } from "../pipeline.ts";
import type { SealedRecord } from "../smime/sealed.ts";

/** How each worker builds its KeyStore (no callbacks cross a worker boundary). */
export interface KeySettings {
  dir: string;
  trustAnchors?: Uint8Array[];
  allowInvalid: boolean;
  allowInsecurePermissions: boolean;
}

/** One message to seal. */
export interface SealJob {
  key: string;
  label: string;
  bytes: Uint8Array;
  sender?: string;
  recipients?: string[];
}

/** The outcome of sealing one message, as it crosses back. */
export type SealReply =
  | { ok: true; copies: SealedRecord[]; warnings: string[]; messageId: string }
  | { ok: false; code: ErrorCode; reason: string; cause?: string };

/** Main thread -> worker. */
export type ToWorker =
  | {
    type: "init";
    keys: KeySettings;
    seal: SealOptions;
    /** The most messages the main thread hands this worker at once. */
    perWorker: number;
  }
  | { type: "seal"; jobs: { id: number; job: SealJob }[] }
  | { type: "passphrase"; request: number; value: string | undefined };

/** Worker -> main thread. */
export type FromWorker =
  | { type: "ready" }
  | { type: "sealed"; replies: { id: number; reply: SealReply }[] }
  | { type: "passphrase"; request: number; file: string }
  | { type: "fatal"; reason: string };
