/**
 * Optional fast path for the public-key operations of CMS through the
 * system's OpenSSL 3 libcrypto, loaded with Deno FFI.
 *
 * Deno's WebCrypto and node:crypto do RSA and elliptic-curve arithmetic in
 * portable Rust, several times slower than OpenSSL's assembler: an RSA-2048
 * signature costs about 2 ms there and about 0.25 ms here. This module
 * offers the few operations sealing a message needs: signing a precomputed
 * digest (RSASSA-PKCS1-v1_5, RSASSA-PSS, ECDSA with a DER Ecdsa-Sig-Value),
 * RSA public-key encryption (PKCS#1 v1.5, RSAES-OAEP with SHA-256),
 * ephemeral-static ECDH, and RSA private-key decryption for `decrypt`
 * (OpenSSL's constant-time padding checks, with implicit rejection from 3.2).
 *
 * It is used only when all of these hold: the process has the ffi
 * permission (`--allow-ffi`; it is queried, never requested, so no prompt
 * appears), SMIMEPOST_NO_FFI is not "1" (read only when the env permission
 * for it is granted), libcrypto.so.3 or libcrypto.so loads with every
 * symbol below (so OpenSSL 3), and a self-test at load signs, verifies,
 * encrypts, decrypts and agrees keys correctly. Otherwise {@link libcrypto}
 * returns undefined and callers keep their WebCrypto / node:crypto code.
 * Every operation returns undefined on any failure so that the caller falls
 * back too, with its usual errors; nothing here throws and nothing here
 * logs key material.
 *
 * Parsed keys (EVP_PKEY) and initialised operation contexts (EVP_PKEY_CTX)
 * are cached per key buffer, like the WebCrypto keys in keys.ts, and freed
 * when that buffer is garbage-collected. Each worker loads its own copy of
 * this module, so no OpenSSL object is shared between threads. The calls are
 * synchronous: an operation takes well under a millisecond, and the seal
 * workers already run in parallel.
 *
 * @module
 */

import { concatBytes, latin1ToBytes } from "../bytes.ts";
import { createCipheriv } from "node:crypto";
import type { DigestName } from "./types.ts";

/** How to sign a digest. */
export type SignScheme = "pkcs1" | "pss" | "ecdsa";

/** The libcrypto operations, each undefined on failure. */
export interface LibCrypto {
  /**
   * Signs `digest`, the hash of the data under `hash`, with a PKCS#8 key.
   * PSS uses MGF1 with the same hash and a salt as long as the hash
   * (RFC 4055 3.1 / RFC 8551 as sign.ts writes its parameters); ECDSA
   * returns the DER Ecdsa-Sig-Value (RFC 3279 2.2.3).
   */
  signDigest(
    pkcs8: Uint8Array,
    scheme: SignScheme,
    hash: DigestName,
    digest: Uint8Array,
  ): Uint8Array | undefined;
  /**
   * Checks a signature made by {@link signDigest} (or anyone) with a
   * SubjectPublicKeyInfo; false when invalid, undefined when it cannot tell.
   */
  verifyDigest(
    spki: Uint8Array,
    scheme: SignScheme,
    hash: DigestName,
    digest: Uint8Array,
    signature: Uint8Array,
  ): boolean | undefined;
  /** RSA public-key encryption of `data` with a SubjectPublicKeyInfo. */
  publicEncrypt(
    spki: Uint8Array,
    mode: "pkcs1" | "oaep",
    data: Uint8Array,
  ): Uint8Array | undefined;
  /**
   * A fresh key pair on the curve of the EC SubjectPublicKeyInfo `spki`:
   * its uncompressed public point and the shared secret Z (the x-coordinate,
   * field-size bytes) with `spki`'s key.
   */
  ecdhEphemeral(spki: Uint8Array): { point: Uint8Array; z: Uint8Array } | undefined;
  /**
   * RSA decryption of `data` with a PKCS#8 key, OAEP with `oaepHash` for
   * the label hash and MGF1: the plaintext; false when libcrypto refuses the
   * ciphertext; undefined when it cannot run (the caller falls back). From
   * OpenSSL 3.2 on, a PKCS#1 v1.5 padding failure is not refused: libcrypto
   * returns a pseudo-random plaintext derived from the key and the
   * ciphertext ("implicit rejection"), in constant time.
   */
  rsaDecrypt(
    pkcs8: Uint8Array,
    mode: "pkcs1" | "oaep",
    oaepHash: "SHA-1" | DigestName,
    data: Uint8Array,
  ): Uint8Array | false | undefined;
  /** True when libcrypto does implicit rejection for PKCS#1 v1.5 (OpenSSL 3.2 or later). */
  readonly implicitRejection: boolean;
  /**
   * An AES-CBC context with PKCS#7 padding (AES-128, -192 or -256 by the key
   * length) that encrypts or decrypts into buffers the caller gives, so a
   * 50 MB content goes through a small scratch buffer, at OpenSSL's speed
   * (AES-NI) instead of Deno's portable AES; undefined when it cannot start.
   * Free it, also after a failure.
   */
  aesCbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array): CipherContext | undefined;
}

