/**
 * Test messages of the benchmark: statement-like mails (text part and a
 * base64 "PDF"), from alice@example.com to bob@example.com, Cc
 * carol@example.net, so sign+encrypt has one signer and three recipients
 * (bob RSA-3072, carol EC P-256, alice RSA-2048 as the self copy).
 *
 * @module
 */

/** The addresses every bench message uses. */
export const SENDER = "alice@example.com";
export const RECIPIENTS = ["bob@example.com", "carol@example.net"] as const;

/** A statement-like message of about `size` bytes (LF line ends). */
export function statement(size: number, messageId = "bench-0"): Uint8Array {
  const text = "Dear customer, your statement is attached. Balance: 1,234.56 EUR.\n".repeat(20);
  const line = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZUR\n";
  const head = `From: ${SENDER}\nTo: ${RECIPIENTS[0]}\nCc: ${RECIPIENTS[1]}\n` +
    `Message-ID: <${messageId}@example.com>\n` +
    `Subject: Statement\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n` +
    `--b\nContent-Type: text/plain; charset=utf-8\n\n${text}--b\n` +
    `Content-Type: application/pdf; name="s.pdf"\nContent-Transfer-Encoding: base64\n\n`;
  const lines = Math.max(0, Math.floor((size - head.length - 8) / line.length));
  return new TextEncoder().encode(`${head}${line.repeat(lines)}--b--\n`);
}

/** The bytes with CRLF line ends made LF. */
export function toLf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) continue;
    out[n++] = bytes[i]!;
  }
  return out.subarray(0, n);
}

/** The bytes with every line ending in CRLF (input LF or CRLF). */
export function toCrlfBytes(bytes: Uint8Array): Uint8Array {
  const lf = toLf(bytes);
  let lines = 0;
  for (const b of lf) if (b === 10) lines++;
  const out = new Uint8Array(lf.length + lines);
  let n = 0;
  for (const b of lf) {
    if (b === 10) out[n++] = 13;
    out[n++] = b;
  }
  return out;
}
