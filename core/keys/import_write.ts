/**
 * Writing an imported certificate into the key folder as `ADDRESS.crt`:
 * leaf, then the intermediates of its path, then the sender's
 * SMIMECapabilities block. Atomic (a temporary file renamed over the old
 * one), one import per address at a time within the process, and never an
 * older certificate over a newer valid one.
 *
 * @module
 */

import { resolve } from "node:path";
import { bytesEqual } from "../bytes.ts";
import { writeFileAtomic } from "../io.ts";
import { type CertInfo, isoDate, parseCertificate } from "./cert_info.ts";
import { CERT_EXTS, KeyFolder, readFileBytes } from "./files.ts";
import { capabilitiesPem, pemBlock, readCapabilitiesBlock } from "./capabilities.ts";
import { CertPool } from "../trust/mod.ts";
import { judgeCertificate } from "./judge.ts";
import { pickLeaf } from "./leaf.ts";
import { loadPemBundle } from "./pem.ts";

/** A checked certificate, ready to be stored for one address. */
export interface StoreRequest {
  /** Normalised address: the file name. */
  address: string;
  leaf: CertInfo;
  /** DER intermediates of the leaf's path, nearest first, anchors excluded. */
  intermediates: Uint8Array[];
  /** DER SEQUENCE OF SMIMECapability, when the sender announced one. */
  capabilities?: Uint8Array;
}

/** Where and how to store. */
export interface StoreContext {
  keysDir: string;
  /** Parsed trust anchors, for judging the certificate already there. */
  anchors: CertInfo[];
  now: Date;
  /** Decide, but write nothing. */
  dryRun: boolean;
}

/** What storing did, or would have done under dryRun. */
export interface StoreResult {
  status: "imported" | "updated" | "unchanged" | "refused";
  /** The file written (or that would be, or that was kept). */
  file: string;
  /** Why it was refused. */
  reason?: string;
  /** The capabilities the file holds afterwards. */
  capabilities?: Uint8Array;
}

/** The certificate file already in the key folder for an address. */
interface Existing {
  file: string;
  bytes: Uint8Array;
  leaf?: CertInfo;
  chain: CertInfo[];
  capabilities?: Uint8Array;
}

/** Imports of one address in this process, chained so that each sees the last one's file. */
const pending = new Map<string, Promise<unknown>>();

/**
 * Stores `request` in the key folder, deciding imported, updated, unchanged
 * or refused against the file already there.
 *
 * @throws {SmimeError} E_INPUT when the key folder can't be read, E_OUTPUT
 *   when the file can't be written
 */
export function storeCertificate(
  request: StoreRequest,
  context: StoreContext,
): Promise<StoreResult> {
  const key = `${resolve(context.keysDir)}\0${request.address}`;
  const previous = pending.get(key) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => store(request, context));
  pending.set(key, run);
  const cleanup = () => {
    if (pending.get(key) === run) pending.delete(key);
  };
  run.then(cleanup, cleanup);
  return run;
}

async function store(request: StoreRequest, context: StoreContext): Promise<StoreResult> {
  const folder = new KeyFolder(context.keysDir);
  const found = await folder.find(request.address, CERT_EXTS);
  // A .cer stays as it is; the .crt written beside it is found first.
  const target = found?.toLowerCase().endsWith(".crt")
    ? found
    : folder.pathOf(`${request.address}.crt`);
  const existing = found ? await readExisting(found, request.address) : undefined;
  let capabilities = request.capabilities;
  let status: StoreResult["status"] = "imported";
  if (existing?.leaf && bytesEqual(existing.leaf.der, request.leaf.der)) {
    capabilities ??= existing.capabilities;
    status = "updated";
  } else if (existing) {
    const refusal = olderThanExisting(request, existing, context);
    if (refusal) return { status: "refused", file: existing.file, reason: refusal };
    status = "updated";
  }
  const bytes = renderFile(request.leaf.der, request.intermediates, capabilities);
  if (status === "updated" && existing!.file === target && bytesEqual(existing!.bytes, bytes)) {
    status = "unchanged";
  }
  if (status !== "unchanged" && !context.dryRun) await writeFileAtomic(target, bytes, 0o644);
  return { status, file: target, capabilities };
}

/**
 * Why `request` must not replace the existing certificate, or undefined.
 * An existing certificate that is unusable now (expired, untrusted) may be
 * replaced by any good one; a usable one only by a newer one.
 */
function olderThanExisting(
  request: StoreRequest,
  existing: Existing,
  context: StoreContext,
): string | undefined {
  const old = existing.leaf;
  if (!old) return undefined;
  const pool = [
    ...existing.chain,
    ...request.intermediates.map((der) => parseCertificate(der, "intermediate")),
  ];
  const trust = { anchors: new CertPool(context.anchors.map((a) => a.der)), intermediates: [] };
  const verdict = judgeCertificate(old, pool, request.address, "encrypt", {
    trust,
    now: context.now,
    allowInvalid: false,
  });
  if (verdict.problems.length > 0) return undefined;
  const leaf = request.leaf;
  const newer = leaf.notBefore.getTime() > old.notBefore.getTime() ||
    (leaf.notBefore.getTime() === old.notBefore.getTime() &&
      leaf.notAfter.getTime() > old.notAfter.getTime());
  if (newer) return undefined;
  return `not newer than the valid certificate in ${existing.file} ` +
    `(valid ${isoDate(old.notBefore)} to ${isoDate(old.notAfter)}; this one ` +
    `${isoDate(leaf.notBefore)} to ${isoDate(leaf.notAfter)})`;
}

/** Reads the file already there; an unreadable one counts as no usable certificate. */
async function readExisting(file: string, address: string): Promise<Existing> {
  const bytes = await readFileBytes(file);
  try {
    const certs = loadPemBundle(bytes, file).map((der) => parseCertificate(der, file));
    const { leaf, chain } = pickLeaf(certs, undefined, address);
    let capabilities: Uint8Array | undefined;
    try {
      capabilities = readCapabilitiesBlock(bytes);
    } catch {
      capabilities = undefined; // DER files have no blocks
    }
    return { file, bytes, leaf, chain, capabilities };
  } catch {
    return { file, bytes, chain: [] };
  }
}

/** The `.crt` text: leaf, intermediates, then the capabilities block. */
export function renderFile(
  leaf: Uint8Array,
  intermediates: Uint8Array[],
  capabilities: Uint8Array | undefined,
): Uint8Array {
  let text = [leaf, ...intermediates].map((der) => pemBlock("CERTIFICATE", der)).join("");
  if (capabilities) text += capabilitiesPem(capabilities);
  return new TextEncoder().encode(text);
}
