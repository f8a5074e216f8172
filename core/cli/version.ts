/**
 * What `smimepost --version` reports: this program's version, the Deno, V8
 * and TypeScript it runs on, and the OpenSSL libcrypto version when one can
 * be loaded (the fast path of core/cms/libcrypto.ts). Reporting only: a
 * missing libcrypto or a refused ffi permission is not an error.
 *
 * @module
 */

/** The program's version, as in deno.json. */
export const VERSION = "0.1.0";

/** The names core/cms/libcrypto.ts tries, in its order. */
const LIBRARY_NAMES = ["libcrypto.so.3", "libcrypto.so"];

/** The versions --version prints; `openssl` is absent when libcrypto cannot be loaded. */
export interface VersionInfo {
  smimepost: string;
  deno: string;
  v8: string;
  typescript: string;
  openssl?: string;
}

/** This program's and its runtime's versions. */
export function versionInfo(): VersionInfo {
  const openssl = opensslVersion();
  return {
    smimepost: VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    ...(openssl === undefined ? {} : { openssl }),
  };
}

/** The lines of `smimepost --version`. */
export function versionLines(info: VersionInfo): string[] {
  return [
    `smimepost ${info.smimepost}`,
    `deno ${info.deno}`,
    `v8 ${info.v8}`,
    `typescript ${info.typescript}`,
    ...(info.openssl === undefined ? [] : [`libcrypto ${info.openssl}`]),
  ];
}

/**
 * OpenSSL_version(OPENSSL_VERSION), e.g. "OpenSSL 3.0.13 30 Jan 2024", or
 * undefined without the ffi permission (queried, never requested) or a
 * loadable libcrypto.
 */
function opensslVersion(): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  } catch {
    return undefined;
  }
  for (const name of LIBRARY_NAMES) {
    try {
      const lib = Deno.dlopen(name, {
        OpenSSL_version: { parameters: ["i32"], result: "pointer" },
      });
      try {
        const text = lib.symbols.OpenSSL_version(0);
        if (text) return Deno.UnsafePointerView.getCString(text);
      } finally {
        lib.close();
      }
    } catch {
      // Not there, or too old to have OpenSSL_version: try the next name.
    }
  }
  return undefined;
}
