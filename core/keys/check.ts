/**
 * `smimepost keys check`: one report per certificate, key and PKCS#12 file
 * in the key folder, naming every problem instead of stopping at the first.
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import { isSmimeError, reasonOf } from "../errors.ts";
import { isAddressLike } from "./address.ts";
import { type Purpose } from "./cert_check.ts";
import { type CertInfo, isoDate, parseCertificate } from "./cert_info.ts";
import { CERT_EXTS, exists, KeyFolder, keyPermissionProblem, readFileBytes } from "./files.ts";
import { judgeCertificate, type JudgeContext } from "./judge.ts";
import type { CertPool } from "../trust/mod.ts";
import { keyMatches, pickLeaf } from "./leaf.ts";
import { loadPemBundle, looksLikeDer, readPemBlocks } from "./pem.ts";
import { splitCapabilities } from "./capabilities.ts";
import { type LoadedKey, loadPrivateKey } from "./private_key.ts";
import type { KeyReport } from "./types.ts";

/** What the check needs from the KeyStore. */
export interface CheckInput {
  folder: KeyFolder;
  context: JudgeContext;
  /** The key folder's CA certificates, candidate intermediates for leaf-only files. */
  intermediates: () => Promise<CertPool>;
  passphrase: (file: string) => Promise<string | undefined>;
  allowInsecurePermissions: boolean;
}

const EXTS = /\.(crt|cer|der|pem|key|p12|pfx)$/i;

/**
 * Checks every certificate, key and PKCS#12 file in the folder.
 *
 * @returns one report per file, sorted by file name
 * @throws {SmimeError} E_INPUT when the folder can't be read
 */
export async function checkKeyReports(input: CheckInput): Promise<KeyReport[]> {
  const names = [...(await input.folder.names()).values()].filter((n) => EXTS.test(n)).sort();
  const trust = input.context.trust;
  const context = trust
    ? { ...input.context, trust: { ...trust, intermediates: [await input.intermediates()] } }
    : input.context;
  const reports: KeyReport[] = [];
  for (const name of names) reports.push(await checkFile(name, { ...input, context }));
  return reports;
}

