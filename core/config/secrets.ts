/**
 * Secrets: reading `<key>_file` and running `<key>_command`, and redacting
 * secret values from any text as a last line of defence.
 *
 * @module
 */
import { bytesToLatin1 } from "../bytes.ts";
import { SmimeError } from "../errors.ts";
import { escapeControls } from "../printable.ts";
import { ioReason } from "./locate.ts";
import type { ResolvedDelivery } from "./types.ts";
import type { DeliveryTarget } from "../deliver/types.ts";

/** How every secret is shown. */
export const MASK = "****";

/** The forms a secret option may be given in, besides its own key. */
export const SECRET_SUFFIXES = ["_file", "_command"] as const;

/**
 * Reads a secret from a file, trimming trailing line ends.
 * @param where the config key for messages, e.g. `profiles.sp.api_key_file`
 * @throws SmimeError E_CONFIG naming the key and file when unreadable or empty
 */
export async function readSecretFile(path: string, where: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new SmimeError("E_CONFIG", `${where}: cannot read "${path}": ${ioReason(err)}`, {
      cause: err,
    });
  }
  const secret = text.replace(/[\r\n]+$/, "");
  if (secret === "") throw new SmimeError("E_CONFIG", `${where}: "${path}" is empty`);
  return secret;
}

/**
 * Runs `/bin/sh -c command` and returns its trimmed stdout. Stdin is closed
 * (the message may be arriving on ours). Stdout is never shown, nor is the
 * command; when it fails, the last line of its stderr is, with whatever it
 * printed on stdout masked (a secret it echoed there too).
 * @param where the config key for messages, e.g. `profiles.sp.api_key_command`
 * @throws SmimeError E_CONFIG naming the key when it cannot run, fails or prints nothing
 */
export async function runSecretCommand(command: string, where: string): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("/bin/sh", {
      args: ["-c", command],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new SmimeError("E_CONFIG", `${where}: cannot run /bin/sh: ${ioReason(err)}`, {
      cause: err,
    });
  }
  if (!output.success) {
    const status = output.signal ? `signal ${output.signal}` : `exit status ${output.code}`;
    const said = lastLine(output.stderr, output.stdout);
    throw new SmimeError(
      "E_CONFIG",
      `${where}: the command failed (${status})${said ? `: ${said}` : ""}`,
    );
  }
  const secret = new TextDecoder().decode(output.stdout).trim();
  if (secret === "") throw new SmimeError("E_CONFIG", `${where}: the command printed nothing`);
  return secret;
}

/** The last non-empty line of `stderr`, printable, at most 200 characters, `stdout` masked. */
function lastLine(stderr: Uint8Array, stdout: Uint8Array): string {
  const decoder = new TextDecoder();
  const line = decoder.decode(stderr).split(/\r?\n/).map((l) => l.trim()).filter(Boolean).at(-1);
  if (!line) return "";
  const printed = decoder.decode(stdout);
  const masked = redact(line, [printed.trim(), ...printed.split(/\r?\n/).map((l) => l.trim())]);
  // deno-lint-ignore no-control-regex
  const clean = masked.replace(/[\x00-\x1f\x7f]/g, " ");
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}

/**
 * Replaces every occurrence of each non-empty secret in `text` by "****", in
 * every form a server may echo it back in: as it is, base64 (AUTH LOGIN and
 * PLAIN send it so; also the base64 of a longer string that holds it, at
 * each byte alignment), quoted-printable of either, percent-encoded (a URL
 * or a form body, upper- or lower-case hex), hex of its UTF-8 bytes, and
 * its non-ASCII characters as a server that speaks Latin-1 sends them back:
 * a byte each (which decodes as U+FFFD here), or its UTF-8 bytes taken for
 * Latin-1 characters; the first three also with their control characters
 * shown as `\xNN`, as a server's reply is printed (see core/printable.ts), so
 * a password holding one is masked in what is shown.
 *
 * @example
 * ```ts
 * import { redact } from "./secrets.ts";
 * redact("AUTH failed for s3cret", ["s3cret"]); // "AUTH failed for ****"
 * ```
 */
export function redact(text: string, secrets: readonly string[]): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    const bytes = new TextEncoder().encode(secret);
    for (const form of [secret, base64(bytes), ...base64Cores(bytes)]) {
      forms.add(form);
      forms.add(escapeControls(form));
      forms.add(quotedPrintable(form));
    }
    const percent = encodeURIComponent(secret);
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    for (
      const form of [
        percent,
        percent.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
        percent.replaceAll("%20", "+"),
        hex,
        hex.toUpperCase(),
        secret.replace(/[\u0080-\u00ff]/g, "\ufffd"),
        bytesToLatin1(bytes),
      ]
    ) forms.add(form);
  }
  // Longest first, so a secret containing another is masked whole.
  let result = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    result = result.split(form).join(MASK);
  }
  return result;
}

function base64(bytes: Uint8Array): string {
  return btoa(bytesToLatin1(bytes));
}

/**
 * What `secret` looks like inside a longer base64 stream at each of the
 * three byte alignments, without the characters it shares with its
 * neighbours; only cores long enough not to mask ordinary text.
 */
function base64Cores(secret: Uint8Array): string[] {
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = new Uint8Array(shift + secret.length);
    padded.set(secret, shift);
    const text = base64(padded).replace(/=+$/, "");
    const core = text.slice(shift ? 4 : 0, text.length - 4);
    if (core.length >= 12) cores.push(core);
  }
  return cores;
}

/** RFC 2045 6.7 quoted-printable of a UTF-8 string (no line breaks needed here). */
function quotedPrintable(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    out += byte >= 33 && byte <= 126 && byte !== 61
      ? String.fromCharCode(byte)
      : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The secret values in resolved options, for {@link redact}. */
export function secretsOf(
  resolved: Pick<ResolvedDelivery, "options"> & { plugin: Pick<DeliveryTarget, "secrets"> },
): string[] {
  const options = resolved.options as Record<string, unknown> | undefined;
  const found: string[] = [];
  for (const key of resolved.plugin.secrets) {
    const value = options?.[key];
    if (typeof value === "string" && value !== "") found.push(value);
  }
  // The AUTH PLAIN message (RFC 4616), with and without an authzid: its
  // base64 is what a server that echoes the AUTH line shows.
  const user = options?.["user"];
  const password = options?.["password"];
  if (typeof user === "string" && typeof password === "string" && password !== "") {
    found.push(`\0${user}\0${password}`, `${user}\0${user}\0${password}`);
  }
  return found;
}
