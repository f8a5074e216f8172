/**
 * `smimepost keys import`: recipients' certificates collected from signed
 * mail and certificate files into the key folder. One input's bytes in,
 * one outcome per certificate (or one refusal) out, so that the CLI and a
 * webhook receiver share it.
 *
 * Signed mail is verified first: every signature intact, every signer's
 * path trusted, the one From mailbox among the signer certificate's
 * addresses. Bare certificates (PEM, DER, .p7b/.p7c/.p7s bags) are stored
 * only when their path is trusted and they may be used for encryption.
 *
 * @module
 */

import { bytesEqual } from "../bytes.ts";
import type { SignerResult } from "../cms/types.ts";
import { type ErrorCode, isSmimeError, reasonOf, SmimeError } from "../errors.ts";
import { authorOfOpened } from "../smime/author.ts";
import { openMessage } from "../smime/open.ts";
import type { KeyCandidates, Opened } from "../smime/open.ts";
import { assessCertificate } from "./cert_check.ts";
import { type CertInfo, parseCertificate } from "./cert_info.ts";
import { CertPool, type TrustStore, validatePath } from "../trust/mod.ts";
import { singleFromAddress } from "./from_address.ts";
import { isCapabilityList } from "./capabilities.ts";
import { type ImportOutcome, outcomeOf, refusal } from "./import_outcome.ts";
import { storeCertificate, type StoreRequest } from "./import_write.ts";
import { judgeCertificate } from "./judge.ts";
import { certificateBag, distinct, pemCertificates } from "./import_bag.ts";

export { importJson, importLine, type ImportOutcome, ImportTally } from "./import_outcome.ts";

/** The largest input read, by default: 50 MB. */
export const MAX_INPUT_BYTES = 50 * 1024 * 1024;
/** The most distinct certificates one input may carry, by default. */
export const MAX_CERTIFICATES = 1000;

/** How to import. */
export interface ImportOptions {
  /** The key folder (`--keys`); it must exist. */
  keysDir: string;
  /** DER trust anchors (`--trust`); at least one. */
  trustAnchors: Uint8Array[];
  /** Decide and report, write nothing. */
  dryRun: boolean;
  /** The time validity is judged at; default now. */
  now?: Date;
  /**
   * The key folder's CA certificates (what `KeyStore.trustStore()` holds):
   * candidate intermediates besides the input's own, so a leaf-only file
   * imports once its intermediate is in the folder. The intermediates of
   * every path imported (or, with dryRun, that would be) are added, so a
   * later input of the same run finds them as it would in the folder.
   */
  intermediates?: CertPool;
  /** Keys for a message signed inside an encrypted layer (`--key`, the key folder). */
  decryptionKeys?: (bytes: Uint8Array, source: string) => KeyCandidates;
  /** Default {@link MAX_INPUT_BYTES}. */
  maxBytes?: number;
  /** Default {@link MAX_CERTIFICATES}. */
  maxCertificates?: number;
}

/**
 * Imports the certificates of one input: a signed message (opaque,
 * detached, or signed inside an encrypted layer), a PEM or DER certificate
 * file, or a CMS certificate bag (.p7b, .p7c, .p7s; DER or PEM `PKCS7`).
 * Every problem of the input is an outcome with status "refused", never an
 * exception.
 *
 * @param bytes the whole input
 * @param source what the outcome lines name ("msg.eml", "inbox.mbox message 3")
 * @param options key folder, trust anchors, dry run
 * @returns one outcome per stored certificate and address, or the refusals
 * @throws {SmimeError} E_USAGE when no trust anchor is given
 */
