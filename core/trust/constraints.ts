/**
 * Name constraints (RFC 5280 4.2.1.10, 6.1.3 (b)-(c), 6.1.4 (g)): which
 * names a CA may certify. Checked for rfc822Name (with the subject's
 * emailAddress attributes, as 4.2.1.10 requires), dNSName and
 * directoryName; a constraint of any other name type that applies to a
 * name the certificate carries can't be checked, and so fails.
 *
 * @module
 */

import { bytesToLatin1 } from "../bytes.ts";
import type { CertificateDetails } from "../cms/certificate.ts";
import { AsnError, childrenOf, parseTlv, Tag, type Tlv } from "../cms/der.ts";
import { rdnKeys } from "../cms/names.ts";
import { Oid } from "../cms/oids.ts";

/** The GeneralName types this module checks. */
type Kind = "email" | "dns" | "dir";

/** One GeneralSubtree base: a checked kind and its value, or another GeneralName type. */
type Subtree =
  | { kind: "email" | "dns"; value: string }
  | { kind: "dir"; rdns: string[] }
  | { kind: "other"; tag: number };

/** One CA's nameConstraints extension, parsed. */
export interface NameConstraints {
  /** The CA's subject, for messages. */
  by: string;
  permitted: Subtree[];
  excluded: Subtree[];
}

const NAME_TAGS: Record<number, string> = {
  0xa0: "otherName",
  0x81: "rfc822Name",
  0x82: "dNSName",
  0xa3: "x400Address",
  0xa4: "directoryName",
  0xa5: "ediPartyName",
  0x86: "uniformResourceIdentifier",
  0x87: "iPAddress",
  0x88: "registeredID",
};

/**
 * A CA certificate's nameConstraints, or undefined when it has none.
 *
 * @throws AsnError when the extension is malformed
 */
export function readNameConstraints(ca: CertificateDetails): NameConstraints | undefined {
  const ext = ca.extensions.get(Oid.nameConstraints);
  if (!ext) return undefined;
  if (ext.tag !== Tag.sequence) throw new AsnError("nameConstraints is malformed");
  const out: NameConstraints = { by: ca.subject, permitted: [], excluded: [] };
  for (const part of childrenOf(ext)) {
    if (part.tag !== 0xa0 && part.tag !== 0xa1) {
      throw new AsnError("nameConstraints is malformed");
    }
    // GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] 0, maximum [1] absent }
    const list = childrenOf(part).map((subtree) => readBase(childrenOf(subtree)[0]));
    (part.tag === 0xa0 ? out.permitted : out.excluded).push(...list);
  }
  return out;
}

function readBase(base: Tlv | undefined): Subtree {
  if (!base) throw new AsnError("GeneralSubtree without a base");
  if (base.tag === 0x81) return { kind: "email", value: bytesToLatin1(base.value).toLowerCase() };
  if (base.tag === 0x82) return { kind: "dns", value: bytesToLatin1(base.value).toLowerCase() };
  if (base.tag === 0xa4) return { kind: "dir", rdns: rdnKeys(parseTlv(base.value)) };
  return { kind: "other", tag: base.tag };
}

/** The names a certificate carries, by kind, and the tags of the others. */
function namesOf(cert: CertificateDetails): { names: Map<Kind, unknown[]>; others: number[] } {
  const names = new Map<Kind, unknown[]>([["email", []], ["dns", []], ["dir", []]]);
  const others: number[] = [];
  const subject = parseTlv(cert.subjectDer);
  if (childrenOf(subject).length > 0) names.get("dir")!.push(rdnKeys(subject));
  names.get("email")!.push(...cert.emailAddresses);
  const san = cert.extensions.get(Oid.subjectAltName);
  for (const name of san && san.tag === Tag.sequence ? childrenOf(san) : []) {
    if (name.tag === 0x82) names.get("dns")!.push(bytesToLatin1(name.value).toLowerCase());
    else if (name.tag === 0xa4) names.get("dir")!.push(rdnKeys(parseTlv(name.value)));
    else if (name.tag !== 0x81) others.push(name.tag);
  }
  return { names, others };
}

/**
 * Why `cert` breaks one of `constraints`, or undefined when it keeps them.
 * Every set applies: permitted subtrees of several CAs intersect, excluded
 * ones add up.
 */
export function nameConstraintProblem(
  cert: CertificateDetails,
  constraints: readonly NameConstraints[],
): string | undefined {
  if (constraints.length === 0) return undefined;
  const { names, others } = namesOf(cert);
  for (const nc of constraints) {
    for (const tag of others) {
      const all = [...nc.permitted, ...nc.excluded];
      if (all.some((s) => s.kind === "other" && s.tag === tag)) {
        return `"${cert.subject}" has a ${NAME_TAGS[tag] ?? "name"} that the name ` +
          `constraints of "${nc.by}" restrict, which smimepost can't check`;
      }
    }
    for (const [kind, list] of names) {
      const permitted = nc.permitted.filter((s) => s.kind === kind);
      const excluded = nc.excluded.filter((s) => s.kind === kind);
      for (const name of list) {
        const shown = kind === "dir" ? `"${cert.subject}"` : String(name);
        if (permitted.length > 0 && !permitted.some((s) => within(name, s))) {
          return `${shown} is outside the names "${nc.by}" may certify (name constraints)`;
        }
        if (excluded.some((s) => within(name, s))) {
          return `${shown} is excluded by the name constraints of "${nc.by}"`;
        }
      }
    }
  }
  return undefined;
}

function within(name: unknown, subtree: Subtree): boolean {
  switch (subtree.kind) {
    case "email":
      return emailWithin(name as string, subtree.value);
    case "dns":
      return dnsWithin(name as string, subtree.value);
    case "dir": {
      const rdns = name as string[];
      return subtree.rdns.length <= rdns.length && subtree.rdns.every((r, i) => r === rdns[i]);
    }
    default:
      return false;
  }
}

// RFC 5280 4.2.1.10: "user@host" is one mailbox, "host" every mailbox at
// that host, ".example.com" every mailbox at a host below example.com.
function emailWithin(address: string, constraint: string): boolean {
  const at = address.lastIndexOf("@");
  const domain = address.slice(at + 1);
  if (constraint.includes("@")) return address === constraint;
  if (constraint.startsWith(".")) return domain.endsWith(constraint);
  return domain === constraint;
}

// A dNSName constraint covers the host and every host below it.
function dnsWithin(host: string, constraint: string): boolean {
  if (constraint === "") return true;
  if (constraint.startsWith(".")) return host.endsWith(constraint);
  return host === constraint || host.endsWith("." + constraint);
}
