/**
 * A sealed-looking message for transport and payload tests, without keys or
 * sealing: the bytes are fixed, the stage is what the test says.
 *
 * @module
 */
import type { OutboundMessage } from "../pipeline.ts";
import type { SealedEntity } from "../smime/seal.ts";

/** The raw message the tests send: CRLF, a line starting with ".", 7-bit. */
export const SAMPLE_MESSAGE = "From: Alice <alice@example.com>\r\n" +
  "To: Bob <bob@example.com>\r\n" +
  "Cc: carol@example.com\r\n" +
  "Subject: Statement\r\n" +
  "MIME-Version: 1.0\r\n" +
  'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\n' +
  "Content-Transfer-Encoding: base64\r\n" +
  "\r\n" +
  "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwGggCSA\r\n" +
  ".leading dot, not to be stuffed\r\n" +
  "..two dots\r\n" +
  ".\r\n" +
  "end\r\n";

/**
 * An OutboundMessage for payload and transport tests; `dave@example.com`
 * plays the Bcc recipient (in the envelope, in no header).
 */
export function sampleMessage(
  stage: "plain" | "signed" | "encrypted" = "signed",
  recipients: readonly string[] = ["bob@example.com", "carol@example.com", "dave@example.com"],
  bytes: Uint8Array = new TextEncoder().encode(SAMPLE_MESSAGE),
): OutboundMessage {
  const entity = new Uint8Array();
  const sealed: SealedEntity = stage === "plain"
    ? { stage, entity }
    : stage === "signed"
    ? { stage, entity, detached: false, digest: "SHA-256" }
    : { stage, entity, signed: true, cipher: "aes-256-cbc" };
  return { bytes, sender: "alice@example.com", recipients, sealed };
}
