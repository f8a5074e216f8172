/**
 * The core pipeline: parse -> sign -> encrypt, up to the bytes that a
 * delivery plugin (or stdout) receives. Keys are found and checked for every
 * address before anything is produced.
 *
 * @module
 */
import type {
  CipherName,
  DigestName,
  RsaKeyTransport,
  RsaSignaturePadding,
  SigningIdentity,
} from "./cms/types.ts";
import { isSmimeError, reasonOf, SmimeError } from "./errors.ts";
import type { ErrorCode } from "./errors.ts";
import type { CertificateEntry, KeyStore, SignerEntry } from "./keys/mod.ts";
import { pssKeyTooSmall } from "./cms/sign.ts";
import { isEc, planCopies } from "./copies.ts";
import type { Envelope, HeaderField, Message } from "./message/mod.ts";
import { canonicalEntity, envelopeOf, getHeader, makeHeader } from "./message/mod.ts";
import { encryptEntity, messageHead, signEntity } from "./smime/seal.ts";
import type { PlainEntity, SignedEntity } from "./smime/seal.ts";
import { sealAsked, sealedMessage } from "./smime/sealed.ts";
import type { Seal, SealedMessage, SealFor } from "./smime/sealed.ts";

/** What to do to a message. */
export interface SealOptions {
  sign: boolean;
  /** multipart/signed instead of opaque application/pkcs7-mime. */
  detached: boolean;
  encrypt: boolean;
  digest?: DigestName;
  rsaPadding?: RsaSignaturePadding;
  /** Forces a content cipher on every copy; absent: chosen per copy (algorithms.ts). */
  cipher?: CipherName;
  /** Forces an RSA key transport on every recipient; absent: chosen per recipient. */
  rsaKeyTransport?: RsaKeyTransport;
  /** Also encrypt to the sender, so the sent copy stays readable. Default true. */
  encryptToSelf?: boolean;
  /**
   * Bcc recipients would be visible to everyone in the RecipientInfos of a
   * shared encrypted copy, so by default each gets a copy of its own.
   * "shared" puts them in the one copy.
   */
  bcc?: "separate" | "shared";
  /**
   * An EC RecipientInfo makes Thunderbird (NSS) refuse the whole message, so
   * by default EC recipients get a copy of their own (copies.ts). "shared"
   * puts everyone in one copy.
   */
  ecRecipients?: "separate" | "shared";
  /**
   * The output is one stream (stdout, a file): refuse, before any work, a
   * message that needs separate Bcc or EC copies.
   */
  singleCopy?: boolean;
  /** Envelope sender instead of the header's (a manifest's "from"). */
  sender?: string;
  /**
   * Envelope recipients instead of To/Cc/Bcc (a manifest's "to"): one copy,
   * encrypted to exactly these and the sender.
   */
  recipients?: readonly string[];
}

/** The result of sealing one input message; `S` is what was done to every copy. */
export interface SealResult<S extends Seal = Seal> {
  readonly envelope: Envelope;
  /** One per recipient group (Bcc and EC recipients apart), each with its envelope. */
  readonly copies: SealedMessage<S>[];
  /** The Message-ID every copy carries: the input's, or the one sealing added. */
  readonly messageId: string;
  /** One-line warnings: unchecked chains, legacy certificates, no self copy. */
  readonly warnings: string[];
}

/** The seal that {@link sealMessage} gives for these options, at the type level. */
export type SealOf<O extends Pick<SealOptions, "sign" | "encrypt">> = SealFor<
  O["sign"],
  O["encrypt"]
>;

/**
 * Signs and/or encrypts a parsed message for all its recipients. The
 * copies' type says what was done: options written as literals (`sign:
 * true`) give `SealedMessage<"signed">`, so a copy that skipped sealing
 * can't stand in for one.
 *
 * @throws {SmimeError} E_MESSAGE for a message without sender or recipients,
 *   E_CERT_* / E_KEY_* naming every address whose key is missing or unusable,
 *   E_USAGE when `singleCopy` is set and Bcc or EC recipients need their own copies,
 *   E_UNSUPPORTED for an RSA signer too small for RSASSA-PSS with the digest.
 */
