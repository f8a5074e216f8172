/**
 * The messages the batch runner and its seal workers exchange.
 *
 * @module
 */
import type { SealOptions } from "../pipeline.ts";
import type { SealedEntity } from "../smime/seal.ts";

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

/** One sealed copy, as it crosses back. */
export interface SealedCopy {
  bytes: Uint8Array;
  sender: string;
  recipients: string[];
  stage: SealedEntity["stage"];
}

/** The outcome of sealing one message. */
export type SealReply =
  | { ok: true; copies: SealedCopy[]; warnings: string[]; messageId?: string }
  | { ok: false; code: string; reason: string };

/** Main thread -> worker. */
export type ToWorker =
  | { type: "init"; keys: KeySettings; seal: Omit<SealOptions, "singleCopy"> }
  | { type: "seal"; id: number; job: SealJob }
  | { type: "passphrase"; request: number; value: string | undefined };

/** Worker -> main thread. */
export type FromWorker =
  | { type: "sealed"; id: number; reply: SealReply }
  | { type: "passphrase"; request: number; file: string }
  | { type: "fatal"; reason: string };
