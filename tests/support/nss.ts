/**
 * NSS (the library Thunderbird uses) as a judge: a throw-away NSS database
 * holding one recipient's key, and `cmsutil -D` to open what we encrypted.
 * Debian package libnss3-tools (certutil, pk12util, cmsutil).
 *
 * @module
 */

import { tool, type ToolRun } from "./helpers.ts";

export { tool, type ToolRun };

/** True when NSS's command-line tools are installed. */
export function nssAvailable(): boolean {
  try {
    new Deno.Command("cmsutil", { args: ["-?"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
}

async function mustRun(command: string, args: string[]): Promise<void> {
  const run = await tool(command, args);
  if (run.code !== 0) throw new Error(`${command} ${args[0]}: ${run.stderr}`);
}

/**
 * An NSS database in `dir` holding the key and certificate of one
 * recipient (PEM files), imported through PKCS#12 as a user would.
 */
export async function nssDatabase(dir: string, certFile: string, keyFile: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const db = `sql:${dir}`;
  await mustRun("certutil", ["-N", "-d", db, "--empty-password"]);
  const p12 = `${dir}/import.p12`;
  await mustRun("openssl", [
    "pkcs12",
    "-export",
    "-in",
    certFile,
    "-inkey",
    keyFile,
    "-out",
    p12,
    "-passout",
    "pass:nss-import",
  ]);
  await mustRun("pk12util", ["-i", p12, "-d", db, "-W", "nss-import"]);
  return db;
}

/** `cmsutil -D`: decodes (decrypts) a DER CMS object with the database's keys. */
export async function cmsutilDecode(db: string, der: Uint8Array, dir: string): Promise<ToolRun> {
  const input = `${dir}/in-${crypto.randomUUID()}.der`;
  await Deno.writeFile(input, der);
  try {
    return await tool("cmsutil", ["-D", "-d", db, "-i", input]);
  } finally {
    await Deno.remove(input);
  }
}