export async function importMessage(
  bytes: Uint8Array,
  source: string,
  options: ImportOptions,
): Promise<ImportOutcome[]> {
  if (options.trustAnchors.length === 0) {
    throw new SmimeError("E_USAGE", "keys import needs trust anchors (--trust FILE)");
  }
  const maxBytes = options.maxBytes ?? MAX_INPUT_BYTES;
  if (bytes.length > maxBytes) {
    return [refusal(source, "E_MESSAGE", `larger than the ${megabytes(maxBytes)} MB limit`)];
  }
  try {
    const bag = certificateBag(bytes, source);
    if (bag?.length === 0) return [refusal(source, "E_CERT_INVALID", "no certificate in it")];
    return bag ? await importBag(bag, source, options) : await importMail(bytes, source, options);
  } catch (err) {
    if (!isSmimeError(err)) throw err;
    return [refusal(source, err.code, reasonWithout(source, err))];
  }
}

// ------------------------------------------------------------ signed mail

async function importMail(
  bytes: Uint8Array,
  source: string,
  options: ImportOptions,
): Promise<ImportOutcome[]> {
  let opened: Opened;
  try {
    opened = await openMessage(bytes, source, {
      trust: folderTrust(options),
      keys: options.decryptionKeys?.(bytes, source),
    });
  } catch (err) {
    if (isSmimeError(err, "E_MESSAGE") && /not an S\/MIME message/.test(err.message)) {
      const pasted = pemCertificates(bytes, source);
      if (pasted) return await importBag(pasted, source, options);
      return [refusal(source, "E_VERIFY", `not signed (${reasonWithout(source, err)})`)];
    }
    throw err;
  }
  const layers = opened.layers.flatMap((l) => l.kind === "signed" ? [l.result] : []);
  if (layers.length === 0) return [refusal(source, "E_VERIFY", "encrypted, but not signed")];
  for (const signer of layers.flatMap((l) => l.signers)) {
    const problem = signerProblem(signer);
    if (problem) return [refusal(source, "E_VERIFY", problem)];
  }
  // The same author as verify finds: the outer From, else the signed content's.
  const from = singleFromAddress(authorOfOpened(bytes, opened, source), source);
  const candidates: { signer: SignerResult; pool: Uint8Array[] }[] = [];
  for (const layer of layers) {
    for (const signer of layer.signers) {
      if (!signer.emailAddresses.includes(from)) continue;
      if (candidates.some((c) => bytesEqual(c.signer.certificate!, signer.certificate!))) continue;
      candidates.push({ signer, pool: layer.certificates });
    }
  }
  if (candidates.length === 0) {
    const holders = [...new Set(layers.flatMap((l) => l.signers.flatMap((s) => s.emailAddresses)))];
    const named = holders.length ? holders.join(", ") : "no e-mail address";
    return [
      refusal(source, "E_VERIFY", `From ${from} is not the signer's address (signer: ${named})`),
    ];
  }
  const outcomes: ImportOutcome[] = [];
  for (const { signer, pool } of candidates) {
    const leaf = parseCertificate(signer.certificate!, `${source}: signer certificate`);
    const capabilities = signer.capabilities && isCapabilityList(signer.capabilities)
      ? signer.capabilities.slice()
      : undefined;
    outcomes.push(
      await importLeaf(
        leaf,
        from,
        distinct(pool, source, options.maxCertificates ?? MAX_CERTIFICATES),
        source,
        options,
        {
          capabilities,
          judged: true,
        },
      ),
    );
  }
  return outcomes;
}

/** Why a signer can't vouch for its certificate, or undefined. */
function signerProblem(signer: SignerResult): string | undefined {
  const who = signer.subject ? `signer "${signer.subject}"` : "a signer";
  if (!signer.signatureValid) {
    return `signature BROKEN (${signer.signatureError ?? "does not verify"})`;
  }
  if (!signer.certificate) return `${who}: certificate not in the message`;
  if (signer.chain !== "trusted") {
    return `${who} NOT trusted (${signer.chainError ?? "no path to a trust anchor"})`;
  }
  return undefined;
}

// ---------------------------------------------------- bare certificates

