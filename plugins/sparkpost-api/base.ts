/**
 * Where the transmissions API lives: the SPARKPOST_HOST handling of the old
 * tool. A bare host gets `https://` and `/api/v1`; a full URL is used as
 * given; plain `http://` works (for a local test server or an on-premises
 * listener) with a warning, because the API key then crosses the wire in clear.
 *
 * @module
 */
import { SmimeError } from "../../core/errors.ts";

/** The SparkPost API base in the US region (the default). */
export const SPARKPOST_US_BASE = "https://api.sparkpost.com/api/v1";
/** The SparkPost API base in the EU region. */
export const SPARKPOST_EU_BASE = "https://api.eu.sparkpost.com/api/v1";

const API_PATH = "/api/v1";

/**
 * Resolves the API base URL (without `/transmissions`) from a configured host.
 *
 * - `undefined` or empty: the region's SparkPost base (US by default);
 * - a bare host, `host:port` or `host/path`: `https://` is added, and
 *   `/api/v1` when there is no path;
 * - a full `https://` or `http://` URL: used as given, `/api/v1` added when
 *   it has no path; a trailing `/transmissions` is dropped. User info, query
 *   and fragment are dropped too.
 *
 * An explicit host wins over the region.
 *
 * @param host SPARKPOST_HOST / the `host` option: bare host or URL
 * @param region "us" (default) or "eu", used only when no host is given
 * @param warn receives "sending the API key over plain http to <origin>"
 * @returns e.g. "https://api.sparkpost.com/api/v1", never with a trailing slash
 * @throws {SmimeError} E_CONFIG when the host is not a host name or an http(s) URL
 */
export function resolveApiBase(
  host: string | undefined,
  region: "us" | "eu" = "us",
  warn?: (line: string) => void,
): string {
  const given = host?.trim() ?? "";
  if (given === "") return region === "eu" ? SPARKPOST_EU_BASE : SPARKPOST_US_BASE;
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given);
  let url: URL;
  try {
    url = new URL(hasScheme ? given : `https://${given}`);
  } catch (err) {
    throw new SmimeError(
      "E_CONFIG",
      `Cannot use API host ${JSON.stringify(given)}: not a host name or URL`,
      { cause: err },
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SmimeError(
      "E_CONFIG",
      `Cannot use API host ${url.protocol}//${url.host}: only https:// and http:// URLs work`,
    );
  }
  if (url.hostname === "") {
    throw new SmimeError("E_CONFIG", `Cannot use API host ${JSON.stringify(given)}: no host name`);
  }
  let path = url.pathname.replace(/\/+$/, "");
  path = path.replace(/\/transmissions$/i, "");
  if (path === "") path = API_PATH;
  if (url.protocol === "http:") warn?.(`sending the API key over plain http to ${url.origin}`);
  return `${url.origin}${path}`;
}
