/**
 * The key layer of smimepost: finds the certificate and private key for an
 * address in the key folder (`alice@example.com.crt` + `.pem`/`.key`, or
 * `.p12`/`.pfx`), checks them for signing or encryption (RFC 8550), checks
 * the chain against `--trust` anchors, and hands the CMS layer DER
 * certificates and unencrypted PKCS#8 keys. Keys are only ever read.
 *
 * @example
 * ```ts
 * import { KeyStore, loadTrustBundle } from "./mod.ts";
 *
 * // Needs a key folder and a trust bundle.
 * async function checkKeys(keyFolder: string, trustFile: string): Promise<void> {
 *   const trust = loadTrustBundle(await Deno.readFile(trustFile), trustFile);
 *   for (const warning of trust.warnings) console.error(warning);
 *   const trustAnchors = trust.anchors;
 *   const store = new KeyStore({ dir: keyFolder, trustAnchors, passphrase: async () => undefined });
 *   const signer = await store.signerFor("alice@example.com");
 *   const bob = await store.certificateFor("bob@example.com", "encrypt");
 *   for (const warning of [...signer.warnings, ...bob.warnings]) console.error(warning);
 * }
 * ```
 *
 * @module
 */

export { KeyStore } from "./key_store.ts";
export type { CertificateEntry, KeyReport, KeyStoreOptions, SignerEntry } from "./types.ts";
export type { SmimeCapability } from "./capabilities.ts";
export { loadPemBundle } from "./pem.ts";
export { loadTrustBundle, type TrustBundle } from "./trust_bundle.ts";
export { certificateProblems, type Purpose } from "./cert_check.ts";
export { normaliseAddress } from "./address.ts";
