/**
 * The CMS layer of smimepost: SignedData, EnvelopedData and
 * AuthEnvelopedData as DER bytes (RFC 5652, RFC 5083, RFC 8551). No MIME,
 * no files, no addresses: certificates and PKCS#8 keys come in as DER.
 *
 * @example Sign, verify, encrypt and decrypt
 * ```ts
 * import { decrypt, encrypt, sign, verify } from "./mod.ts";
 * import type { SigningIdentity } from "./types.ts";
 *
 * // Certificates and PKCS#8 keys as DER, from wherever they are kept.
 * async function roundTrip(
 *   mime: Uint8Array,
 *   alice: SigningIdentity,
 *   root: Uint8Array,
 *   bob: { certificate: Uint8Array; privateKey: Uint8Array },
 * ): Promise<Uint8Array> {
 *   const signed = await sign(mime, alice, { detached: false });
 *   const result = await verify(signed, { trustAnchors: [root] });
 *   console.log(result.signers[0]?.signatureValid, result.signers[0]?.chain);
 *
 *   const { der } = await encrypt(signed, [bob.certificate, alice.certificate], {
 *     cipher: "aes-256-gcm",
 *   });
 *   return await decrypt(der, bob);
 * }
 * ```
 *
 * @module
 */

export { sign } from "./sign.ts";
export { verify } from "./verify.ts";
export { encrypt } from "./encrypt.ts";
export { decrypt } from "./decrypt.ts";
export { cmsKind, inspect, unverifiedContent } from "./inspect.ts";
export { recipientTest } from "./recipient.ts";
export type * from "./types.ts";
