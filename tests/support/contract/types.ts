/**
 * What a plugin's mod_test.ts hands the contract suite: its targets (the
 * plugin in each of its ways in, pointed at a local server), and the
 * helpers to write their options.
 *
 * @module
 */
import type { DeliveryFields, DeliveryPlugin } from "../../../core/deliver/types.ts";

/**
 * What a target talks to: "sink", SMTP without a login (the sink); "login",
 * SMTP that needs STARTTLS and AUTH (the Postfix rig, and npm smtp-server
 * for refusals); "api", a transmissions API (the fake API).
 */
export type ContractKind = "sink" | "login" | "api";

/** Where a target delivers to. */
export interface Endpoint {
  host: string;
  port: number;
  /** STARTTLS and AUTH (the rig's submission port). */
  login?: { user: string; password: string; caFile: string };
  /** The API key for HTTP targets. */
  apiKey?: string;
}

/** What a target put on the wire for one message. */
export interface Wire {
  /** Header fields added in front of the sealed message: lower-cased name -> unfolded value. */
  headers: Map<string, string>;
  /** The JSON body of a transmission (API targets). */
  body?: Record<string, unknown>;
}

/** One way into the platform (SMTP, HTTP), pointed at a local server. */
export interface ContractTarget {
  /** Names the target when a plugin has more than one: "http". */
  mode?: string;
  kind: ContractKind;
  /** Header fields the target puts in front of the message, in order. */
  headers: string[];
  /** Options pointing at `endpoint`. */
  options(endpoint: Endpoint): Record<string, unknown>;
  /**
   * Checks the per-message fields a message was given ({@link EVERY_FIELD})
   * on the wire: each the target honours shows there, over the profile's.
   * Absent: the target honours none, and they change nothing.
   */
  fields?: (wire: Wire) => void;
}

/** What a plugin's mod_test.ts tells the suite. */
export interface ContractFixture {
  /** Every way in the plugin has. */
  targets: ContractTarget[];
}

/**
 * The SMTP options of an endpoint, for a fixture's `options`: host and port,
 * and STARTTLS + AUTH when the endpoint has a login (the rig).
 */
export function smtpOptions(e: Endpoint): Record<string, unknown> {
  const base = { host: e.host, port: e.port };
  if (!e.login) return base;
  return {
    ...base,
    tls: "require",
    tls_ca_file: e.login.caFile,
    tls_servername: "localhost",
    user: e.login.user,
    password: e.login.password,
  };
}

/** The transmissions API base of an endpoint (the fake API speaks plain http). */
export function apiBase(e: Endpoint): string {
  return `http://${e.host}:${e.port}/api/v1`;
}

/** Every per-message field a manifest can give, each with a value no profile uses. */
export const EVERY_FIELD: Readonly<DeliveryFields> = Object.freeze({
  campaign_id: "field-campaign",
  metadata: { from_field: "yes" },
  tags: ["field-tag"],
  virtual_mta: "field-vmta",
  job: "field-job",
  binding: "field-binding",
});

/** A target with its plugin and test-name prefix. */
export interface Bound extends ContractTarget {
  plugin: DeliveryPlugin;
  name: string;
}
