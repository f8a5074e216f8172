/**
 * The CMS layer of smimepost: SignedData, EnvelopedData and
 * AuthEnvelopedData as DER bytes (RFC 5652, RFC 5083, RFC 8551). No MIME,
 * no files, no addresses: certificates and PKCS#8 keys come in as DER.
 *
 * @example Sign, verify, encrypt and decrypt
 * ```ts ignore
 * import { decrypt, encrypt, sign, verify } from "./mod.ts";
 *
 * const signed = await sign(mime, { certificate, chain, privateKey }, { detached: false });
 * const result = await verify(signed, { trustAnchors: [root] });
 * console.log(result.signers[0]?.signatureValid, result.signers[0]?.chain);
 *
 * const { der } = await encrypt(signed, [bobCert, aliceCert], { cipher: "aes-256-gcm" });
 * const plain = await decrypt(der, { certificate: bobCert, privateKey: bobKey });
 * ```
 *
 * @module
 */

export { sign } from "./sign.ts";
export { verify } from "./verify.ts";
export { encrypt } from "./encrypt.ts";
export { decrypt } from "./decrypt.ts";
export { cmsKind, inspect, unverifiedContent } from "./inspect.ts";
export type * from "./types.ts";
