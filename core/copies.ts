/**
 * The encrypted copies of one message: who gets which copy, which
 * certificates each copy is encrypted to, and with which algorithms.
 *
 * NSS 3.87 (Thunderbird's library) rejects a whole message that holds one
 * key-agreement (EC) RecipientInfo, for every recipient (FIELD.md). So by
 * default the EC recipients of a copy get a copy of their own, as Bcc
 * recipients do, and the RSA recipients' copy carries no EC RecipientInfo:
 * a sender whose own certificate is EC is left out of copies that go to RSA
 * recipients (with a warning), and put in the EC ones. "shared" keeps one
 * copy for everyone, as before.
 *
 * @module
 */

import { chooseCipher, chooseKeyTransport } from "./algorithms.ts";
import type { CipherName, EncryptRecipient, RsaKeyTransport } from "./cms/types.ts";
import type { CertificateEntry } from "./keys/mod.ts";

/** One encrypted copy to make. */
export interface CopyPlan {
  /** Its envelope recipients. */
  readonly recipients: string[];
  /** Its content cipher. */
  readonly cipher: CipherName;
  /** The certificates it is encrypted to, each with its RSA key transport. */
  readonly encryptTo: EncryptRecipient[];
}

/** How to plan the copies. */
export interface CopyOptions {
  /** `--cipher`: this cipher for every copy; absent: per copy. */
  cipher?: CipherName;
  /** `--oaep`: this key transport for every RSA recipient; absent: per recipient. */
  rsaKeyTransport?: RsaKeyTransport;
  /** "shared" (`--single-copy`): RSA and EC recipients in one copy. Default "separate". */
  ecRecipients?: "separate" | "shared";
}

/** What {@link planCopies} decided. */
export interface CopyPlans {
  readonly copies: CopyPlan[];
  /** One-line warnings, e.g. a copy not encrypted to the sender. */
  readonly warnings: string[];
}

/** True for an EC certificate ("EC P-256"); everything else we encrypt to is RSA. */
export function isEc(entry: CertificateEntry): boolean {
  return entry.keyAlgorithm.startsWith("EC");
}

/**
 * Splits recipient groups into copies and chooses their algorithms.
 *
 * @param groups the recipient sets before the EC split (To/Cc, then each Bcc)
 * @param certificates every recipient's certificate, by lower-cased address
 * @param self the sender's own certificate to encrypt to, if any
 * @param options forced algorithms and the EC split
 */
export function planCopies(
  groups: readonly (readonly string[])[],
  certificates: ReadonlyMap<string, CertificateEntry>,
  self: CertificateEntry | undefined,
  options: CopyOptions,
): CopyPlans {
  const separate = options.ecRecipients !== "shared";
  const entryOf = (address: string) => certificates.get(address.toLowerCase())!;
  const sets = separate ? groups.flatMap((g) => splitByKeyType(g, entryOf)) : groups;
  const unreadable: string[] = [];
  const copies = sets.map((recipients) => {
    const members = recipients.map(entryOf);
    const hasRsa = members.some((m) => !isEc(m));
    const known = new Set(members.map((m) => m.address));
    if (self && !known.has(self.address)) {
      if (separate && isEc(self) && hasRsa) unreadable.push(...recipients);
      else members.push(self);
    }
    return {
      recipients: [...recipients],
      cipher: chooseCipher(members.map((m) => m.capabilities), options.cipher),
      encryptTo: members.map((m) =>
        isEc(m) ? { certificate: m.certificate } : {
          certificate: m.certificate,
          rsaKeyTransport: chooseKeyTransport(m.capabilities, options.rsaKeyTransport),
        }
      ),
    };
  });
  const selfIsRecipient = self !== undefined &&
    sets.some((s) => s.some((a) => a.toLowerCase() === self.address));
  const warnings = unreadable.length === 0 || selfIsRecipient ? [] : [
    `not encrypting the copy to ${unreadable.join(", ")} to the sender's EC certificate ` +
    `(Thunderbird would refuse it for every RSA recipient): the sender can't read that copy; ` +
    `--single-copy keeps one copy for all`,
  ];
  return { copies, warnings };
}

/** A group's RSA recipients and its EC recipients, when it has both. */
function splitByKeyType(
  group: readonly string[],
  entryOf: (address: string) => CertificateEntry,
): string[][] {
  const ec = group.filter((a) => isEc(entryOf(a)));
  if (ec.length === 0 || ec.length === group.length) return [[...group]];
  return [group.filter((a) => !isEc(entryOf(a))), ec];
}
