/**
 * The text the CLI prints for verify results, key reports and deliveries:
 * pure functions from results to lines, so cli.ts stays the only printer.
 *
 * @module
 */
import type { BatchEvent } from "./batch/run.ts";
import type { BatchSummary } from "./batch/summary.ts";
import type { KeyReport } from "./keys/mod.ts";
import type { MessageVerdict } from "./smime/verdict.ts";

/** The lines `verify` prints for one message. */
export function verdictLines(source: string, verdict: MessageVerdict): string[] {
  const lines: string[] = [];
  for (const layer of verdict.layers) {
    if (layer.kind !== "signed") {
      lines.push(`${source}: ${layer.kind}, opened with ${layer.decryptedWith}`);
      continue;
    }
    if (layer.signers.length === 0) {
      lines.push(`${source}: signed (${layer.form}) but has no signers`);
    }
    for (const s of layer.signers) {
      const when = s.signingTime
        ? ` at ${s.signingTime.toISOString().replace(/\.\d{3}Z$/, "Z")} (the signer's claim)`
        : "";
      lines.push(
        `${source}: signed (${layer.form}) by ${s.who}${when}, ` +
          `${s.digestAlgorithm} with ${s.signatureAlgorithm}`,
        `  subject: ${s.subject}`,
        s.signature === "intact"
          ? "  signature: intact"
          : `  signature: BROKEN (${s.signatureError})`,
        s.chain === "trusted"
          ? "  chain: trusted (judged now)"
          : s.chain === "unchecked"
          ? "  chain: not checked (no trust bundle: --trust, SMIMEPOST_TRUST or trust in the config file)"
          : `  chain: NOT trusted (${s.chainError})`,
        s.from === "matches"
          ? "  from: the signer's address"
          : s.from === "differs"
          ? `  from: ${s.fromError}`
          : `  from: NOT matched (${s.fromError})`,
      );
    }
  }
  lines.push(
    verdict.trusted
      ? `${source}: TRUSTED`
      : verdict.problems.length
      ? `${source}: NOT trusted: ${verdict.problems.join("; ")}`
      : `${source}: intact, but NOT trusted: no trust bundle: --trust, SMIMEPOST_TRUST or trust in the config file`,
  );
  return lines;
}

/** The lines `keys check` prints for one file. */
export function reportLines(report: KeyReport): string[] {
  // A file refused before anything could be said of it has no summary: its problem says why.
  const head = `${report.ok ? "ok     " : "PROBLEM"} ${report.file}` +
    (report.summary ? `: ${report.summary}` : "");
  return [
    head,
    ...report.problems.map((p) => `        problem: ${p}`),
    ...report.warnings.map((w) => `        warning: ${w}`),
  ];
}

/** One file of `keys check --json`. */
export function keyReportJson(report: KeyReport): Record<string, unknown> {
  return {
    file: report.file,
    address: report.address ?? null,
    kind: report.kind,
    ok: report.ok,
    summary: report.summary,
    problems: report.problems,
    warnings: report.warnings,
  };
}

/** The old tool's line before a message goes out. */
export function sendingLine(label: string, sender: string, recipients: readonly string[]): string {
  return `Sending ${label}\tFrom: ${sender}\tTo: ${recipients.join(", ")}`;
}

type MessageEvent = Extract<BatchEvent, { type: "message" }>;

/**
 * A deferral as it is printed: the server's words and when the next try
 * is; a lost reply says the message may be sent more than once (as
 * Postfix logs it).
 */
export function deferredLine(event: Extract<BatchEvent, { type: "deferred" }>): string {
  const when = `retrying in ${(event.retryInMs / 1000).toFixed(1)} s`;
  if (!event.maybeSent) return `deferred: ${event.response}; ${when}`;
  return `${event.label}: ${event.response}; ${when}: the message may be sent more than once ` +
    `(${event.recipients.join(", ")})`;
}