async function importBag(
  certs: Uint8Array[],
  source: string,
  options: ImportOptions,
): Promise<ImportOutcome[]> {
  const pool = distinct(certs, source, options.maxCertificates ?? MAX_CERTIFICATES);
  const parsed: CertInfo[] = [];
  for (const der of pool) {
    try {
      parsed.push(parseCertificate(der, source));
    } catch {
      // an unreadable certificate can be neither leaf nor intermediate
    }
  }
  const leaves = parsed.filter((c) => !c.isCa && c.emails.length > 0);
  if (leaves.length === 0) {
    return [refusal(source, "E_CERT_INVALID", "no user certificate with an e-mail address in it")];
  }
  const outcomes: ImportOutcome[] = [];
  for (const leaf of leaves) {
    for (const address of leaf.emails) {
      outcomes.push(await importLeaf(leaf, address, pool, source, options, { judged: false }));
    }
  }
  return outcomes;
}

// ------------------------------------------------------------- shared

/**
 * Checks one leaf for encryption to `address`, finds its intermediates in
 * `pool`, and stores it. `judged`: the path was already trusted by
 * verification (signed mail); otherwise the chain is judged here.
 */
async function importLeaf(
  leaf: CertInfo,
  address: string,
  pool: Uint8Array[],
  source: string,
  options: ImportOptions,
  extra: { capabilities?: Uint8Array; judged: boolean },
): Promise<ImportOutcome> {
  const now = options.now ?? new Date();
  const anchors = options.trustAnchors.map((der) => parseCertificate(der, "trust anchor"));
  const candidates = pool.filter((der) => !bytesEqual(der, leaf.der)).flatMap((der) => {
    try {
      const info = parseCertificate(der, source);
      return info.isCa ? [info] : [];
    } catch {
      return [];
    }
  });
  const folder = folderTrust(options);
  const own = new CertPool(candidates.map((c) => c.der));
  // The certificate's own file before the key folder; what a signed message
  // brought after it (README, "Trust: one path engine").
  const trust: TrustStore = {
    anchors: folder.anchors,
    intermediates: extra.judged ? [...folder.intermediates, own] : [own, ...folder.intermediates],
  };
  const isAnchor = trust.anchors.has(leaf);
  const problems = extra.judged
    ? assessCertificate(leaf, address, "encrypt", now).findings
      .filter((f) => !(f.kind === "self-signed" && isAnchor))
    : judgeCertificate(leaf, candidates, address, "encrypt", {
      trust: folder,
      now,
      allowInvalid: false,
    }).problems;
  if (problems.length > 0) {
    const code: ErrorCode = problems[0]!.code;
    return refusal(source, code, problems.map((p) => p.text).join("; "), address);
  }
  let intermediates: Uint8Array[] = [];
  if (!isAnchor) {
    const path = validatePath(leaf, trust, { now, leafJudged: true });
    if (!path.ok) {
      return refusal(source, "E_CHAIN", `no path to a trust anchor now: ${path.reason}`);
    }
    intermediates = path.path.slice(1).filter((c) => !trust.anchors.has(c))
      .map((c) => c.der.slice());
  }
  const request: StoreRequest = { address, leaf, intermediates, capabilities: extra.capabilities };
  try {
    const stored = await storeCertificate(request, {
      keysDir: options.keysDir,
      anchors,
      now,
      dryRun: options.dryRun,
    });
    const outcome = outcomeOf(source, request, stored, options.dryRun);
    if (outcome.status === "imported" || outcome.status === "updated") {
      // CA certificates of a trusted path, now in the folder.
      for (const der of intermediates) options.intermediates?.add(der);
    }
    return outcome;
  } catch (err) {
    if (!isSmimeError(err)) throw err;
    return refusal(source, err.code, reasonWithout(source, err), address);
  }
}

/** The anchors, and the key folder's CA certificates as candidate intermediates. */
function folderTrust(options: ImportOptions): TrustStore {
  return {
    anchors: new CertPool(options.trustAnchors),
    intermediates: options.intermediates ? [options.intermediates] : [],
  };
}

function reasonWithout(source: string, err: SmimeError): string {
  const reason = reasonOf(err);
  return reason.startsWith(`${source}: `) ? reason.slice(source.length + 2) : reason;
}

function megabytes(bytes: number): string {
  return String(Math.round(bytes / 1024 / 1024));
}
