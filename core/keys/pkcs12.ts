/**
 * Reads PKCS#12 (`.p12` / `.pfx`) files: the private key, the user's
 * certificate and the chain (RFC 7292). Decryption and the MAC check run
 * through node:crypto (see pbe.ts) and rc2.ts, so files from OpenSSL 1.x
 * (RC2-40 certificate bags), OpenSSL 3 and Windows open alike.
 *
 * @module
 */

import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { SmimeError } from "../errors.ts";
import { toBuffer } from "./pem.ts";
import { checkPkcs12Mac, decryptPbe, ITERATION_CAPS, iterationCount, PbeError } from "./pbe.ts";
import {
  type LoadedKey,
  loadPrivateKey,
  noPassphraseError,
  type PassphraseSource,
  wrongPassphraseError,
} from "./private_key.ts";

/** What a PKCS#12 file holds. */
export interface Pkcs12Contents {
  /** The private key, when the file holds one. */
  key?: LoadedKey;
  /** DER certificates as stored; see pickLeaf for which one is the user's. */
  certs: Uint8Array[];
}

const DATA = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA = "1.2.840.113549.1.7.6";
const KEY_BAG = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG = "1.2.840.113549.1.12.10.1.3";

/**
 * Opens a PKCS#12 file. The passphrase is asked only when the MAC does not
 * check out with the empty password (files exported without one).
 *
 * @param bytes the file contents
 * @param file the path, named in errors
 * @param passphrase asked at most once
 * @throws {SmimeError} E_CERT_INVALID (not PKCS#12), E_PASSPHRASE,
 *   E_UNSUPPORTED (RC4 or public-key privacy mode)
 */
export async function readPkcs12(
  bytes: Uint8Array,
  file: string,
  passphrase: PassphraseSource,
): Promise<Pkcs12Contents> {
  let pfx: pkijs.PFX;
  let safes: pkijs.AuthenticatedSafe;
  try {
    pfx = pkijs.PFX.fromBER(toBuffer(bytes));
    if (pfx.authSafe.contentType !== DATA) throw new Error("public-key integrity mode");
    safes = pkijs.AuthenticatedSafe.fromBER(octets(pfx.authSafe.content));
  } catch (err) {
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: not a PKCS#12 file we can open`, {
      cause: err,
    });
  }
  const content = octets(pfx.authSafe.content);
  let macIterations = 1;
  let secret: string | undefined;
  const getSecret = async () => {
    if (secret === undefined) secret = await passphrase();
    if (secret === undefined) throw noPassphraseError(file);
    return secret;
  };
  try {
    if (pfx.macData) macIterations = readMacIterations(bytes);
    if (pfx.macData && !checkPkcs12Mac(pfx.macData, macIterations, content, "")) {
      if (!checkPkcs12Mac(pfx.macData, macIterations, content, await getSecret())) {
        throw wrongPassphraseError(file);
      }
    } else if (pfx.macData) {
      secret = "";
    }
    return await readSafes(safes, file, getSecret);
  } catch (err) {
    if (err instanceof SmimeError) throw err;
    if (err instanceof PbeError && err.kind === "password") {
      throw wrongPassphraseError(file, err);
    }
    if (err instanceof PbeError && err.kind === "limit") {
      throw new SmimeError("E_KEY_INVALID", `Cannot read ${file}: ${err.message}`, { cause: err });
    }
    if (err instanceof PbeError) {
      throw new SmimeError(
        "E_UNSUPPORTED",
        `Cannot read ${file}: ${err.message} is not supported; re-export it with ` +
          "`openssl pkcs12 -export` (OpenSSL 3 defaults)",
        { cause: err },
      );
    }
    throw new SmimeError("E_CERT_INVALID", `Cannot read ${file}: damaged PKCS#12 contents`, {
      cause: err,
    });
  }
}

async function readSafes(
  safes: pkijs.AuthenticatedSafe,
  file: string,
  getSecret: () => Promise<string>,
): Promise<Pkcs12Contents> {
  const bags: pkijs.SafeBag[] = [];
  for (const info of safes.safeContents) {
    if (info.contentType === DATA) {
      bags.push(...pkijs.SafeContents.fromBER(octets(info.content)).safeBags);
    } else if (info.contentType === ENCRYPTED_DATA) {
      const eci = new pkijs.EncryptedData({ schema: info.content }).encryptedContentInfo;
      const data = new Uint8Array(eci.getEncryptedContent());
      const plain = decryptPbe(eci.contentEncryptionAlgorithm, data, await getSecret());
      bags.push(...pkijs.SafeContents.fromBER(toBuffer(plain)).safeBags);
    } else {
      throw new PbeError("unsupported", "public-key privacy mode");
    }
  }
  const result: Pkcs12Contents = { certs: [] };
  for (const bag of bags) {
    if (bag.bagId === CERT_BAG) {
      const certBag = bag.bagValue as pkijs.CertBag;
      if (certBag.parsedValue instanceof pkijs.Certificate) {
        result.certs.push(octets(certBag.certValue));
      }
    } else if ((bag.bagId === KEY_BAG || bag.bagId === SHROUDED_KEY_BAG) && !result.key) {
      const pkcs8 = bag.bagId === KEY_BAG
        ? new Uint8Array((bag.bagValue as pkijs.PrivateKeyInfo).toSchema().toBER(false))
        : decryptShrouded(bag.bagValue as pkijs.PKCS8ShroudedKeyBag, await getSecret());
      result.key = await loadPrivateKey(pkcs8, file, () => Promise.resolve(undefined));
    }
  }
  return result;
}

function decryptShrouded(bag: pkijs.PKCS8ShroudedKeyBag, secret: string): Uint8Array {
  return decryptPbe(bag.encryptionAlgorithm, octets(bag.encryptedData), secret);
}

function octets(value: unknown): Uint8Array<ArrayBuffer> {
  if (value instanceof asn1js.OctetString) return new Uint8Array(value.getValue());
  throw new Error("expected an OCTET STRING");
}

/**
 * The MacData iteration count (PFX field 3, MacData field 3, DEFAULT 1),
 * read from the DER itself: pkijs reads counts of 4+ octets as 0.
 */
function readMacIterations(bytes: Uint8Array): number {
  const pfx = asn1js.fromBER(toBuffer(bytes)).result;
  const macData = pfx instanceof asn1js.Sequence ? pfx.valueBlock.value[2] : undefined;
  if (!(macData instanceof asn1js.Sequence)) throw new Error("MacData is not a SEQUENCE");
  return iterationCount(macData.valueBlock.value[2], "PKCS#12 MAC", ITERATION_CAPS.pkcs12);
}
