/**
 * Shared test helpers: one test PKI per test process, openssl as the
 * independent judge, and message builders.
 *
 * @module
 */
import { makeTestPki } from "../../scripts/make_pki.ts";
import { KeyStore } from "../../core/keys/mod.ts";
import type { SealedMessage } from "../../core/smime/sealed.ts";

let pkiDir: Promise<string> | undefined;

/**
 * A test PKI made once per test process in a temporary folder, removed at
 * process exit. Its key folder follows the address convention.
 */
export function testPki(): Promise<string> {
  pkiDir ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "smimepost-test-pki-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    await makeTestPki(dir);
    return dir;
  })();
  return pkiDir;
}

/** A KeyStore over the test PKI, trusting its root. */
export async function testKeyStore(
  options: { trust?: boolean; allowInvalid?: boolean } = {},
): Promise<KeyStore> {
  const dir = await testPki();
  const { loadPemBundle } = await import("../../core/keys/mod.ts");
  const trust = options.trust === false
    ? undefined
    : loadPemBundle(await Deno.readFile(`${dir}/trust.pem`), `${dir}/trust.pem`);
  return new KeyStore({ dir, trustAnchors: trust, allowInvalid: options.allowInvalid });
}

/** What a run of a program nobody here wrote produced. */
export interface ToolRun {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

/** What an openssl run produced. */
export type OpensslRun = ToolRun;

/** Runs openssl with `args`, feeding `stdin`. */
export function openssl(args: string[], stdin?: Uint8Array): Promise<OpensslRun> {
  return tool("openssl", args, stdin);
}

/** Runs `command` with `args`, feeding `stdin`, in `cwd`; never throws for a non-zero exit. */
export async function tool(
  command: string,
  args: string[],
  stdin?: Uint8Array,
  cwd?: string,
): Promise<ToolRun> {
  const child = new Deno.Command(command, {
    args,
    cwd,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin).catch(() => {});
    await writer.close().catch(() => {});
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

const encoder = new TextEncoder();

/** Encodes a message written with "\n" line ends, converting to CRLF when asked. */
export function messageBytes(text: string, lineEnd: "\n" | "\r\n" = "\n"): Uint8Array {
  return encoder.encode(lineEnd === "\n" ? text : text.replaceAll("\n", "\r\n"));
}

/** Converts CRLF to LF (what openssl's text-mode output and Postfix's store do). */
export function toLf(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) continue;
    out[o++] = bytes[i]!;
  }
  return out.subarray(0, o);
}

/**
 * A sealed message over 1 MB (signed and encrypted to bob, alice's self
 * copy too), so that it is streamed: `source` set, `bytes` built only when
 * read. Its plain text has dot lines, for SMTP's dot-stuffing.
 */
export async function largeSealedMessage(): Promise<SealedMessage> {
  const { parseMessage } = await import("../../core/message/mod.ts");
  const { sealMessage } = await import("../../core/pipeline.ts");
  const body = "Dear customer,\n.a dot line\n" +
    "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8\n".repeat(40_000);
  const text = `From: alice@example.com\nTo: bob@example.com\nSubject: large\n\n${body}`;
  const { copies } = await sealMessage(
    parseMessage(encoder.encode(text), "large.eml"),
    await testKeyStore(),
    {
      sign: true,
      detached: false,
      encrypt: true,
    },
  );
  return copies[0]!;
}