export async function sealMessage<const O extends SealOptions>(
  message: Message,
  keys: KeyStore,
  options: O,
): Promise<SealResult<SealOf<O>>> {
  if (!options.recipients) refuseRedirected(message);
  const envelope = withOverrides(envelopeOf(message), options);
  const groups = options.recipients
    ? [envelope.recipients.slice()]
    : recipientGroups(envelope, options);
  if (options.singleCopy && groups.length > 1) {
    const hidden = groups.slice(1).flat().join(", ");
    throw new SmimeError(
      "E_USAGE",
      `Cannot write one encrypted copy for ${message.source}: Bcc recipients (${hidden}) ` +
        `would be visible to the others; deliver it, or pass --bcc-shared`,
    );
  }
  const warnings: string[] = [];
  const signer = options.sign ? await keys.signerFor(envelope.sender) : undefined;
  if (signer) {
    warnings.push(...signer.warnings.map((w) => `${signer.file}: ${w}`));
    checkSignerFits(signer, options);
  }
  const certificates = options.encrypt
    ? await recipientCertificates(keys, envelope, options, warnings)
    : undefined;
  const plans = certificates
    ? planCopies(groups, certificates.recipients, certificates.self, options)
    : undefined;
  if (options.singleCopy && plans && plans.copies.length > groups.length) {
    const ec = [...certificates!.recipients.values()].filter(isEc).map((e) => e.address);
    throw new SmimeError(
      "E_USAGE",
      `Cannot write one encrypted copy for ${message.source}: EC recipients (${ec.join(", ")}) ` +
        `get a copy of their own, as Thunderbird refuses a message with an EC recipient for ` +
        `everyone; deliver it, or pass --single-copy`,
    );
  }
  if (plans) warnings.push(...plans.warnings);

  // Not destructured: its entity is built only when read (canonical.ts).
  const canonical = canonicalEntity(message);
  const plain: PlainEntity = {
    stage: "plain",
    get entity() {
      return canonical.entity;
    },
    source: canonical.source,
  };
  const traced = withTraceHeaders(canonical.outer, envelope.sender);
  const headers = options.sign || options.encrypt
    ? withoutBodySignatures(traced, warnings)
    : traced;
  // The last stage builds its entity behind the message head, so that a
  // large message is not copied once more to put the header in front.
  const head = messageHead(headers);
  const inner = signer
    ? await sign(plain, signer.identity, options, plans ? undefined : head, message.source)
    : plain;

  const copies: SealedMessage[] = [];
  for (const plan of plans?.copies ?? groups.map((recipients) => ({ recipients }))) {
    const sealed = "encryptTo" in plan
      ? await encryptEntity(inner, plan.encryptTo, { cipher: plan.cipher }, head)
      : inner;
    copies.push(
      sealedMessage(
        headers,
        sealed,
        { sender: envelope.sender, recipients: plan.recipients },
        head,
      ),
    );
  }
  const expected = sealAsked(options);
  if (copies.some((c) => c.seal !== expected)) {
    throw new Error(`sealMessage: a copy is not ${expected} as asked`);
  }
  return {
    envelope,
    copies: copies as SealedMessage<SealOf<O>>[],
    // withTraceHeaders made sure there is one.
    messageId: getHeader({ headers }, "Message-ID")!.value,
    warnings: mergeWarnings(warnings),
  };
}

/**
 * Folds the same warning about several files into one line:
 * "chain not checked (no trust bundle: ...): a.crt, b.crt".
 */
function mergeWarnings(warnings: string[]): string[] {
  const byText = new Map<string, string[]>();
  const plain: string[] = [];
  for (const warning of warnings) {
    const match = /^(\S+): (.+)$/.exec(warning);
    if (!match) {
      plain.push(warning);
      continue;
    }
    const files = byText.get(match[2]!) ?? [];
    if (!files.includes(match[1]!)) files.push(match[1]!);
    byText.set(match[2]!, files);
  }
  return [...[...byText].map(([text, files]) => `${text}: ${files.join(", ")}`), ...plain];
}

