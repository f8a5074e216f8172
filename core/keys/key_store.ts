/**
 * KeyStore: finds the certificate and private key for an address in the key
 * folder, checks them, and caches the result for the life of the store (a
 * batch asks for the same certificate thousands of times).
 *
 * @module
 */

import type { RecipientKey } from "../cms/types.ts";
import { SmimeError } from "../errors.ts";
import { isAddressLike, normaliseAddress } from "./address.ts";
import type { Purpose } from "./cert_check.ts";
import { type CertInfo, parseCertificate } from "./cert_info.ts";
import { checkKeyReports } from "./check.ts";
import {
  CERT_EXTS,
  checkKeyPermissions,
  exists,
  KEY_EXTS,
  KeyFolder,
  keyPermissionProblem,
  P12_EXTS,
  readFileBytes,
} from "./files.ts";
import { judgeCertificate, type JudgeContext } from "./judge.ts";
import { CertPool, issuerChain, type TrustStore } from "../trust/mod.ts";
import { type SmimeCapability, splitCapabilities } from "./capabilities.ts";
import { loadPemBundle } from "./pem.ts";
import type { Pkcs12Contents } from "./pkcs12.ts";
import { type LoadedKey, loadPrivateKey } from "./private_key.ts";
import { keyMatches, pickLeaf } from "./leaf.ts";
import type { CertificateEntry, KeyReport, KeyStoreOptions, SignerEntry } from "./types.ts";

/** A certificate file's contents: the user's certificate and intermediates. */
interface Material {
  file: string;
  leaf: CertInfo;
  chain: CertInfo[];
  /** Set when the certificate came from a PKCS#12 file. */
  p12?: Pkcs12Contents;
  /** Recorded SMIMECapabilities, or why a recorded block is ignored. */
  capabilities?: SmimeCapability[];
  capabilityWarning?: string;
}

/** A private key with the file it came from and any waived complaint. */
interface KeyMaterial {
  key: LoadedKey;
  keyFile: string;
  warnings: string[];
}

const ACTIONS = {
  sign: "Cannot sign as",
  encrypt: "Cannot encrypt to",
  decrypt: "Cannot decrypt for",
};

/**
 * Certificates and keys of one key folder, found by address and checked.
 *
 * @example
 * ```ts
 * import { KeyStore } from "./key_store.ts";
 *
 * // Needs a key folder with alice's certificate and key and bob's certificate.
 * async function keysFor(keyFolder: string, trustAnchors: Uint8Array[]) {
 *   const store = new KeyStore({ dir: keyFolder, trustAnchors });
 *   const signer = await store.signerFor("alice@example.com");
 *   const bob = await store.certificateFor("bob@example.com", "encrypt");
 *   return { signer, bob };
 * }
 * ```
 */
export class KeyStore {
  readonly #options: KeyStoreOptions;
  readonly #folder: KeyFolder;
  readonly #cache = new Map<string, Promise<unknown>>();
  #trust?: TrustStore;
  #folderPool?: Promise<CertPool>;

  /** @param options the key folder, trust anchors, passphrase source and waivers */
  constructor(options: KeyStoreOptions) {
    this.#options = options;
    this.#folder = new KeyFolder(options.dir);
  }

