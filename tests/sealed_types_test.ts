/**
 * Type-level tests of the sealed message: nothing here runs. `deno task
 * check` (and the type check of `deno test`) compiles this file, and each
 * `@ts-expect-error` below fails that check the day its line compiles: the
 * day the types stop keeping unsealed mail away from where sealing was asked.
 * What the same types do at run time is tested in core/smime/sealed_test.ts.
 */
import type { Transport } from "../core/deliver/types.ts";
import type { KeyStore } from "../core/keys/mod.ts";
import type { Message } from "../core/message/mod.ts";
import { sealMessage } from "../core/pipeline.ts";
import type { SignedEntity } from "../core/smime/seal.ts";
import { SealedMessage, unsealed } from "../core/smime/sealed.ts";

const bytes = new TextEncoder().encode("Subject: x\r\n\r\nx\r\n");
const envelope = { sender: "alice@example.com", recipients: ["bob@example.com"] };

/** Sealing asked for: the copies say so, and an unsealed message is not one of them. */
export async function unsealedWhereSealingWasAsked(
  message: Message,
  keys: KeyStore,
  transport: Transport,
): Promise<void> {
  const both = await sealMessage(message, keys, { sign: true, encrypt: true, detached: false });
  const copy: SealedMessage<"signed+encrypted"> = both.copies[0]!;
  await transport.deliver(copy);

  // @ts-expect-error: an unsealed message where signing and encryption were asked
  const _skipped: SealedMessage<"signed+encrypted"> = unsealed(bytes, envelope);
  // @ts-expect-error: nor can one join the sealed copies on their way to delivery
  both.copies.push(unsealed(bytes, envelope));

  const signed = await sealMessage(message, keys, { sign: true, encrypt: false, detached: true });
  // @ts-expect-error: signed alone is not what was asked when encryption was too
  const _unencrypted: SealedMessage<"signed+encrypted"> = signed.copies[0]!;
  // @ts-expect-error: a copy for fewer recipients keeps its seal, and no other
  const _narrowed: SealedMessage<"none"> = copy.forRecipients(["bob@example.com"]);
}

/** A transport takes what sealing made, or what unsealed() says goes as it is. */
export async function onlySealedMessagesReachATransport(
  transport: Transport,
  sealed: SealedMessage,
): Promise<void> {
  await transport.deliver(unsealed(bytes, envelope));
  await transport.deliver(sealed.forRecipients(["bob@example.com"]));
  // @ts-expect-error: bytes and an envelope are not a sealed message
  await transport.deliver({ bytes, ...envelope });
  // @ts-expect-error: a spread copy is not one either: the seal is private to the class
  await transport.deliver({ ...sealed });
  // @ts-expect-error: the old shape, bytes with a stage string beside them, is gone
  await transport.deliver({ bytes, ...envelope, sealed: { stage: "signed" } });
}

/** Only the sealing code mints sealed messages and signed entities. */
export function noForgery(plain: SealedMessage<"none">): void {
  // @ts-expect-error: the constructor wants a token only core/smime/sealed.ts has
  new SealedMessage(Symbol("SealedMessage"), { bytes, seal: "signed", ...envelope });
  // @ts-expect-error: a signed entity comes from signEntity() alone
  const _entity: SignedEntity = {
    stage: "signed",
    entity: bytes,
    detached: true,
    digest: "SHA-256",
  };
  // @ts-expect-error: a record written by hand does not revive
  SealedMessage.revive({ version: 1, bytes, seal: "signed", ...envelope });
  const relabelled = SealedMessage.revive({ ...plain.toRecord(), seal: "signed" });
  // @ts-expect-error: a record whose seal was written over revives as "signed or none"
  const _claimed: SealedMessage<"signed"> = relabelled;
}