/**
 * The old tool's result lines for one message: `OK - in 0.057 seconds` when
 * every recipient was accepted, otherwise the server's reply verbatim per
 * recipient.
 */
export function messageLines(event: MessageEvent): string[] {
  const seconds = (event.elapsedMs / 1000).toFixed(3);
  if (event.error) return [`FAILED - ${event.label}: ${event.error}`];
  const uncertain = event.recipients.filter((r) => r.status === "uncertain");
  const failed = event.recipients.filter((r) =>
    r.status !== "accepted" && r.status !== "uncertain"
  );
  const lines: string[] = [];
  const resent = event.recipients.filter((r) => r.resent);
  if (resent.length) {
    lines.push(
      `RESENT - the reply to an earlier try was lost after the message was sent; ` +
        `it may have been delivered more than once (${resent.map((r) => r.recipient).join(", ")})`,
    );
  }
  if (uncertain.length) {
    lines.push(
      `UNCERTAIN - in ${seconds} seconds: the message was sent, but no usable reply to its end ` +
        `came (${lostHow(uncertain[0]!.response)}); it may have been delivered ` +
        `(${uncertain.map((r) => r.recipient).join(", ")})`,
    );
  }
  if (failed.length === 0) {
    return uncertain.length ? lines : [...lines, `OK - in ${seconds} seconds`];
  }
  const accepted = event.recipients.filter((r) => r.status === "accepted").length;
  lines.push(
    `${accepted ? "PARTIAL" : "FAILED"} - in ${seconds} seconds: ` +
      `${accepted} of ${event.recipients.length} recipients accepted`,
    ...failed.map((r) =>
      `  ${r.recipient}: ${r.status === "failed" ? "deferred, gave up: " : ""}${r.response}`
    ),
  );
  return lines;
}

/** One JSON object per message, for --json. */
export function messageJson(event: MessageEvent): Record<string, unknown> {
  return {
    key: event.key,
    file: event.label,
    outcome: event.outcome,
    message_id: event.messageId ?? null,
    error: event.error ?? null,
    elapsed_ms: Math.round(event.elapsedMs * 1000) / 1000,
    recipients: event.recipients.map((r) => ({
      recipient: r.recipient,
      status: r.status,
      code: r.code ?? null,
      enhanced: r.enhanced ?? null,
      response: r.response,
      attempts: r.attempts,
      resent: r.resent ?? false,
      stopped: r.stopped ?? false,
    })),
  };
}

/** The end-of-run summary lines. */
export function summaryLines(summary: BatchSummary): string[] {
  const { messages: m, recipients: r } = summary;
  const seconds = summary.elapsedMs / 1000;
  const finished = m.accepted + m.partial + m.failed;
  const lines = [
    `${finished} messages in ${seconds.toFixed(1)} s (${
      seconds > 0 ? Math.round(finished / seconds) : finished
    } msg/s): ${m.accepted} accepted, ${m.partial} partly, ${m.failed} failed` +
    (m.skipped
      ? `, ${m.skipped} skipped (done in an earlier run${
        m.skipped_unaccepted
          ? `, ${m.skipped_unaccepted} of them not accepted by every recipient`
          : ""
      })`
      : ""),
    `recipients: ${r.accepted} accepted, ${r.rejected} rejected, ${r.failed} deferred then failed, ` +
    `${r.uncertain} possibly delivered (no usable reply to the end of data)`,
  ];
  if (summary.resent) {
    lines.push(
      `  ${summary.resent} sent again after a lost reply: may be delivered more than once`,
    );
  }
  for (const reason of summary.reasons.slice(0, 10)) {
    lines.push(`  ${reason.count} x ${reason.reason}: ${reason.example}`);
  }
  return lines;
}

/** How an uncertain outcome's reply says the answer was lost, in a few words. */
function lostHow(response: string): string {
  if (/time(d)? ?out/i.test(response)) return "the reply timed out";
  if (/garbage|garbled|too long|over-long/i.test(response)) return "the reply was garbled";
  return "the connection was lost";
}