  #cached<T>(key: string, make: () => Promise<T>): Promise<T> {
    let value = this.#cache.get(key) as Promise<T> | undefined;
    if (!value) {
      value = make();
      value.catch(() => {}); // cached rejections are re-thrown to every caller
      this.#cache.set(key, value);
    }
    return value;
  }

  #context(intermediates: CertPool[] = []): JudgeContext {
    const anchors = this.#options.trustAnchors;
    if (anchors && !this.#trust) {
      anchors.forEach((der, i) => parseCertificate(der, `trust anchor ${i + 1}`));
      this.#trust = { anchors: new CertPool(anchors), intermediates: [] };
    }
    return {
      trust: this.#trust && { ...this.#trust, intermediates },
      now: this.#options.now ?? new Date(),
      allowInvalid: this.#options.allowInvalid === true,
    };
  }

  /**
   * Every CA certificate in the key folder's certificate files: candidate
   * intermediates for a recipient whose own file holds the leaf alone.
   * Read once, and only when a path needs it.
   */
  #folderIntermediates(): Promise<CertPool> {
    this.#folderPool ??= (async () => {
      const pool = new CertPool();
      const names = [...(await this.#folder.names()).values()]
        .filter((n) => /\.(crt|cer|pem)$/i.test(n)).sort();
      for (const name of names) {
        const file = this.#folder.pathOf(name);
        try {
          for (const der of loadPemBundle(await readFileBytes(file), file)) {
            if (parseCertificate(der, file).isCa) pool.add(der);
          }
        } catch {
          // a key file, or a damaged one: `keys check` names it; it holds no intermediate
        }
      }
      return pool;
    })();
    return this.#folderPool;
  }

  /**
   * The anchors of `--trust` and, as candidate intermediates, every CA
   * certificate in the key folder; undefined when no anchors were given.
   */
  async trustStore(): Promise<TrustStore | undefined> {
    const trust = this.#context().trust;
    return trust && { ...trust, intermediates: [await this.#folderIntermediates()] };
  }

  #ask(file: string): () => Promise<string | undefined> {
    return () => this.#options.passphrase?.(file) ?? Promise.resolve(undefined);
  }

  /**
   * Finds and checks the certificate to sign as, or encrypt to, `address`.
   *
   * @throws {SmimeError} E_CERT_NOT_FOUND, E_CERT_INVALID, E_CHAIN,
   *   E_UNSUPPORTED, E_PASSPHRASE (certificate in an encrypted p12), E_INPUT
   */
  certificateFor(address: string, purpose: Purpose): Promise<CertificateEntry> {
    return this.#cached(`cert:${purpose}:${address}`, async () => {
      const addr = normaliseAddress(address);
      const material = await this.#material(addr);
      const judge = (pools?: CertPool[]) =>
        judgeCertificate(material.leaf, material.chain, addr, purpose, this.#context(pools));
      let verdict = judge();
      if (verdict.problems.some((p) => p.code === "E_CHAIN")) {
        verdict = judge([await this.#folderIntermediates()]);
      }
      const first = verdict.problems[0];
      if (first) {
        const reasons = verdict.problems.map((p) => p.text).join("; ");
        throw new SmimeError(
          first.code,
          `${ACTIONS[purpose]} "${addr}": ${reasons} (${material.file})`,
        );
      }
      // What goes with a signature is the path that was validated, not whatever else the file
      // holds (an expired copy of an intermediate, a p12's other people's certificates); with
      // no anchors, the issuers found by name and signature, the key folder's CAs included.
      const chain = verdict.path ?? issuerChain(material.leaf, [
        new CertPool(material.chain.map((c) => c.der)),
        ...(purpose === "sign" ? [await this.#folderIntermediates()] : []),
      ]);
      return {
        address: addr,
        file: material.file,
        certificate: material.leaf.der,
        chain: chain.map((c) => c.der),
        notAfter: material.leaf.notAfter,
        subject: material.leaf.subject,
        keyAlgorithm: material.leaf.keyAlgorithm,
        ...(material.capabilities ? { capabilities: material.capabilities } : {}),
        warnings: purpose === "encrypt" && material.capabilityWarning
          ? [...verdict.warnings, material.capabilityWarning]
          : verdict.warnings,
      };
    });
  }

  /**
   * The signing identity for `address`: its checked certificate, the chain
   * from its file, and the private key, checked to match the certificate.
   *
   * @throws {SmimeError} as certificateFor, and E_KEY_NOT_FOUND,
   *   E_KEY_MISMATCH, E_KEY_PERMISSIONS, E_PASSPHRASE, E_KEY_INVALID
   */
  signerFor(address: string): Promise<SignerEntry> {
    return this.#cached(`signer:${address}`, async () => {
      const entry = await this.certificateFor(address, "sign");
      const material = await this.#material(entry.address);
      const key = await this.#keyFor(entry.address, material, ACTIONS.sign);
      return {
        ...entry,
        warnings: [...entry.warnings, ...key.warnings],
        keyFile: key.keyFile,
        identity: { certificate: entry.certificate, chain: entry.chain, privateKey: key.key.pkcs8 },
      };
    });
  }

  /**
   * Certificate and private key for decrypting mail to `address`. The
   * certificate is not checked for validity: old mail stays readable after
   * the certificate expires.
   *
   * @throws {SmimeError} E_CERT_NOT_FOUND, E_KEY_NOT_FOUND, E_KEY_MISMATCH,
   *   E_KEY_PERMISSIONS, E_PASSPHRASE, E_KEY_INVALID, E_UNSUPPORTED
   */
  recipientKeysFor(address: string): Promise<RecipientKey & { certificate: Uint8Array }> {
    return this.#cached(`recipient:${address}`, async () => {
      const addr = normaliseAddress(address);
      const material = await this.#material(addr);
      const key = await this.#keyFor(addr, material, ACTIONS.decrypt);
      return { certificate: material.leaf.der, privateKey: key.key.pkcs8 };
    });
  }

  /**
   * The addresses of the key folder whose certificate `isRecipient`
   * accepts: for mail whose header fields do not name the reader (a Bcc
   * recipient); {@link recipientKeysFor} then loads the key. Only
   * certificate files (`ADDRESS.crt`, `.cer`) are read, one at a time in
   * name order, and only their user certificate is tested; no private key
   * is read. PKCS#12 files are not opened: reading one may need its
   * passphrase.
   *
   * @param isRecipient the test of a DER certificate (recipientTest in core/cms)
   * @param skip addresses already tried, lower case
   */
  async *addressesMatching(
    isRecipient: (certificate: Uint8Array) => boolean,
    skip: ReadonlySet<string> = new Set(),
  ): AsyncGenerator<string> {
    const names = [...(await this.#folder.names()).values()]
      .filter((n) => /\.(crt|cer)$/i.test(n)).sort();
    const seen = new Set(skip);
    for (const name of names) {
      const addr = name.replace(/\.[^.]*$/, "").toLowerCase();
      if (seen.has(addr) || !isAddressLike(addr)) continue;
      seen.add(addr);
      let leaf: CertInfo;
      try {
        // Read as every lookup reads it, and kept: a batch of messages reads each file once.
        leaf = (await this.#material(addr)).leaf;
      } catch {
        continue; // a damaged file: `keys check` names it; it names no recipient
      }
      if (isRecipient(leaf.der)) yield addr;
    }
  }

  /**
   * Loads a key file given on the command line (`decrypt --key FILE`): a
   * private key in any format {@link loadPrivateKey} reads, or PKCS#12. Its
   * certificate, when there is one, comes from `certFile`, the `.crt` of the
   * same base name, or the PKCS#12 file itself, and must match the key;
   * without one the key alone is returned, and decrypt finds its
   * RecipientInfo by trying it.
   *
   * @throws {SmimeError} E_INPUT, E_KEY_NOT_FOUND (a PKCS#12 file without a
   *   key), E_KEY_MISMATCH, E_KEY_PERMISSIONS, E_PASSPHRASE, E_KEY_INVALID
   */
  recipientKeyFromFile(
    keyFile: string,
    certFile?: string,
  ): Promise<RecipientKey & { file: string }> {
    return this.#cached(`file:${keyFile}:${certFile ?? ""}`, async () => {
      const action = `Cannot decrypt with ${keyFile}`;
      if (/\.(p12|pfx)$/i.test(keyFile) && certFile === undefined) {
        await this.#checkPermissions(keyFile);
        const p12 = await this.#p12(keyFile);
        if (!p12.key) throw new SmimeError("E_KEY_NOT_FOUND", `${action}: it holds no private key`);
        const leaf = pickLeaf(p12.certs.map((c) => parseCertificate(c, keyFile)), p12.key).leaf;
        // A certificate that is not the key's would only hide its RecipientInfo.
        const certificate = leaf && keyMatches(p12.key, leaf) ? leaf.der : undefined;
        return { certificate, privateKey: p12.key.pkcs8, file: keyFile };
      }
      const key = await this.#loadKey(keyFile);
      const crt = certFile ?? keyFile.replace(/(\.[^./\\]*)?$/, ".crt");
      if (certFile === undefined && !(await exists(crt))) {
        return { privateKey: key.key.pkcs8, file: keyFile };
      }
      const certs = loadPemBundle(await readFileBytes(crt), crt).map((c) =>
        parseCertificate(c, crt)
      );
      const leaf = certs.find((c) => keyMatches(key.key, c)) ?? certs[0]!;
      this.#assertMatch(key, leaf, crt, action);
      return { certificate: leaf.der, privateKey: key.key.pkcs8, file: keyFile };
    });
  }

  /** Checks every certificate, key and PKCS#12 file in the key folder. */
  check(): Promise<KeyReport[]> {
    return checkKeyReports({
      folder: this.#folder,
      context: this.#context(),
      intermediates: () => this.#folderIntermediates(),
      passphrase: (file) => this.#ask(file)(),
      allowInsecurePermissions: this.#options.allowInsecurePermissions === true,
    });
  }

  #material(addr: string): Promise<Material> {
    return this.#cached(`material:${addr}`, async () => {
      const certFile = await this.#folder.find(addr, CERT_EXTS);
      if (certFile) {
        const bytes = await readFileBytes(certFile);
        const certs = loadPemBundle(bytes, certFile).map((der) => parseCertificate(der, certFile));
        const { capabilities, warning } = splitCapabilities(bytes);
        return {
          file: certFile,
          ...pickLeaf(certs, undefined, addr, this.#options.now),
          capabilities,
          capabilityWarning: warning,
        } as Material;
      }
      const p12File = await this.#folder.find(addr, P12_EXTS);
      if (!p12File) {
        const looked = [...CERT_EXTS, ...P12_EXTS].map((e) => `${addr}.${e}`).join(", ");
        throw new SmimeError(
          "E_CERT_NOT_FOUND",
          `no certificate for "${addr}" in ${this.#folder.dir} (looked for ${looked})`,
        );
      }
      const p12 = await this.#p12(p12File);
      const { leaf, chain } = pickLeaf(p12.certs.map((c) => parseCertificate(c, p12File)), p12.key);
      if (!leaf) {
        throw new SmimeError("E_CERT_NOT_FOUND", `no certificate for "${addr}" in ${p12File}`);
      }
      return { file: p12File, leaf, chain, p12 };
    });
  }

  #p12(file: string): Promise<Pkcs12Contents> {
    return this.#cached(`p12:${file}`, async () => {
      // Loaded on demand: PKCS#12 parsing pulls in pkijs.
      const { readPkcs12 } = await import("./pkcs12.ts");
      return await readPkcs12(await readFileBytes(file), file, this.#ask(file));
    });
  }

  async #keyFor(addr: string, material: Material, action: string): Promise<KeyMaterial> {
    let found: KeyMaterial | undefined;
    const keyFile = material.p12 ? undefined : await this.#folder.find(addr, KEY_EXTS);
    const p12File = material.p12 ? material.file : await this.#folder.find(addr, P12_EXTS);
    if (keyFile) {
      found = await this.#loadKey(keyFile);
    } else if (p12File) {
      if (material.p12 && !material.p12.key) {
        throw new SmimeError(
          "E_KEY_NOT_FOUND",
          `${action} "${addr}": ${p12File} holds no private key`,
        );
      }
      const warnings = await this.#checkPermissions(p12File);
      const p12 = await this.#p12(p12File);
      if (p12.key) found = { key: p12.key, keyFile: p12File, warnings };
    }
    if (!found) {
      const looked = [...KEY_EXTS, ...P12_EXTS].map((e) => `${addr}.${e}`).join(", ");
      throw new SmimeError(
        "E_KEY_NOT_FOUND",
        `${action} "${addr}": no private key in ${this.#folder.dir} (looked for ${looked})`,
      );
    }
    this.#assertMatch(found, material.leaf, material.file, `${action} "${addr}"`);
    return found;
  }

  #assertMatch(key: KeyMaterial, leaf: CertInfo, certFile: string, action: string): void {
    if (!keyMatches(key.key, leaf)) {
      throw new SmimeError(
        "E_KEY_MISMATCH",
        `${action}: private key ${key.keyFile} does not match certificate ${certFile}`,
      );
    }
  }

  #loadKey(keyFile: string): Promise<KeyMaterial> {
    return this.#cached(`key:${keyFile}`, async () => {
      const warnings = await this.#checkPermissions(keyFile);
      const key = await loadPrivateKey(await readFileBytes(keyFile), keyFile, this.#ask(keyFile));
      return { key, keyFile, warnings };
    });
  }

  async #checkPermissions(file: string): Promise<string[]> {
    if (!this.#options.allowInsecurePermissions) {
      await checkKeyPermissions(file);
      return [];
    }
    const problem = await keyPermissionProblem(file);
    return problem ? [`${problem.split(";")[0]}, allowed by --allow-insecure-key-permissions`] : [];
  }
}