/** A running AES-CBC operation (see {@link LibCrypto.aesCbc}). */
export interface CipherContext {
  /**
   * Puts `input` through; writes at most `input.length + 16` bytes into
   * `out` and returns how many; undefined on failure.
   */
  update(input: Uint8Array, out: Uint8Array): number | undefined;
  /**
   * Ends it: the last (padded) block when encrypting; when decrypting,
   * undefined for a bad padding. Writes at most 16 bytes into `out`.
   */
  final(out: Uint8Array): number | undefined;
  /** Releases the context; idempotent. */
  free(): void;
}

const LIBRARY_NAMES = ["libcrypto.so.3", "libcrypto.so"];

const SYMBOLS = {
  d2i_AutoPrivateKey: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  d2i_PUBKEY: { parameters: ["pointer", "buffer", "i64"], result: "pointer" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_get_size: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_get_octet_string_param: {
    parameters: ["pointer", "buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
  EVP_PKEY_CTX_new: { parameters: ["pointer", "pointer"], result: "pointer" },
  EVP_PKEY_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_CTX_set_rsa_padding: { parameters: ["pointer", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_signature_md: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_pss_saltlen: { parameters: ["pointer", "i32"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_mgf1_md: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_PKEY_CTX_set_rsa_oaep_md: { parameters: ["pointer", "pointer"], result: "i32" },
  EVP_get_digestbyname: { parameters: ["buffer"], result: "pointer" },
  EVP_PKEY_sign_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_sign: { parameters: ["pointer", "buffer", "buffer", "buffer", "usize"], result: "i32" },
  EVP_PKEY_verify_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_verify: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize"],
    result: "i32",
  },
  EVP_PKEY_encrypt_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_encrypt: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  EVP_PKEY_decrypt_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_decrypt: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  EVP_PKEY_keygen_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_keygen: { parameters: ["pointer", "buffer"], result: "i32" },
  EVP_PKEY_derive_init: { parameters: ["pointer"], result: "i32" },
  EVP_PKEY_derive_set_peer_ex: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  EVP_PKEY_derive: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_get_cipherbyname: { parameters: ["buffer"], result: "pointer" },
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_CipherInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_CipherUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  EVP_CipherFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  ERR_clear_error: { parameters: [], result: "void" },
  OpenSSL_version_num: { parameters: [], result: "u64" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Pointer = NonNullable<Deno.PointerValue>;

// OpenSSL's rsa.h.
const RSA_PKCS1_PADDING = 1;
const RSA_PKCS1_OAEP_PADDING = 4;
const RSA_PKCS1_PSS_PADDING = 6;

const mdNames: Record<DigestName, string> = {
  "SHA-256": "SHA256",
  "SHA-384": "SHA384",
  "SHA-512": "SHA512",
};
/** OPENSSL_VERSION_NUMBER of 3.2.0, the first release with RSA implicit rejection. */
const OPENSSL_3_2 = 0x30200000n;

const mdLength: Record<DigestName, number> = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };

const cstring = (s: string) => new TextEncoder().encode(s + "\0");

/** An EVP_PKEY and the operation contexts initialised on it. */
interface KeyEntry {
  pkey: Pointer | null;
  contexts: Map<string, Pointer | null>;
  /** An ECDH derive with this key as the peer passed OpenSSL's public-key check. */
  peerChecked?: boolean;
}

class OpenSsl implements LibCrypto {
  #s: Symbols;
  #md: Record<"SHA-1" | DigestName, Pointer>;
  readonly implicitRejection: boolean;
  #privateKeys = new WeakMap<Uint8Array, KeyEntry>();
  #publicKeys = new WeakMap<Uint8Array, KeyEntry>();
  #registry: FinalizationRegistry<KeyEntry>;
  /** Out-parameter scratch: a size_t, or a pointer. */
  #word = new BigUint64Array(1);
  #wordBytes = new Uint8Array(this.#word.buffer);
  #pubParam = cstring("encoded-pub-key");
  /** EVP_CIPHERs of AES-CBC by key length. */
  #ciphers = new Map<number, Pointer>();

  constructor(s: Symbols) {
    this.#s = s;
    const md = {} as Record<"SHA-1" | DigestName, Pointer>;
    const names = { ...mdNames, "SHA-1": "SHA1" };
    for (const [name, openssl] of Object.entries(names) as [DigestName, string][]) {
      const p = s.EVP_get_digestbyname(cstring(openssl));
      if (!p) throw new Error(`no digest ${openssl}`);
      md[name] = p;
    }
    this.#md = md;
    for (const bits of [128, 192, 256]) {
      const p = s.EVP_get_cipherbyname(cstring(`AES-${bits}-CBC`));
      if (!p) throw new Error(`no cipher AES-${bits}-CBC`);
      this.#ciphers.set(bits / 8, p);
    }
    this.implicitRejection = BigInt(s.OpenSSL_version_num()) >= OPENSSL_3_2;
    this.#registry = new FinalizationRegistry((entry) => this.#free(entry));
  }

  #free(entry: KeyEntry): void {
    for (const ctx of entry.contexts.values()) if (ctx) this.#s.EVP_PKEY_CTX_free(ctx);
    entry.contexts.clear();
    if (entry.pkey) this.#s.EVP_PKEY_free(entry.pkey);
    entry.pkey = null;
  }

  /** Parses DER with d2i_AutoPrivateKey / d2i_PUBKEY; null unless it consumes it all. */
  parse(der: Uint8Array, kind: "private" | "public"): Pointer | null {
    const copy = new Uint8Array(der); // unshared, at offset 0, not moved during the call
    const start = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(copy)));
    const pp = new BigUint64Array([start]);
    const ppBytes = new Uint8Array(pp.buffer);
    const pkey = kind === "private"
      ? this.#s.d2i_AutoPrivateKey(null, ppBytes, BigInt(copy.length))
      : this.#s.d2i_PUBKEY(null, ppBytes, BigInt(copy.length));
    const consumed = pp[0]! - start;
    copy.fill(0); // the only copy of key material this module makes
    if (!pkey) return this.#fail() ?? null;
    if (consumed !== BigInt(copy.length)) {
      this.#s.EVP_PKEY_free(pkey);
      return null;
    }
    return pkey;
  }

  #entry(der: Uint8Array, kind: "private" | "public"): KeyEntry {
    const cache = kind === "private" ? this.#privateKeys : this.#publicKeys;
    let entry = cache.get(der);
    if (!entry) {
      entry = { pkey: this.parse(der, kind), contexts: new Map() };
      cache.set(der, entry);
      if (entry.pkey) this.#registry.register(der, entry);
    }
    return entry;
  }

  /** A context on `entry`'s key, made once by `init` (null when init failed). */
  #context(entry: KeyEntry, id: string, init: (ctx: Pointer) => boolean): Pointer | null {
    let ctx = entry.contexts.get(id);
    if (ctx === undefined) {
      ctx = entry.pkey ? this.#newContext(entry.pkey, init) : null;
      entry.contexts.set(id, ctx);
    }
    return ctx;
  }

  #newContext(pkey: Pointer, init: (ctx: Pointer) => boolean): Pointer | null {
    const ctx = this.#s.EVP_PKEY_CTX_new(pkey, null);
    if (!ctx) return null;
    if (!init(ctx)) {
      this.#s.EVP_PKEY_CTX_free(ctx);
      return null;
    }
    return ctx;
  }

  /** Sets padding and hashes of a sign or verify context. */
  #signParams(ctx: Pointer, scheme: SignScheme, hash: DigestName): boolean {
    const s = this.#s;
    const md = this.#md[hash];
    if (scheme === "ecdsa") return s.EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    if (scheme === "pkcs1") {
      return s.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
        s.EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    }
    return s.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
      s.EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
      s.EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
      s.EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, mdLength[hash]) > 0;
  }

  #encryptParams(
    ctx: Pointer,
    mode: "pkcs1" | "oaep",
    hash: "SHA-1" | DigestName = "SHA-256",
  ): boolean {
    const s = this.#s;
    if (mode === "pkcs1") return s.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    const md = this.#md[hash];
    return s.EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
      s.EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0 &&
      s.EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0;
  }

  /** Runs `fn`; an exception (say, a Deno FFI type error) is a failure, not a crash. */
  #guard<T>(fn: () => T | undefined): T | undefined {
    try {
      return fn();
    } catch {
      return this.#fail();
    }
  }

  #fail(): undefined {
    this.#s.ERR_clear_error();
    return undefined;
  }

  /** Runs an EVP_PKEY_sign/encrypt/decrypt-shaped call into a `size` buffer. */
  /** A one-shot operation on a fresh context: init it, run `op` into `size` bytes, free it. */
  #once(
    pkey: Pointer,
    init: (ctx: Pointer) => boolean,
    size: number,
    op: (ctx: Pointer, out: Uint8Array, outLen: Uint8Array) => number,
  ): Uint8Array | undefined {
    const ctx = this.#newContext(pkey, init);
    if (!ctx) return this.#fail();
    const out = this.#output(size, (buf, len) => op(ctx, buf, len));
    this.#s.EVP_PKEY_CTX_free(ctx);
    return out;
  }

  #output(
    size: number,
    call: (out: Uint8Array, outLen: Uint8Array) => number,
  ): Uint8Array | undefined {
    if (size <= 0) return this.#fail();
    const out = new Uint8Array(size);
    this.#word[0] = BigInt(size);
    if (call(out, this.#wordBytes) <= 0) return this.#fail();
    const n = Number(this.#word[0]);
    // An RSA signature or key transport fills the buffer: no copy then.
    if (n === size) return out;
    return n < size ? out.slice(0, n) : this.#fail();
  }

  signDigest(
    pkcs8: Uint8Array,
    scheme: SignScheme,
    hash: DigestName,
    digest: Uint8Array,
  ): Uint8Array | undefined {
    return this.#guard(() => {
      const md = this.#md[hash];
      if (!md || digest.length !== mdLength[hash]) return undefined;
      const entry = this.#entry(pkcs8, "private");
      const ctx = this.#context(
        entry,
        `sign:${scheme}:${hash}`,
        (c) => this.#s.EVP_PKEY_sign_init(c) > 0 && this.#signParams(c, scheme, hash),
      );
      if (!ctx) return this.#fail();
      return this.#output(
        this.#s.EVP_PKEY_get_size(entry.pkey!),
        (out, len) => this.#s.EVP_PKEY_sign(ctx, out, len, digest, BigInt(digest.length)),
      );
    });
  }

  verifyDigest(
    spki: Uint8Array,
    scheme: SignScheme,
    hash: DigestName,
    digest: Uint8Array,
    signature: Uint8Array,
  ): boolean | undefined {
    return this.#guard(() => {
      const pkey = this.#entry(spki, "public").pkey;
      if (!pkey || !this.#md[hash] || digest.length !== mdLength[hash]) return this.#fail();
      return this.verifyWith(pkey, scheme, hash, digest, signature);
    });
  }

  /** True when `signature` is valid. */
  verifyWith(
    pkey: Pointer,
    scheme: SignScheme,
    hash: DigestName,
    digest: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    const ctx = this.#newContext(
      pkey,
      (c) => this.#s.EVP_PKEY_verify_init(c) > 0 && this.#signParams(c, scheme, hash),
    );
    if (!ctx) return false;
    const ok = this.#s.EVP_PKEY_verify(
      ctx,
      signature,
      BigInt(signature.length),
      digest,
      BigInt(digest.length),
    );
    this.#s.EVP_PKEY_CTX_free(ctx);
    this.#s.ERR_clear_error();
    return ok === 1;
  }

  publicEncrypt(
    spki: Uint8Array,
    mode: "pkcs1" | "oaep",
    data: Uint8Array,
  ): Uint8Array | undefined {
    return this.#guard(() => {
      const entry = this.#entry(spki, "public");
      const ctx = this.#context(
        entry,
        `encrypt:${mode}`,
        (c) => this.#s.EVP_PKEY_encrypt_init(c) > 0 && this.#encryptParams(c, mode),
      );
      if (!ctx) return this.#fail();
      return this.#output(
        this.#s.EVP_PKEY_get_size(entry.pkey!),
        (out, len) => this.#s.EVP_PKEY_encrypt(ctx, out, len, data, BigInt(data.length)),
      );
    });
  }

  rsaDecrypt(
    pkcs8: Uint8Array,
    mode: "pkcs1" | "oaep",
    oaepHash: "SHA-1" | DigestName,
    data: Uint8Array,
  ): Uint8Array | false | undefined {
    return this.#guard(() => {
      const entry = this.#entry(pkcs8, "private");
      if (!entry.pkey || !this.#md[oaepHash]) return this.#fail();
      const ctx = this.#context(
        entry,
        `decrypt:${mode}:${oaepHash}`,
        (c) => this.#s.EVP_PKEY_decrypt_init(c) > 0 && this.#encryptParams(c, mode, oaepHash),
      );
      if (!ctx) return this.#fail();
      return this.#output(
        this.#s.EVP_PKEY_get_size(entry.pkey),
        (out, len) => this.#s.EVP_PKEY_decrypt(ctx, out, len, data, BigInt(data.length)),
      ) ?? false;
    });
  }

  /** RSA decryption with a raw EVP_PKEY, used by the self-test. */
  decryptWith(pkey: Pointer, mode: "pkcs1" | "oaep", data: Uint8Array): Uint8Array | undefined {
    return this.#once(
      pkey,
      (c) => this.#s.EVP_PKEY_decrypt_init(c) > 0 && this.#encryptParams(c, mode),
      this.#s.EVP_PKEY_get_size(pkey),
      (c, buf, len) => this.#s.EVP_PKEY_decrypt(c, buf, len, data, BigInt(data.length)),
    );
  }

  /** A new key pair with the domain parameters of `template`; free it. */
  generate(template: Pointer): Pointer | null {
    const ctx = this.#newContext(template, (c) => this.#s.EVP_PKEY_keygen_init(c) > 0);
    if (!ctx) return null;
    try {
      return this.#keygen(ctx);
    } finally {
      this.#s.EVP_PKEY_CTX_free(ctx);
    }
  }

  /** A new key pair from a keygen context (which can make any number); free it. */
  #keygen(ctx: Pointer): Pointer | null {
    this.#word[0] = 0n;
    const ok = this.#s.EVP_PKEY_keygen(ctx, this.#wordBytes) > 0;
    const pkey = ok ? Deno.UnsafePointer.create(this.#word[0]!) : null;
    if (!pkey) this.#s.ERR_clear_error();
    return pkey;
  }

  /**
   * Z between a private key and a peer's public key. `validate` runs
   * OpenSSL's full public-key check of the peer (a scalar multiplication by
   * the group order, as costly as the agreement itself), so it is done once
   * per recipient key, not per message.
   */
  derive(privateKey: Pointer, peer: Pointer, validate = true): Uint8Array | undefined {
    const s = this.#s;
    return this.#once(
      privateKey,
      (c) =>
        s.EVP_PKEY_derive_init(c) > 0 &&
        s.EVP_PKEY_derive_set_peer_ex(c, peer, validate ? 1 : 0) > 0,
      s.EVP_PKEY_get_size(privateKey) + 8,
      (c, buf, len) => s.EVP_PKEY_derive(c, buf, len),
    );
  }

  /** The encoded (for EC: uncompressed) public key of `pkey`. */
  publicPoint(pkey: Pointer): Uint8Array | undefined {
    return this.#output(
      200,
      (buf, len) =>
        this.#s.EVP_PKEY_get_octet_string_param(pkey, this.#pubParam, buf, BigInt(buf.length), len),
    );
  }

  ecdhEphemeral(spki: Uint8Array): { point: Uint8Array; z: Uint8Array } | undefined {
    return this.#guard(() => {
      const entry = this.#entry(spki, "public");
      const recipient = entry.pkey;
      if (!recipient) return this.#fail();
      // One keygen context per recipient key makes every message's ephemeral key.
      const keygen = this.#context(entry, "keygen", (c) => this.#s.EVP_PKEY_keygen_init(c) > 0);
      const ephemeral = keygen && this.#keygen(keygen);
      if (!ephemeral) return undefined;
      try {
        const point = this.publicPoint(ephemeral);
        const z = point && this.derive(ephemeral, recipient, !entry.peerChecked);
        if (!point || !z || point[0] !== 4) return undefined;
        entry.peerChecked = true;
        return { point, z };
      } finally {
        this.#s.EVP_PKEY_free(ephemeral);
      }
    });
  }

  /** ECDSA with a raw EVP_PKEY, used by the self-test. */
  signWith(pkey: Pointer, hash: DigestName, digest: Uint8Array): Uint8Array | undefined {
    return this.#once(
      pkey,
      (c) => this.#s.EVP_PKEY_sign_init(c) > 0 && this.#signParams(c, "ecdsa", hash),
      this.#s.EVP_PKEY_get_size(pkey),
      (c, buf, len) => this.#s.EVP_PKEY_sign(c, buf, len, digest, BigInt(digest.length)),
    );
  }

  freeKey(pkey: Pointer): void {
    this.#s.EVP_PKEY_free(pkey);
  }

  aesCbc(encrypt: boolean, key: Uint8Array, iv: Uint8Array): CipherContext | undefined {
    const s = this.#s;
    const cipher = this.#ciphers.get(key.length);
    if (!cipher || iv.length !== 16) return undefined;
    let ctx = s.EVP_CIPHER_CTX_new();
    if (!ctx) return this.#fail();
    if (s.EVP_CipherInit_ex(ctx, cipher, null, key, iv, encrypt ? 1 : 0) <= 0) {
      s.EVP_CIPHER_CTX_free(ctx);
      return this.#fail();
    }
    // An int out-parameter.
    const length = new Int32Array(1);
    const lengthBytes = new Uint8Array(length.buffer);
    const fail = () => {
      this.#fail();
      return undefined;
    };
    return {
      update: (input, out) => {
        if (!ctx || out.length < input.length + 16 || input.length > 0x7fffffff) return fail();
        const ok = s.EVP_CipherUpdate(ctx, out, lengthBytes, input, input.length) > 0;
        return ok ? length[0]! : fail();
      },
      final: (out) => {
        if (!ctx || out.length < 16) return fail();
        return s.EVP_CipherFinal_ex(ctx, out, lengthBytes) > 0 ? length[0]! : fail();
      },
      free: () => {
        if (ctx) s.EVP_CIPHER_CTX_free(ctx);
        ctx = null;
      },
    };
  }
}

