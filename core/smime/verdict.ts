/**
 * What `verify` concludes about an opened message: for each signer, is the
 * signature intact, does a path reach a trust anchor, is the signer the
 * author the From field names; and the one overall answer. A signer is
 * trusted only when all three hold.
 *
 * @module
 */

import type { SignerResult } from "../cms/types.ts";
import { type Author, authorOfOpened } from "./author.ts";
import { type Opened, openMessage, type OpenOptions } from "./open.ts";

export type { Author } from "./author.ts";

/** The verdict on one signer. */
export interface SignerVerdict {
  /** The signer's addresses, or its subject, or "unknown signer". */
  who: string;
  subject: string;
  emailAddresses: string[];
  digestAlgorithm: string;
  signatureAlgorithm: string;
  /** What the signer claims; shown, never used to judge the path. */
  signingTime?: Date;
  signature: "intact" | "broken";
  signatureError?: string;
  chain: "trusted" | "untrusted" | "unchecked";
  chainError?: string;
  from: "matches" | "differs" | "unknown";
  fromError?: string;
  /** Intact, a trusted path, and the From address is one of the certificate's. */
  trusted: boolean;
}

/** One opened layer, judged. */
export type LayerVerdict =
  | { kind: "signed"; form: "multipart/signed" | "opaque"; signers: SignerVerdict[] }
  | { kind: "enveloped-data" | "auth-enveloped-data"; decryptedWith: string };

/** The verdict on a whole message. */
export interface MessageVerdict {
  layers: LayerVerdict[];
  /** At least one signed layer, and every signer of every signed layer trusted. */
  trusted: boolean;
  /** Every signature intact (whatever the paths and From say). */
  intact: boolean;
  /** Problems found: broken signatures, untrusted paths, From mismatches, no signer. */
  problems: string[];
}

/**
 * Judges an opened message against its author.
 *
 * @param opened what openMessage found
 * @param author the message's one From mailbox, or why there is none
 * @param anchored whether trust anchors were given (else no path is judged)
 */
export function judgeMessage(opened: Opened, author: Author, anchored: boolean): MessageVerdict {
  const problems: string[] = [];
  let signed = 0;
  const layers = opened.layers.map((layer): LayerVerdict => {
    if (layer.kind !== "signed") return layer;
    signed++;
    const form = layer.detached ? "multipart/signed" : "opaque";
    if (layer.result.signers.length === 0) problems.push(`signed (${form}) but has no signers`);
    const signers = layer.result.signers.map((s) => judgeSigner(s, author, problems));
    return { kind: "signed", form, signers };
  });
  if (signed === 0) problems.push("not signed");
  const signers = layers.flatMap((l) => l.kind === "signed" ? l.signers : []);
  return {
    layers,
    trusted: anchored && problems.length === 0 && signers.length > 0 &&
      signers.every((s) => s.trusted),
    intact: signers.length > 0 && signers.every((s) => s.signature === "intact"),
    problems,
  };
}

function judgeSigner(signer: SignerResult, author: Author, problems: string[]): SignerVerdict {
  const who = signer.emailAddresses.join(", ") || signer.subject || "unknown signer";
  const verdict: SignerVerdict = {
    who,
    subject: signer.subject,
    emailAddresses: signer.emailAddresses,
    digestAlgorithm: signer.digestAlgorithm,
    signatureAlgorithm: signer.signatureAlgorithm,
    ...(signer.signingTime ? { signingTime: signer.signingTime } : {}),
    signature: signer.signatureValid ? "intact" : "broken",
    chain: signer.chain,
    from: "unknown",
    trusted: false,
  };
  if (!signer.signatureValid) {
    verdict.signatureError = signer.signatureError ?? "does not verify";
    problems.push(`signature of ${who} is BROKEN (${verdict.signatureError})`);
  }
  if (signer.chain === "untrusted") {
    verdict.chainError = signer.chainError ?? "no path to a trust anchor";
    problems.push(`chain of ${who} is NOT trusted (${verdict.chainError})`);
  }
  if ("problem" in author) {
    verdict.fromError = author.problem;
    problems.push(`the signer can't be matched to the author: ${author.problem}`);
  } else if (signer.emailAddresses.includes(author.address.toLowerCase())) {
    verdict.from = "matches";
  } else {
    verdict.from = "differs";
    verdict.fromError = `${author.address} is not an address of the signer's certificate`;
    problems.push(verdict.fromError);
  }
  verdict.trusted = signer.signatureValid && signer.chain === "trusted" &&
    verdict.from === "matches";
  return verdict;
}

/** The verdict as JSON (dates as ISO strings), for `verify --json`. */
export function verdictJson(source: string, verdict: MessageVerdict): Record<string, unknown> {
  return {
    file: source,
    trusted: verdict.trusted,
    intact: verdict.intact,
    problems: verdict.problems,
    layers: verdict.layers.map((layer) =>
      layer.kind !== "signed" ? { kind: layer.kind, decrypted_with: layer.decryptedWith } : {
        kind: "signed",
        form: layer.form,
        signers: layer.signers.map((s) => ({
          signer: s.who,
          subject: s.subject,
          addresses: s.emailAddresses,
          digest_algorithm: s.digestAlgorithm,
          signature_algorithm: s.signatureAlgorithm,
          signing_time: s.signingTime?.toISOString() ?? null,
          signature: s.signature,
          signature_error: s.signatureError ?? null,
          chain: s.chain,
          chain_error: s.chainError ?? null,
          from: s.from,
          from_error: s.fromError ?? null,
          trusted: s.trusted,
        })),
      }
    ),
  };
}

/**
 * Opens and judges one message: every S/MIME layer, each signer's path
 * (with `options.trust`), and the signers against the From author.
 *
 * @throws {SmimeError} as openMessage: E_MESSAGE (no S/MIME layer), E_CMS,
 *   E_VERIFY (a multipart/signed that is not two parts), E_DECRYPT
 */
export async function verifyMessage(
  bytes: Uint8Array,
  source: string,
  options: OpenOptions,
): Promise<MessageVerdict & { opened: Opened }> {
  const opened = await openMessage(bytes, source, options);
  const author = authorOfOpened(bytes, opened, source);
  const anchored = options.trust !== undefined || options.trustAnchors !== undefined;
  return { ...judgeMessage(opened, author, anchored), opened };
}
