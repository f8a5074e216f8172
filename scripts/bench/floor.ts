/**
 * The crypto floor of `deno task bench`: what the unavoidable cryptography
 * of one sign+encrypt costs on this machine, from `openssl speed` run in the
 * same bench run. OpenSSL's figures are CPU (user) time of one thread, so
 * the floor compares with the rows' "CPU ms/msg".
 *
 * One message of the bench's workload costs, at the least: one RSA-2048
 * signature (the signer, alice), one public-key operation per RecipientInfo
 * (bob RSA-3072 and alice RSA-2048 as key transport, which costs what a
 * verify costs; carol EC P-256 as one ECDH derivation; the ephemeral key
 * generation is not counted, so the floor is if anything low), AES-256-CBC
 * over the entity that is encrypted and SHA-256 over the entity that is
 * signed. Everything else (parsing, canonical form, base64, DER, MIME,
 * SMTP) is overhead above it.
 *
 * @module
 */

/** Operations per second and bytes per second measured by `openssl speed`. */
export interface OpensslSpeed {
  rsa2048SignPerSec: number;
  rsa2048VerifyPerSec: number;
  rsa3072VerifyPerSec: number;
  ecdhP256PerSec: number;
  /** AES-256-CBC (EVP) at {@link OpensslSpeed.blockBytes}, bytes per second. */
  aes256CbcBytesPerSec: number;
  /** SHA-256 at {@link OpensslSpeed.blockBytes}, bytes per second. */
  sha256BytesPerSec: number;
  /** The block size the symmetric figures were measured at. */
  blockBytes: number;
  /** Wall seconds `openssl speed` took. */
  seconds: number;
}

/** Bytes that one message puts through the symmetric primitives. */
export interface FloorWorkload {
  /** The canonical entity that is signed (SHA-256 over it). */
  signedBytes: number;
  /** The signed entity that is encrypted (AES-256-CBC over it). */
  encryptedBytes: number;
}

/** One message's floor, milliseconds of CPU per term and in all. */
export interface CryptoFloor {
  rsaSignMs: number;
  /** RSA-3072 and RSA-2048 public operations (key transport). */
  rsaPublicMs: number;
  ecdhMs: number;
  aesMs: number;
  shaMs: number;
  totalMs: number;
}

async function openssl(args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A `+F...` field of `openssl speed -mr` output, as a number. */
function field(text: string, pattern: RegExp, what: string): number {
  const m = pattern.exec(text);
  const value = m ? Number(m[1]) : NaN;
  if (!(value > 0)) throw new Error(`openssl speed: no figure for ${what}`);
  return value;
}

/**
 * Runs `openssl speed -mr -seconds 1` for the primitives of the floor
 * (about 7 s in all: RSA runs its sign and verify loops for both sizes).
 *
 * @param blockBytes block size for AES and SHA-256, near the message size
 */
export async function measureOpensslSpeed(blockBytes = 16384): Promise<OpensslSpeed> {
  const start = performance.now();
  const pk = await openssl(["speed", "-mr", "-seconds", "1", "rsa2048", "rsa3072", "ecdhp256"]);
  const bytes = ["-mr", "-seconds", "1", "-bytes", String(blockBytes)];
  const aes = await openssl(["speed", ...bytes, "-evp", "aes-256-cbc"]);
  const sha = await openssl(["speed", ...bytes, "sha256"]);
  // -mr: "+F2:<i>:<bits>:<sign/s>:<verify/s>", "+F5:<i>:<bits>:<ops/s>:<s/op>",
  // "+F:<i>:<name>:<bytes/s at each block size>".
  return {
    rsa2048SignPerSec: field(pk, /^\+F2:\d+:2048:([\d.]+):/m, "rsa2048 sign"),
    rsa2048VerifyPerSec: field(pk, /^\+F2:\d+:2048:[\d.]+:([\d.]+)/m, "rsa2048 verify"),
    rsa3072VerifyPerSec: field(pk, /^\+F2:\d+:3072:[\d.]+:([\d.]+)/m, "rsa3072 verify"),
    ecdhP256PerSec: field(pk, /^\+F5:\d+:256:([\d.]+):/m, "ecdhp256"),
    aes256CbcBytesPerSec: field(aes, /^\+F:\d+:AES-256-CBC:([\d.]+)/im, "aes-256-cbc"),
    sha256BytesPerSec: field(sha, /^\+F:\d+:sha256:([\d.]+)/im, "sha256"),
    blockBytes,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The floor of one message of the bench's workload (see the module comment). */
export function cryptoFloor(speed: OpensslSpeed, work: FloorWorkload): CryptoFloor {
  const ms = (perSec: number) => 1000 / perSec;
  const floor = {
    rsaSignMs: ms(speed.rsa2048SignPerSec),
    rsaPublicMs: ms(speed.rsa3072VerifyPerSec) + ms(speed.rsa2048VerifyPerSec),
    ecdhMs: ms(speed.ecdhP256PerSec),
    aesMs: 1000 * work.encryptedBytes / speed.aes256CbcBytesPerSec,
    shaMs: 1000 * work.signedBytes / speed.sha256BytesPerSec,
  };
  return {
    ...floor,
    totalMs: floor.rsaSignMs + floor.rsaPublicMs + floor.ecdhMs + floor.aesMs + floor.shaMs,
  };
}
