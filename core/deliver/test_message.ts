/**
 * A sealed-looking message for transport and payload tests, without keys or
 * sealing: the bytes are fixed, the seal is what the test says.
 *
 * @module
 */
import { SealedMessage, unsealed } from "../smime/sealed.ts";

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
 * A message for payload and transport tests; `dave@example.com` plays the
 * Bcc recipient (in the envelope, in no header). "plain" is an honest
 * `unsealed()`; "signed" and "encrypted" are test doubles that claim a seal
 * these bytes never got (which the types let them claim only as "this or
 * none": a transport takes it, nothing that demands a seal would).
 */
export function sampleMessage(
  stage: "plain" | "signed" | "encrypted" = "signed",
  recipients: readonly string[] = ["bob@example.com", "carol@example.com", "dave@example.com"],
  bytes: Uint8Array = new TextEncoder().encode(SAMPLE_MESSAGE),
): SealedMessage {
  const plain = unsealed(bytes, { sender: "alice@example.com", recipients });
  if (stage === "plain") return plain;
  const seal = stage === "signed" ? "signed" : "signed+encrypted";
  return SealedMessage.revive({ ...plain.toRecord(), seal });
}