/*
 * Self-test material: an RSA-2048 key made for this purpose only and
 * published here, so it protects nothing; and its PKCS#1 v1.5 SHA-256
 * signature of the ASCII text "smimepost libcrypto self-test", made with `openssl dgst -sha256 -sign`.
 */
/** SHA-256 of "smimepost libcrypto self-test". */
const SELF_TEST_DIGEST = "4703b5275797b219055a36e51ef8cefe86f58c862d0f23d354d74c3262903d6c";
const SELF_TEST_RSA_PKCS8 =
  "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCxJ+gJQGQxfAHdlALnN9aJ0PrkcMqwdYdcDgw3" +
  "AAbB20UyjQGfWBkACc9n+s/nwjvGkzBhOg0uEQ40xrUJNaBFblE4jsRZFk8W3rl1fKmq3T4tRe/TX3EY7xto5XC2" +
  "uTZRCfke01y2opMRCsVPYNDL20sltSpyTCtN/6FODDqtQA/pYGBKgnPPeyGKEzsDGQd1d5UKPM6ZMvslydg18Czh" +
  "Ujh2VuNNmAanFGhjk2UZ7z4iVXrRk+DzlbZkFp1tJsl9YYkP02kwNqSMUxZu+RH4yPLlujTx5JdsFormk4dPjr2g" +
  "0Bb42FM9EnGRF9VSX9c+13g9X1WLMa++X4m/mMULAgMBAAECggEAJmgAZgEPt6qqvN7ZwkbYvAgSXHQXfSn9rndd" +
  "Lo9S57QhzFPFhkYTJW77CA/YAuaZDvPaCToMoXARJF/v349Ar8y6zwgkiSvM+ahPjKj6H5DXafk/hROr8TvlNViI" +
  "lxSQMgF3gLdR4kZcm9U58XuLyKZCJGqiSSU6Pi6tSb5c+jIMz3hs9/vSsq/XtIfNqlZww+OXITKQg75R/o36QhwP" +
  "cbGFnHdnLq3TYLysd0khfSt0Pm4T9OP4bjuSWtVhqhl3VKlAR20sXgrMflePMF+jR70sQ30VFI2idCXYOtacoM7l" +
  "I3tJneBGLkwRzrSFJchMZNN5BIpFWY+mLP/RkagAAQKBgQDfY+scecth17I5g/pZSY4ktJcxdaWR2gpXuiiCN6BL" +
  "2lXZJPrkHwTmY7nxNiqjMSKwHjp5FT4SsN0YfR0M1Vh7ybE9r0pE05HawhrwhzJZ4cu8Nz5qhNgtWxqwVipraxQA" +
  "x2lEOKqgHf7QwvPMsTUiVQSx/wwwkva/5nzsAW58CwKBgQDLBDXn2A1dPO2euESpeFC9YMxMblyvFWDATjmufxAj" +
  "qZAh8trHJPiRAnzSflE/fVKVVVxnvHsLDL04BWTfBEo94TpLpzZVvtIl4KH+jiPFN9iHY+/RBvINyC+Fy4fSPstZ" +
  "7GvGxAlNYaF2zy4N6+Enamb+ULdKYMnuwCM381N7AQKBgG6FWMT13RHDTYH3Md0K7zBpyIPH2OqYHZXZnEEQlFXy" +
  "55ZPHXHPhvUVUeFtExs6LBdGXVeakuNcbYa4H69Bvk1ANFh4aR40Lm00q29k9BxUAiBUlKTOpMWL1WB4wPP0PilE" +
  "f2gpQQGG1ZMjYMtcwRUDSxdlP/qoOzwmJJf+/VKRAoGAJKoyAhkm8LvcPloRLHoqOsmMnBEidAxsWM7H5BfWllo9" +
  "SaROlsC6k5XbbTia+9hqXcX41lNX9XrrgX6X5R8lOV+/44HjckDwOx8CorKRC0E2vdzyptGWTZ7l1kgX04S7vRXR" +
  "sSgedfc37fkk3CbJlxDEYRG6yJgKYDAbLDOp1AECgYA1ySMTi4IGqcKtpaCn13FOsTxk4dk0pxg3kSQqBJhG4nG+" +
  "CTSHhiZhmUW3iNSo7SYdF0c5W2A1KH4Kun73emECgaRPiJYu6quedAMKFj5zZ83yxOcfobEimPEGe6qPo8FTPi2o" +
  "hJeB4JlCoQaNc/CygrH7O1vt0Z+jwMeYefCLxQ==";
