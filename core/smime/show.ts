/**
 * `smimepost show`: the header fields of every MIME entity, indented by
 * depth as the old mimeshow printed them, with a summary line for each CMS
 * object, and the entities inside signed (and, given a key, encrypted)
 * layers.
 *
 * @module
 */
import { decrypt, inspect, verify } from "../cms/mod.ts";
import type { CmsIdentifierInfo, CmsInfo } from "../cms/mod.ts";
import { isSmimeError, reasonOf } from "../errors.ts";
import type { MimeNode } from "../message/mod.ts";
import { decodeBody, parseMimeTree } from "../message/mod.ts";
import type { KeyCandidates } from "./open.ts";

/** Options of {@link describeMessage}. */
export interface ShowOptions {
  /** Keys to look inside encrypted layers with. */
  keys?: KeyCandidates;
}

/** Longest header value shown before it is cut. */
const MAX_VALUE = 300;
/** Deepest nesting shown. */
const MAX_DEPTH = 64;

/** The lines `show` prints for a message. */
export async function describeMessage(
  bytes: Uint8Array,
  source: string,
  options: ShowOptions = {},
): Promise<string[]> {
  const lines: string[] = [];
  await describeNode(parseMimeTree(bytes, source), 0, lines, source, options);
  return lines;
}

async function describeNode(
  node: MimeNode,
  depth: number,
  lines: string[],
  source: string,
  options: ShowOptions,
): Promise<void> {
  const pad = "  ".repeat(depth);
  for (const field of node.headers) {
    const value = field.value.length > MAX_VALUE
      ? `${field.value.slice(0, MAX_VALUE)}... (${field.value.length} characters)`
      : field.value;
    lines.push(`${pad}${field.name}: ${value}`);
  }
  if (node.children.length === 0) {
    lines.push(`${pad}[body: ${node.body.length} bytes]`);
  }
  lines.push("");
  if (depth >= MAX_DEPTH) {
    if (node.children.length) {
      lines.push(`${pad}  [${node.children.length} parts deeper: not shown]`);
    }
    return;
  }
  for (const child of node.children) {
    await describeNode(child, depth + 1, lines, source, options);
  }
  if (isCms(node)) await describeCms(decodeBody(node), depth + 1, lines, source, options);
}

async function describeCms(
  der: Uint8Array,
  depth: number,
  lines: string[],
  source: string,
  options: ShowOptions,
): Promise<void> {
  const pad = "  ".repeat(depth);
  let info: CmsInfo;
  try {
    info = inspect(der);
  } catch (err) {
    lines.push(`${pad}[CMS: unreadable: ${reasonOf(err)}]`, "");
    return;
  }
  lines.push(...cmsSummary(info).map((line) => `${pad}${line}`), "");
  const inner = info.kind === "signed-data"
    ? (info.detached ? undefined : (await verify(der, {})).content)
    : await tryDecrypt(der, options, lines, pad);
  if (inner && inner.length > 0) {
    await describeNode(parseMimeTree(inner, source), depth + 1, lines, source, options);
  }
}

async function tryDecrypt(
  der: Uint8Array,
  options: ShowOptions,
  lines: string[],
  pad: string,
): Promise<Uint8Array | undefined> {
  if (!options.keys) return undefined;
  for (const key of await options.keys()) {
    try {
      const content = await decrypt(der, key);
      lines.push(`${pad}[decrypted with ${key.file}]`, "");
      return content;
    } catch (err) {
      if (!isSmimeError(err)) throw err;
    }
  }
  lines.push(`${pad}[none of the given keys opens it]`, "");
  return undefined;
}

/** The summary lines of a CMS object. */
function cmsSummary(info: CmsInfo): string[] {
  if (info.kind === "signed-data") {
    const head = `[CMS signed-data, ${info.detached ? "detached" : "opaque"}, ` +
      `digest ${info.digestAlgorithms.join(", ")}, ${info.certificateCount} certificate(s)]`;
    return [
      head,
      ...info.signers.map((s) =>
        `[signer: ${identifier(s)}, ${s.digestAlgorithm} with ${s.signatureAlgorithm}]`
      ),
    ];
  }
  return [
    `[CMS ${info.kind}, ${info.contentCipher}, ${info.recipients.length} recipient(s)]`,
    ...info.recipients.map((r) => `[recipient: ${identifier(r)}, ${r.keyEncryption}]`),
  ];
}

function identifier(id: CmsIdentifierInfo): string {
  if (id.issuer) return `issuer ${id.issuer}, serial ${id.serialNumber}`;
  if (id.subjectKeyIdentifier) return `key id ${id.subjectKeyIdentifier}`;
  return "unidentified";
}

function isCms(node: MimeNode): boolean {
  const { type, subtype } = node.contentType;
  return type === "application" &&
    ["pkcs7-mime", "x-pkcs7-mime", "pkcs7-signature", "x-pkcs7-signature"].includes(subtype);
}