async function checkFile(name: string, input: CheckInput): Promise<KeyReport> {
  const file = input.folder.pathOf(name);
  const base = name.replace(EXTS, "");
  const address = isAddressLike(base.toLowerCase()) ? base.toLowerCase() : undefined;
  const report: KeyReport = {
    file,
    address,
    kind: "unknown",
    ok: true,
    problems: [],
    warnings: [],
    summary: "",
  };
  try {
    const bytes = await readFileBytes(file);
    if (/\.(p12|pfx)$/i.test(name)) {
      report.kind = "pkcs12";
      await checkPermissions(file, report, input);
      // Loaded on demand: PKCS#12 parsing pulls in pkijs.
      const { readPkcs12 } = await import("./pkcs12.ts");
      const p12 = await readPkcs12(bytes, file, () => input.passphrase(file));
      const { leaf, chain } = pickLeaf(p12.certs.map((c) => parseCertificate(c, file)), p12.key);
      if (!p12.key) report.problems.push("holds no private key");
      if (!leaf) report.problems.push("holds no certificate");
      else judge(leaf, chain, report, input.context);
      if (p12.key && leaf) matchSummary(p12.key, leaf, file, report);
    } else if (isPrivateKey(bytes)) {
      report.kind = "private-key";
      await checkPermissions(file, report, input);
      const key = await loadPrivateKey(bytes, file, () => input.passphrase(file));
      report.summary = `${key.type.toUpperCase()} private key`;
      await matchCertificateFile(key, input.folder, base, report);
      if (address === undefined) report.warnings.push(NOT_AN_ADDRESS);
    } else {
      const certs = loadPemBundle(bytes, file).map((c) => parseCertificate(c, file));
      report.kind = "certificate";
      const { leaf, chain } = pickLeaf(certs, undefined, address);
      judge(leaf!, chain, report, input.context);
      const recorded = splitCapabilities(bytes).warning;
      if (recorded) report.warnings.push(recorded);
    }
  } catch (err) {
    if (!isSmimeError(err)) throw err;
    if (err.code === "E_PASSPHRASE" && /is encrypted/.test(err.message)) {
      report.warnings.push("encrypted; contents not checked (no passphrase available)");
    } else {
      report.problems.push(reasonOf(err));
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** The warning for a file `send` never opens: it finds keys and certificates by address. */
const NOT_AN_ADDRESS =
  "not named after an address (ADDRESS.crt, ADDRESS.pem, ADDRESS.p12): send never looks it up";

function isPrivateKey(bytes: Uint8Array): boolean {
  if (looksLikeDer(bytes)) return false;
  try {
    return readPemBlocks(bytes, "", "E_KEY_INVALID").some((b) => b.label.endsWith("PRIVATE KEY"));
  } catch {
    return bytesToLatin1(bytes).includes("PRIVATE KEY-----");
  }
}

async function checkPermissions(file: string, report: KeyReport, input: CheckInput) {
  const problem = await keyPermissionProblem(file);
  if (!problem) return;
  if (input.allowInsecurePermissions) report.warnings.push(problem.split(";")[0] ?? problem);
  else report.problems.push(problem);
}

// A certificate is judged for both purposes: a problem with both is a
// problem, one that only forbids one purpose is a warning.
function judge(leaf: CertInfo, chain: CertInfo[], report: KeyReport, context: JudgeContext) {
  report.summary = `${leaf.subject}, ${leaf.keyAlgorithm}, valid until ${isoDate(leaf.notAfter)}`;
  if (report.address === undefined) {
    if (context.now > leaf.notAfter) report.problems.push(`expired on ${isoDate(leaf.notAfter)}`);
    report.warnings.push(
      leaf.isCa
        ? "a CA certificate: never looked up by address, used to build paths for the others"
        : NOT_AN_ADDRESS,
    );
    return;
  }
  const verdicts = (["sign", "encrypt"] as Purpose[]).map((purpose) =>
    judgeCertificate(leaf, chain, report.address!, purpose, context)
  );
  const [sign, encrypt] = verdicts.map((v) => v.problems.map((p) => p.text)) as [
    string[],
    string[],
  ];
  for (const text of sign) {
    if (encrypt.includes(text)) report.problems.push(text);
    else report.warnings.push(`not usable for signing: ${text}`);
  }
  for (const text of encrypt) {
    if (!sign.includes(text)) report.warnings.push(`not usable for encryption: ${text}`);
  }
  // Which address send finds it for, and for what.
  const uses = [sign.length === 0 && "signing", encrypt.length === 0 && "encryption"]
    .filter(Boolean);
  if (uses.length) report.summary += `; serves ${report.address} for ${uses.join(" and ")}`;
  report.warnings.push(...new Set(verdicts.flatMap((v) => v.warnings)));
}

async function matchCertificateFile(
  key: LoadedKey,
  folder: KeyFolder,
  base: string,
  report: KeyReport,
) {
  const certFile = await folder.find(base, CERT_EXTS);
  if (!certFile || !(await exists(certFile))) {
    report.warnings.push(`no certificate ${base}.crt beside it`);
    return;
  }
  const certs = loadPemBundle(await readFileBytes(certFile), certFile)
    .map((c) => parseCertificate(c, certFile));
  const leaf = pickLeaf(certs, key).leaf;
  if (leaf) matchSummary(key, leaf, certFile, report);
}

function matchSummary(key: LoadedKey, leaf: CertInfo, certFile: string, report: KeyReport) {
  if (keyMatches(key, leaf)) {
    report.summary += `${report.summary ? ", " : ""}key matches certificate ${certFile}`;
  } else {
    report.problems.push(`private key does not match certificate ${certFile}`);
  }
}
