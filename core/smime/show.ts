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
import { eachCandidate, type KeyCandidates } from "./open.ts";

/** Options of {@link describeMessage}. */
export interface ShowOptions {
  /** Keys to look inside encrypted layers with. */
  keys?: KeyCandidates;
}

/** Longest header value shown before it is cut. */
const MAX_VALUE = 300;
/** Deepest nesting shown. */
const MAX_DEPTH = 64;

/** One MIME entity as `show` sees it. */
export interface ShownEntity {
  headers: { name: string; value: string }[];
  /** A leaf's body size. */
  bodyBytes?: number;
  parts: ShownEntity[];
  /** Parts not looked at past the deepest nesting shown. */
  partsNotShown?: number;
  /** The CMS object in the body of an application/pkcs7-* entity. */
  cms?: ShownCms;
}

/** A CMS object as `show` sees it, and the entity inside it when it could be had. */
export interface ShownCms {
  info?: CmsInfo;
  /** Why it could not be read. */
  unreadable?: string;
  /** For an encrypted layer with --key: the key file that opened it, or null when none did. */
  decryptedWith?: string | null;
  content?: ShownEntity;
}

/** The MIME tree of a message with its S/MIME layers. */
export async function showMessage(
  bytes: Uint8Array,
  source: string,
  options: ShowOptions = {},
): Promise<ShownEntity> {
  return await showNode(parseMimeTree(bytes, source), 0, source, options);
}

/** The lines `show` prints for a message. */
export async function describeMessage(
  bytes: Uint8Array,
  source: string,
  options: ShowOptions = {},
): Promise<string[]> {
  const lines: string[] = [];
  entityLines(await showMessage(bytes, source, options), 0, lines);
  return lines;
}

/** The lines `show` prints for a tree {@link showMessage} made. */
export function describeShown(entity: ShownEntity): string[] {
  const lines: string[] = [];
  entityLines(entity, 0, lines);
  return lines;
}

/** The tree as `show --json` prints it. */
export function shownJson(source: string, entity: ShownEntity): Record<string, unknown> {
  return { file: source, entity: entityJson(entity) };
}

async function showNode(
  node: MimeNode,
  depth: number,
  source: string,
  options: ShowOptions,
): Promise<ShownEntity> {
  const shown: ShownEntity = {
    headers: node.headers.map((field) => ({
      name: field.name,
      value: field.value.length > MAX_VALUE
        ? `${field.value.slice(0, MAX_VALUE)}... (${field.value.length} characters)`
        : field.value,
    })),
    parts: [],
  };
  if (node.children.length === 0) shown.bodyBytes = node.body.length;
  if (depth >= MAX_DEPTH) {
    if (node.children.length) shown.partsNotShown = node.children.length;
    return shown;
  }
  for (const child of node.children) {
    shown.parts.push(await showNode(child, depth + 1, source, options));
  }
  if (isCms(node)) shown.cms = await showCms(decodeBody(node), depth + 2, source, options);
  return shown;
}

async function showCms(
  der: Uint8Array,
  depth: number,
  source: string,
  options: ShowOptions,
): Promise<ShownCms> {
  let info: CmsInfo;
  try {
    info = inspect(der);
  } catch (err) {
    return { unreadable: reasonOf(err) };
  }
  const shown: ShownCms = { info };
  let inner: Uint8Array | undefined;
  if (info.kind === "signed-data") {
    inner = info.detached ? undefined : (await verify(der, {})).content;
  } else if (options.keys) {
    const opened = await tryDecrypt(der, options.keys);
    shown.decryptedWith = opened?.file ?? null;
    inner = opened?.content;
  }
  if (inner && inner.length > 0) {
    shown.content = await showNode(parseMimeTree(inner, source), depth, source, options);
  }
  return shown;
}

async function tryDecrypt(
  der: Uint8Array,
  keys: KeyCandidates,
): Promise<{ file: string; content: Uint8Array } | undefined> {
  for await (const key of eachCandidate(keys, der)) {
    try {
      return { file: key.file, content: await decrypt(der, key) };
    } catch (err) {
      if (!isSmimeError(err)) throw err;
    }
  }
  return undefined;
}

function entityLines(entity: ShownEntity, depth: number, lines: string[]): void {
  const pad = "  ".repeat(depth);
  for (const { name, value } of entity.headers) lines.push(`${pad}${name}: ${value}`);
  if (entity.bodyBytes !== undefined) lines.push(`${pad}[body: ${entity.bodyBytes} bytes]`);
  lines.push("");
  if (entity.partsNotShown) lines.push(`${pad}  [${entity.partsNotShown} parts deeper: not shown]`);
  for (const part of entity.parts) entityLines(part, depth + 1, lines);
  const cms = entity.cms;
  if (!cms) return;
  const cmsPad = "  ".repeat(depth + 1);
  if (!cms.info) {
    lines.push(`${cmsPad}[CMS: unreadable: ${cms.unreadable}]`, "");
    return;
  }
  lines.push(...cmsSummary(cms.info).map((line) => `${cmsPad}${line}`), "");
  if (cms.decryptedWith !== undefined) {
    lines.push(
      cms.decryptedWith === null
        ? `${cmsPad}[none of the given keys opens it]`
        : `${cmsPad}[decrypted with ${cms.decryptedWith}]`,
      "",
    );
  }
  if (cms.content) entityLines(cms.content, depth + 2, lines);
}

function entityJson(entity: ShownEntity): Record<string, unknown> {
  return {
    headers: entity.headers,
    ...(entity.bodyBytes === undefined ? {} : { body_bytes: entity.bodyBytes }),
    parts: entity.parts.map(entityJson),
    ...(entity.partsNotShown ? { parts_not_shown: entity.partsNotShown } : {}),
    ...(entity.cms ? { cms: cmsJson(entity.cms) } : {}),
  };
}

function cmsJson(cms: ShownCms): Record<string, unknown> {
  if (!cms.info) return { unreadable: cms.unreadable };
  const info = cms.info;
  const id = (i: CmsIdentifierInfo) => ({
    issuer: i.issuer ?? null,
    serial_number: i.serialNumber ?? null,
    subject_key_identifier: i.subjectKeyIdentifier ?? null,
  });
  const head = info.kind === "signed-data"
    ? {
      kind: info.kind,
      detached: info.detached,
      digest_algorithms: info.digestAlgorithms,
      certificate_count: info.certificateCount,
      signers: info.signers.map((s) => ({
        ...id(s),
        digest_algorithm: s.digestAlgorithm,
        signature_algorithm: s.signatureAlgorithm,
      })),
    }
    : {
      kind: info.kind,
      content_cipher: info.contentCipher,
      recipients: info.recipients.map((r) => ({ ...id(r), key_encryption: r.keyEncryption })),
    };
  return {
    ...head,
    ...(cms.decryptedWith === undefined ? {} : { decrypted_with: cms.decryptedWith }),
    ...(cms.content ? { content: entityJson(cms.content) } : {}),
  };
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