const SELF_TEST_RSA_SPKI =
  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsSfoCUBkMXwB3ZQC5zfWidD65HDKsHWHXA4MNwAGwdtF" +
  "Mo0Bn1gZAAnPZ/rP58I7xpMwYToNLhEONMa1CTWgRW5ROI7EWRZPFt65dXypqt0+LUXv019xGO8baOVwtrk2UQn5" +
  "HtNctqKTEQrFT2DQy9tLJbUqckwrTf+hTgw6rUAP6WBgSoJzz3shihM7AxkHdXeVCjzOmTL7JcnYNfAs4VI4dlbj" +
  "TZgGpxRoY5NlGe8+IlV60ZPg85W2ZBadbSbJfWGJD9NpMDakjFMWbvkR+Mjy5bo08eSXbBaK5pOHT469oNAW+NhT" +
  "PRJxkRfVUl/XPtd4PV9VizGvvl+Jv5jFCwIDAQAB";
const SELF_TEST_RSA_SIGNATURE =
  "qTMQJtgvO//HKAVo07xA0WcnwgQfeIVvrcSAugGrCJr8BUETMw4XZmfVrXhIYi/gp5I4swT3Al32X7pbsDiN57PN" +
  "qYPw3wIl/+MfKUcKv8dGrkBpNvcRZuT1zuZB8vgzfQAYQCq7ed1JoRVHyTjlZPYv5Em54cFe6jOTAn1y6obOCpXl" +
  "RF5R0TXwzHoGtKagULFUyHS1LnDZiiEv4etKy+8gKAba1Ex9jgPkEOi3rOhGUW1w6BDmD+2CB3c80BS1VZSSRQLc" +
  "wLgaI/hyrA0FbYXtVvFRjU9g5TP0LH/7lTC+BOoms/Y1lf/GOcdereq+N/4CvoM5JVc7IucScgB8QA==";