/** The envelope with a manifest's sender and recipients, when given. */
/**
 * Refuses a redirected message (Resent-To, Resent-Cc or Resent-Bcc, RFC 5322
 * 3.6.6) rather than send it where its To, Cc and Bcc say: a redirect is
 * meant for the resent recipients, who would silently get nothing. Signing
 * it for them would not help either: the signer would be the resender, not
 * the From a reader checks. A manifest's "to" names the recipients instead.
 *
 * @throws {SmimeError} E_MESSAGE naming the fields
 */
function refuseRedirected(message: Message): void {
  const resent = message.headers.filter((h) => /^resent-(to|cc|bcc)$/i.test(h.name))
    .map((h) => h.name);
  if (resent.length === 0) return;
  throw new SmimeError(
    "E_MESSAGE",
    `Cannot seal ${message.source}: it is a redirected message (${resent.join(", ")}); ` +
      `smimepost sends to its To, Cc and Bcc, so remove the Resent-* fields, or name the ` +
      `recipients in a manifest's "to"`,
  );
}

function withOverrides(envelope: Envelope, options: SealOptions): Envelope {
  if (!options.sender && !options.recipients) return envelope;
  const recipients = options.recipients
    ? [...new Map(options.recipients.map((a) => [a.toLowerCase(), a])).values()]
    : envelope.recipients;
  if (recipients.length === 0) {
    throw new SmimeError("E_MESSAGE", 'no recipients: the manifest\'s "to" is empty');
  }
  return { ...envelope, sender: options.sender ?? envelope.sender, recipients };
}

/**
 * Refuses, before any work, a signer whose key can't sign as asked: an RSA
 * key too small for RSASSA-PSS with the digest (signedData() refuses it
 * too, without the address, file and flags).
 *
 * @throws {SmimeError} E_UNSUPPORTED
 */
function checkSignerFits(signer: SignerEntry, options: SealOptions): void {
  if (options.rsaPadding !== "pss") return;
  const tooSmall = pssKeyTooSmall(signer.identity.privateKey, options.digest ?? "SHA-256");
  if (!tooSmall) return;
  const flags = tooSmall.digests.map((d) => d.replace("-", "").toLowerCase());
  const other = flags.length ? `--digest ${flags.join(" or ")}, or ` : "";
  throw new SmimeError(
    "E_UNSUPPORTED",
    `Cannot sign as ${signer.address}: ${tooSmall.reason}; use ${other}a larger key ` +
      `(${signer.keyFile})`,
  );
}

function sign(
  plain: PlainEntity,
  identity: SigningIdentity,
  options: SealOptions,
  head: Uint8Array | undefined,
  source: string,
): Promise<SignedEntity> {
  return signEntity(plain, identity, {
    detached: options.detached,
    digest: options.digest,
    rsaPadding: options.rsaPadding,
    source,
  }, head);
}

/**
 * The recipient sets of the copies: one for To and Cc (and Bcc when shared
 * or not encrypting), then one per Bcc-only recipient.
 */
function recipientGroups(envelope: Envelope, options: SealOptions): string[][] {
  const visible = new Set([...envelope.to, ...envelope.cc].map((m) => m.address.toLowerCase()));
  const hidden = envelope.recipients.filter((a) => !visible.has(a.toLowerCase()));
  if (!options.encrypt || options.bcc === "shared" || hidden.length === 0) {
    return [envelope.recipients.slice()];
  }
  const shown = envelope.recipients.filter((a) => visible.has(a.toLowerCase()));
  return [...(shown.length ? [shown] : []), ...hidden.map((a) => [a])];
}

/** Recipients whose failure is given in full in one error line; then this many more addresses. */
const SHOWN_REASONS = 5;
const SHOWN_ADDRESSES = 10;

/**
 * Finds the certificate of every recipient, and of the sender unless told
 * not to, before anything is produced. All failures are reported at once.
 */
