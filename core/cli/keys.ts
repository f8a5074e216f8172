/**
 * Key-folder access for the commands: trust anchors, the key store, where a
 * private key's passphrase comes from (a file, the environment, a prompt
 * without echo), and which keys to try on an encrypted layer.
 *
 * @module
 */
import { isSmimeError, SmimeError } from "../errors.ts";
import { readInput } from "../io.ts";
import { KeyStore, loadTrustBundle } from "../keys/mod.ts";
import { recipientTest } from "../cms/mod.ts";
import { envelopeOf, getHeaders, parseAddressList, parseMessage } from "../message/mod.ts";
import type { Message } from "../message/mod.ts";
import type { KeyCandidate, KeyCandidates } from "../smime/open.ts";

import { PASSPHRASE_ENV } from "./options.ts";
import { warn } from "./output.ts";

const encoder = new TextEncoder();

/** The key-folder options of a command (see withKeyOptions in options.ts). */
export type KeyOptions = {
  keys: string;
  trust?: string;
  passphraseFile?: string;
  allowInvalidCert?: true;
  allowInsecureKeyPermissions?: true;
  verbose?: true;
  quiet?: true;
};

/**
 * The trust anchors of --trust FILE, or undefined without one. A certificate
 * whose OpenSSL trust settings refuse e-mail is left out, with a warning.
 *
 * @throws {SmimeError} E_INPUT when the file cannot be read; E_CERT_INVALID
 *   for a bad bundle or one without an anchor for e-mail
 */
export async function loadTrust(file: string | undefined): Promise<Uint8Array[] | undefined> {
  if (!file) return undefined;
  const { bytes, source } = await readInput(file);
  const { anchors, warnings } = loadTrustBundle(bytes, source);
  warnings.forEach(warn);
  return anchors;
}

/** The key store the key options describe. */
export async function openKeyStore(
  options: KeyOptions,
  stdinIsMessage: boolean,
  trustAnchors?: Uint8Array[],
): Promise<KeyStore> {
  return new KeyStore({
    dir: options.keys,
    trustAnchors: trustAnchors ?? await loadTrust(options.trust),
    passphrase: passphraseSource(options.passphraseFile, stdinIsMessage),
    allowInvalid: Boolean(options.allowInvalidCert),
    allowInsecurePermissions: Boolean(options.allowInsecureKeyPermissions),
  });
}

/**
 * Where a private key's passphrase comes from: --passphrase-file, then
 * $SMIMEPOST_PASSPHRASE, then a prompt on the terminal.
 */
export function passphraseSource(
  file: string | undefined,
  stdinIsMessage: boolean,
): (keyFile: string) => Promise<string | undefined> {
  let cached: string | undefined;
  return async (keyFile: string): Promise<string | undefined> => {
    if (cached !== undefined) return cached;
    if (file) {
      const { bytes } = await readInput(file);
      cached = new TextDecoder().decode(bytes).replace(/\r?\n$/, "");
    } else if (Deno.env.get(PASSPHRASE_ENV) !== undefined) {
      cached = Deno.env.get(PASSPHRASE_ENV);
    } else {
      cached = await promptSecret(`Passphrase for ${keyFile}: `, stdinIsMessage);
    }
    return cached;
  };
}

/**
 * Asks on the terminal without echo; undefined when there is no terminal.
 * Echo goes off before the prompt is written, as getpass(3) and ssh do, so a
 * passphrase typed ahead or pasted as the prompt appears never shows; the
 * terminal is restored on every path (Enter, EOF, Ctrl-C, SIGINT/SIGTERM/
 * SIGHUP, an error).
 */