const fromBase64 = (b64: string) => latin1ToBytes(atob(b64));
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
const equal = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  !!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Exercises every operation once against known answers and inverse
 * operations; false when anything is off.
 */
function selfTest(lib: OpenSsl): boolean {
  const privateDer = fromBase64(SELF_TEST_RSA_PKCS8);
  const priv = lib.parse(privateDer, "private");
  const pub = lib.parse(fromBase64(SELF_TEST_RSA_SPKI), "public");
  const ephemeral: Pointer[] = [];
  try {
    if (!priv || !pub) return false;
    const digest = fromHex(SELF_TEST_DIGEST);
    const bad = digest.slice();
    bad[0]! ^= 1;
    // RSASSA-PKCS1-v1_5 is deterministic: a known answer.
    const pkcs1 = lib.signDigest(privateDer, "pkcs1", "SHA-256", digest);
    if (!equal(pkcs1, fromBase64(SELF_TEST_RSA_SIGNATURE))) return false;
    if (!lib.verifyWith(pub, "pkcs1", "SHA-256", digest, pkcs1!)) return false;
    if (lib.verifyWith(pub, "pkcs1", "SHA-256", bad, pkcs1!)) return false;
    // A PSS round trip alone would pass if setting the padding did nothing:
    // the signature must also differ from PKCS#1 v1.5's and fail as one.
    // (OAEP's digest setters fail on any other padding.)
    const pss = lib.signDigest(privateDer, "pss", "SHA-256", digest);
    if (!pss || !lib.verifyWith(pub, "pss", "SHA-256", digest, pss)) return false;
    if (equal(pss, pkcs1) || lib.verifyWith(pub, "pkcs1", "SHA-256", digest, pss)) return false;
    for (const mode of ["pkcs1", "oaep"] as const) {
      const secret = digest.subarray(0, 16);
      const sealed = lib.publicEncrypt(fromBase64(SELF_TEST_RSA_SPKI), mode, secret);
      if (!sealed || sealed.length !== 256) return false;
      if (!equal(lib.decryptWith(priv, mode, sealed), secret)) return false;
    }
    // P-256 from a template: two fresh keys agree, and ECDSA verifies.
    const template = lib.parse(fromBase64(SELF_TEST_P256_SPKI), "public");
    if (!template) return false;
    ephemeral.push(template);
    for (let i = 0; i < 2; i++) {
      const key = lib.generate(template);
      if (!key) return false;
      ephemeral.push(key);
    }
    const [, a, b] = ephemeral as [Pointer, Pointer, Pointer];
    const zab = lib.derive(a, b);
    if (!zab || zab.length !== 32 || !equal(zab, lib.derive(b, a))) return false;
    const point = lib.publicPoint(a);
    if (!point || point.length !== 65 || point[0] !== 4) return false;
    const ecdsa = lib.signWith(a, "SHA-256", digest);
    if (!ecdsa || ecdsa[0] !== 0x30) return false;
    if (!lib.verifyWith(a, "ecdsa", "SHA-256", digest, ecdsa)) return false;
    if (lib.verifyWith(b, "ecdsa", "SHA-256", digest, ecdsa)) return false;
    return aesSelfTest(lib, digest);
  } finally {
    if (priv) lib.freeKey(priv);
    if (pub) lib.freeKey(pub);
    for (const key of ephemeral) lib.freeKey(key);
  }
}