async function recipientCertificates(
  keys: KeyStore,
  envelope: Envelope,
  options: SealOptions,
  warnings: string[],
): Promise<{ recipients: Map<string, CertificateEntry>; self?: CertificateEntry }> {
  const found = new Map<string, CertificateEntry>();
  const failures: { address: string; code: ErrorCode; reason: string }[] = [];
  for (const address of envelope.recipients) {
    try {
      const entry = await keys.certificateFor(address, "encrypt");
      found.set(address.toLowerCase(), entry);
      warnings.push(...entry.warnings.map((w) => `${entry.file}: ${w}`));
    } catch (err) {
      if (!isSmimeError(err)) throw err;
      failures.push({ address, code: err.code, reason: reasonOf(err) });
    }
  }
  if (failures.length === 1) {
    const [only] = failures;
    throw new SmimeError(only!.code, only!.reason);
  }
  if (failures.length > 1) {
    // A few reasons in full, then addresses: one line stays readable for a list of 500.
    const rest = failures.slice(SHOWN_REASONS);
    const more = rest.length === 0
      ? ""
      : `; and ${rest.length} more (${
        rest.slice(0, SHOWN_ADDRESSES).map((f) => f.address).join(", ")
      }${rest.length > SHOWN_ADDRESSES ? ", ..." : ""})`;
    throw new SmimeError(
      failures[0]!.code,
      `Cannot encrypt to ${failures.length} recipients: ` +
        failures.slice(0, SHOWN_REASONS).map((f) => f.reason).join("; ") + more,
    );
  }
  if (!(options.encryptToSelf ?? true)) return { recipients: found };
  const own = found.get(envelope.sender.toLowerCase());
  if (own) return { recipients: found, self: own };
  try {
    const self = await keys.certificateFor(envelope.sender, "encrypt");
    warnings.push(...self.warnings.map((w) => `${self.file}: ${w}`));
    return { recipients: found, self };
  } catch (err) {
    if (!isSmimeError(err)) throw err;
    warnings.push(
      `not encrypting to the sender, the sent copy won't be readable: ${reasonOf(err)}`,
    );
    return { recipients: found };
  }
}

/**
 * Adds Date and Message-ID when the message lacks them (RFC 5322 3.6): they
 * sit outside the signature, and every later step (journals, counting what
 * arrived) keys on Message-ID.
 */
/** Signatures over the body a sealed message no longer has (RFC 6376, RFC 8617, RFC 4870). */
const BODY_SIGNATURE =
  /^(dkim-signature|domainkey-signature|arc-seal|arc-message-signature|arc-authentication-results)$/i;

/**
 * The header fields without DKIM, DomainKeys and ARC signatures: they sign
 * the body sealing replaces (and often Content-Type), so on the sealed
 * message they could only fail, which receivers may hold against it. A
 * warning says which were removed; DKIM belongs after sealing.
 */
function withoutBodySignatures(headers: HeaderField[], warnings: string[]): HeaderField[] {
  const kept = headers.filter((h) => !BODY_SIGNATURE.test(h.name));
  if (kept.length === headers.length) return headers;
  const removed = [...new Set(headers.filter((h) => !kept.includes(h)).map((h) => h.name))];
  warnings.push(
    `removed ${removed.join(", ")} from the message: sealing changes what it signed, so it ` +
      `could only fail; sign with DKIM after sealing (the mail platform does)`,
  );
  return kept;
}

function withTraceHeaders(outer: HeaderField[], sender: string): HeaderField[] {
  const headers = outer.slice();
  const probe: Message = { source: "", headers, body: new Uint8Array() };
  if (!getHeader(probe, "Date")) headers.push(makeHeader("Date", rfc5322Date(new Date())));
  if (!getHeader(probe, "Message-ID")) {
    const domain = sender.slice(sender.lastIndexOf("@") + 1) || "smimepost.invalid";
    const id = crypto.randomUUID().replaceAll("-", "");
    headers.push(makeHeader("Message-ID", `<${id}@${domain}>`));
  }
  return headers;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 3.3 date-time in UTC, e.g. "Sat, 28 Nov 2026 02:36:47 +0000". */
export function rfc5322Date(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:` +
    `${pad(date.getUTCSeconds())} +0000`;
}
