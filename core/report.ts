/**
 * The text the CLI prints for verify results, key reports and deliveries:
 * pure functions from results to lines, so cli.ts stays the only printer.
 *
 * @module
 */
import type { CopyOutcome } from "./deliver/run.ts";
import type { KeyReport } from "./keys/mod.ts";
import type { OutboundMessage } from "./pipeline.ts";
import type { OpenedLayer } from "./smime/open.ts";

/** The lines describing one opened layer, and how many problems it has. */
export function layerLines(
  source: string,
  layer: OpenedLayer,
  from: string | undefined,
): { lines: string[]; problems: number } {
  if (layer.kind !== "signed") {
    return { lines: [`${source}: ${layer.kind}, opened with ${layer.decryptedWith}`], problems: 0 };
  }
  const form = layer.detached ? "multipart/signed" : "opaque";
  if (layer.result.signers.length === 0) {
    return { lines: [`${source}: signed (${form}) but has no signers`], problems: 1 };
  }
  const lines: string[] = [];
  let problems = 0;
  const problem = (line: string) => {
    lines.push(line);
    problems++;
  };
  for (const signer of layer.result.signers) {
    const who = signer.emailAddresses.join(", ") || signer.subject || "unknown signer";
    const when = signer.signingTime
      ? ` at ${signer.signingTime.toISOString().replace(/\.\d{3}Z$/, "Z")}`
      : "";
    lines.push(
      `${source}: signed (${form}) by ${who}${when}, ` +
        `${signer.digestAlgorithm} with ${signer.signatureAlgorithm}`,
      `  subject: ${signer.subject}`,
    );
    if (signer.signatureValid) lines.push("  signature: intact");
    else problem(`  signature: BROKEN (${signer.signatureError ?? "does not verify"})`);
    if (signer.chain === "trusted") lines.push("  chain: trusted");
    else if (signer.chain === "unchecked") lines.push("  chain: not checked (no --trust given)");
    else problem(`  chain: NOT trusted (${signer.chainError ?? "no path to a trust anchor"})`);
    if (from && !signer.emailAddresses.includes(from.toLowerCase())) {
      problem(`  from: ${from} is not an address of the signer's certificate`);
    }
  }
  return { lines, problems };
}

/** The lines `keys check` prints for one file. */
export function reportLines(report: KeyReport): string[] {
  const head = `${report.ok ? "ok     " : "PROBLEM"} ${report.file}: ${report.summary}`;
  return [
    head,
    ...report.problems.map((p) => `        problem: ${p}`),
    ...report.warnings.map((w) => `        warning: ${w}`),
  ];
}

/** The old tool's line before a message goes out. */
export function sendingLine(file: string, message: OutboundMessage): string {
  return `Sending ${file}\tFrom: ${message.sender}\tTo: ${message.recipients.join(", ")}`;
}

/**
 * The old tool's result lines: `OK - in 0.057 seconds` when every recipient
 * was accepted, otherwise the server's reply verbatim per recipient.
 */
export function outcomeLines(outcome: CopyOutcome): string[] {
  const seconds = (outcome.elapsedMs / 1000).toFixed(3);
  const { recipients, uncertain, id } = outcome.result;
  if (uncertain) {
    return [
      `UNCERTAIN - in ${seconds} seconds: the connection was lost after the message was sent ` +
      `and before the server answered; it may have been delivered (${
        recipients.map((r) => r.recipient).join(", ")
      })`,
    ];
  }
  const failed = recipients.filter((r) => r.status !== "accepted");
  if (failed.length === 0) return [`OK - in ${seconds} seconds${id ? ` (${id})` : ""}`];
  const accepted = recipients.length - failed.length;
  return [
    `${accepted ? "PARTIAL" : "FAILED"} - in ${seconds} seconds: ` +
    `${accepted} of ${recipients.length} recipients accepted`,
    ...failed.map((r) =>
      `  ${r.recipient}: ${r.status === "deferred" ? "deferred: " : ""}${r.response}`
    ),
  ];
}

/** One JSON object per delivered copy, for --json. */
export function outcomeJson(file: string, outcome: CopyOutcome): Record<string, unknown> {
  return {
    file,
    sender: outcome.message.sender,
    sealed: outcome.message.sealed.stage,
    id: outcome.result.id ?? null,
    uncertain: outcome.result.uncertain ?? false,
    elapsed_ms: Math.round(outcome.elapsedMs * 1000) / 1000,
    recipients: outcome.result.recipients.map((r) => ({
      recipient: r.recipient,
      status: r.status,
      code: r.code ?? null,
      enhanced: r.enhanced ?? null,
      response: r.response,
    })),
  };
}