/**
 * AES-CBC against node:crypto's, an implementation of its own: 37 bytes in
 * two pieces give the same three blocks, padding included, and decrypt
 * back; a ciphertext whose padding decrypts wrong is refused.
 */
function aesSelfTest(lib: OpenSsl, bytes: Uint8Array): boolean {
  const key = bytes.subarray(0, 32);
  const iv = bytes.subarray(0, 16);
  const plain = new Uint8Array(37).map((_, i) => i);
  const reference = createCipheriv("aes-256-cbc", key, iv);
  const want = concatBytes([reference.update(plain), reference.final()]);
  const run = (encrypt: boolean, pieces: Uint8Array[]) => {
    const ctx = lib.aesCbc(encrypt, key, iv);
    if (!ctx) return undefined;
    try {
      const out: Uint8Array[] = [];
      for (const piece of pieces) {
        const buf = new Uint8Array(piece.length + 16);
        const n = ctx.update(piece, buf);
        if (n === undefined) return undefined;
        out.push(buf.subarray(0, n));
      }
      const last = new Uint8Array(16);
      const n = ctx.final(last);
      return n === undefined ? undefined : concatBytes([...out, last.subarray(0, n)]);
    } finally {
      ctx.free();
    }
  };
  const sealed = run(true, [plain.subarray(0, 20), plain.subarray(20)]);
  if (!equal(sealed, want)) return false;
  if (!equal(run(false, [sealed!.subarray(0, 7), sealed!.subarray(7)]), plain)) return false;
  // The last plain byte is padding 0x0b; through the block before it, it becomes 0x5e.
  const damaged = sealed!.slice();
  damaged[damaged.length - 17]! ^= 0x55;
  return run(false, [damaged]) === undefined;
}