async function promptSecret(prompt: string, stdinIsMessage: boolean): Promise<string | undefined> {
  const stdin = Deno.stdin;
  if (stdinIsMessage || !stdin.isTerminal() || !Deno.stderr.isTerminal()) return undefined;
  stdin.setRaw(true);
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  let onSignal = () => {};
  const interrupted = new Promise<null>((resolve) => onSignal = () => resolve(null));
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  const typed: number[] = [];
  const buf = new Uint8Array(1);
  try {
    await writeAllStderr(encoder.encode(prompt));
    for (;;) {
      // A signal from elsewhere races the read; Ctrl-C is a byte in raw mode.
      const n = await Promise.race([stdin.read(buf), interrupted]);
      const byte = n === null ? undefined : buf[0]!;
      if (byte === 3 || (byte === undefined && await isSettled(interrupted))) {
        throw new SmimeError("E_PASSPHRASE", "interrupted at the passphrase prompt");
      }
      // EOF, Ctrl-D (a byte in raw mode), Enter
      if (byte === undefined || byte === 4 || byte === 13 || byte === 10) break;
      if (byte === 127 || byte === 8) typed.pop();
      else if (byte === 21) typed.length = 0; // Ctrl-U: start over
      else typed.push(byte);
    }
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    try {
      stdin.setRaw(false);
      await writeAllStderr(encoder.encode("\n"));
    } catch {
      // The terminal went away (hang-up): nothing left to restore.
    }
  }
  return new TextDecoder().decode(new Uint8Array(typed));
}

async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol();
  return await Promise.race([promise, Promise.resolve(pending)]) !== pending;
}

async function writeAllStderr(bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await Deno.stderr.write(bytes.subarray(at));
}

/**
 * Keys to try on an encrypted layer: the --key files; else the keys of the
 * addresses the message's header fields name, then, when none of those
 * opens it, the key folder's keys whose certificate one of its
 * RecipientInfos names (a Bcc recipient's own), found by issuer and serial
 * number or subject key identifier without loading any other key.
 */
export function keyCandidates(
  keys: KeyStore,
  bytes: Uint8Array,
  source: string,
  files: string[] | undefined,
): KeyCandidates {
  if (files?.length) {
    return async () => await Promise.all(files.map((f) => keys.recipientKeyFromFile(f)));
  }
  // Read now: decrypt then uses the message's bytes up (it decodes in place).
  const addresses = messageAddresses(bytes, source);
  return async function* (der) {
    const candidates: KeyCandidate[] = [];
    for (const address of addresses) {
      const key = await unlessMissing(() => keys.recipientKeysFor(address));
      if (key) candidates.push({ ...key, file: address });
    }
    yield* candidates;
    // Reached only when no key of an address the message names opened it.
    const tried = new Set(addresses.map((a) => a.toLowerCase()));
    for await (const address of keys.addressesMatching(recipientTest(der), tried)) {
      const key = await unlessMissing(() => keys.recipientKeysFor(address));
      if (key) yield { ...key, file: address };
    }
  };
}

/**
 * What `find` gives, or undefined when the address has no certificate or
 * key: normal for a recipient whose key is elsewhere. A key that won't
 * open is not.
 */
async function unlessMissing<T>(find: () => Promise<T>): Promise<T | undefined> {
  try {
    return await find();
  } catch (err) {
    if (!isSmimeError(err) || ["E_PASSPHRASE", "E_KEY_PERMISSIONS"].includes(err.code)) throw err;
    return undefined;
  }
}

/** Header fields whose addresses may be a reader of the message. */
const ADDRESS_FIELDS = ["To", "Cc", "Bcc", "From", "Sender", "Reply-To", "Resent-To", "Resent-Cc"];

/**
 * The recipients and sender of a message, best effort. When they can't be
 * taken as an envelope (no recipients, as with "To: undisclosed-recipients:;",
 * two From fields, one bad address), every address of the fields that can
 * be read, each field on its own.
 */
function messageAddresses(bytes: Uint8Array, source: string): string[] {
  let message: Message;
  try {
    message = parseMessage(bytes, source);
  } catch {
    return [];
  }
  try {
    const envelope = envelopeOf(message);
    return [...envelope.recipients, envelope.sender];
  } catch {
    // Below: field by field.
  }
  const addresses = new Map<string, string>();
  for (const name of ADDRESS_FIELDS) {
    for (const field of getHeaders(message, name)) {
      try {
        for (const { address } of parseAddressList(field.value, source)) {
          addresses.set(address.toLowerCase(), address);
        }
      } catch {
        // An unreadable field names no one to try.
      }
    }
  }
  return [...addresses.values()];
}
