/**
 * What `keys import` reports: one outcome per input and certificate, its
 * line, its JSON object, and the exit status of a whole import.
 *
 * @module
 */

import { type ErrorCode, ErrorCodes, ExitCode } from "../errors.ts";
import { isoDate } from "./cert_info.ts";
import { capabilityNames } from "./capabilities.ts";
import type { StoreRequest, StoreResult } from "./import_write.ts";

/** The outcome of one certificate of one input, or the refusal of the input. */
export interface ImportOutcome {
  /** The input, as lines name it: "msg.eml", "inbox.mbox message 3". */
  source: string;
  status: "imported" | "updated" | "unchanged" | "refused";
  /** The address the certificate was (or would be) stored for. */
  address?: string;
  /** The key-folder file written, that would be written, or that was kept. */
  file?: string;
  /** e.g. "RSA-2048". */
  keyAlgorithm?: string;
  /** Subject DN of the certificate, RFC 4514 text. */
  subject?: string;
  notAfter?: Date;
  /** The sender's SMIMECapabilities, named, in preference order. */
  capabilities?: string[];
  /** Why it was refused: one line, no file prefix. */
  reason?: string;
  /** The error code of a refusal; decides the exit status. */
  code?: ErrorCode;
  /** Nothing was written (--dry-run). */
  dryRun?: boolean;
}

/** A refusal of `source` (or of one address in it). */
export function refusal(
  source: string,
  code: ErrorCode,
  reason: string,
  address?: string,
): ImportOutcome {
  return { source, status: "refused", code, reason, ...(address ? { address } : {}) };
}

/** The outcome of storing `request`. */
export function outcomeOf(
  source: string,
  request: StoreRequest,
  stored: StoreResult,
  dryRun: boolean,
): ImportOutcome {
  if (stored.status === "refused") {
    return refusal(source, "E_CERT_INVALID", stored.reason ?? "refused", request.address);
  }
  const outcome: ImportOutcome = {
    source,
    status: stored.status,
    address: request.address,
    file: stored.file,
    keyAlgorithm: request.leaf.keyAlgorithm,
    subject: request.leaf.subject,
    notAfter: request.leaf.notAfter,
  };
  if (stored.capabilities) outcome.capabilities = capabilityNames(stored.capabilities);
  if (dryRun) outcome.dryRun = true;
  return outcome;
}

/**
 * The line for one outcome, e.g. `msg.eml: imported alice@example.com ->
 * keys/alice@example.com.crt (RSA-2048, valid until 2027-01-01, capabilities
 * aes256-cbc, aes128-cbc)` or `msg.eml: refused: signature BROKEN (...)`.
 */
export function importLine(outcome: ImportOutcome): string {
  const { source, status, address } = outcome;
  if (status === "refused") {
    return `${source}: refused${address ? ` ${address}` : ""}: ${outcome.reason}`;
  }
  const details = [outcome.keyAlgorithm ?? "unknown key"];
  if (outcome.notAfter) details.push(`valid until ${isoDate(outcome.notAfter)}`);
  if (outcome.capabilities?.length) {
    details.push(`capabilities ${outcome.capabilities.join(", ")}`);
  }
  const dry = outcome.dryRun ? " (dry run: nothing written)" : "";
  return `${source}: ${status} ${address} -> ${outcome.file} (${details.join(", ")})${dry}`;
}

/** The JSON object for one outcome (one line of `--json`). */
export function importJson(outcome: ImportOutcome): Record<string, unknown> {
  return {
    source: outcome.source,
    status: outcome.status,
    address: outcome.address,
    file: outcome.file,
    key: outcome.keyAlgorithm,
    subject: outcome.subject,
    not_after: outcome.notAfter?.toISOString(),
    capabilities: outcome.capabilities,
    reason: outcome.reason,
    code: outcome.code,
    dry_run: outcome.dryRun,
  };
}

/**
 * Counts outcomes for the exit status of an import, as `send` counts: 0
 * when nothing was refused, 3 when some were, and when all were, 66 when
 * every one was a missing input, else 65.
 */
export class ImportTally {
  #total = 0;
  #refused = 0;
  #codes = new Set<ErrorCode>();

  /** Counts one outcome. */
  add(outcome: ImportOutcome): void {
    this.#total++;
    if (outcome.status !== "refused") return;
    this.#refused++;
    this.#codes.add(outcome.code ?? "E_MESSAGE");
  }

  /** The exit status for what was counted. */
  exitCode(): number {
    if (this.#refused === 0) return ExitCode.ok;
    if (this.#refused < this.#total) return ExitCode.partial;
    if (this.#codes.size === 1 && this.#codes.has("E_INPUT")) return ErrorCodes.E_INPUT;
    return ExitCode.dataErr;
  }
}