/** A P-256 public key, any will do: the self-test's curve template. */
const SELF_TEST_P256_SPKI =
  "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWkuozHRMbP0zM3W5/T6Xvt8kB+xRjvg7UB4p5E6NQaE9gmTfs2Nt" +
  "CBqShlnCFruxZnUsDFOKqo+2HTSS/UATAw==";

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Loads libcrypto afresh, honouring permissions and SMIMEPOST_NO_FFI, and
 * self-tests it; undefined when the fast path is not to be used. Never
 * throws, never prompts.
 */
export function loadLibcrypto(): LibCrypto | undefined {
  if (!granted({ name: "ffi" })) return undefined;
  if (
    granted({ name: "env", variable: "SMIMEPOST_NO_FFI" }) &&
    Deno.env.get("SMIMEPOST_NO_FFI") === "1"
  ) return undefined;
  for (const name of LIBRARY_NAMES) {
    let dylib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
    try {
      dylib = Deno.dlopen(name, SYMBOLS);
      const lib = new OpenSsl(dylib.symbols);
      if (selfTest(lib)) return lib;
    } catch {
      // Not there, not OpenSSL 3, or refused: try the next name.
    }
    try {
      dylib?.close();
    } catch { /* already closed */ }
  }
  return undefined;
}

let loaded: { lib: LibCrypto | undefined } | undefined;

/**
 * The process's (worker's) libcrypto, loaded on first call; undefined when
 * the fast path is off or unavailable, and callers use their fallback.
 */
export function libcrypto(): LibCrypto | undefined {
  loaded ??= { lib: loadLibcrypto() };
  return loaded.lib;
}

/**
 * Replaces what {@link libcrypto} returns, for tests that run both paths
 * in one process: a LibCrypto, undefined for the fallback, or null to load
 * again on the next call.
 */
export function overrideLibcrypto(lib: LibCrypto | undefined | null): void {
  loaded = lib === null ? undefined : { lib };
}
