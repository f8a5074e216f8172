/**
 * Opening an SMTP session: greeting, EHLO (HELO fallback), STARTTLS per the
 * TLS mode, and AUTH. Produces the {@link SmtpSession} the client keeps.
 *
 * @module
 */
import { SmimeError } from "../errors.ts";
import { authenticate } from "./auth.ts";
import type { SmtpConnection } from "./connection.ts";
import { checkPin, tlsConnectOptions } from "./tls_options.ts";
import type { SmtpClientOptions, SmtpReply, SmtpSession, SmtpTimeouts } from "./types.ts";

/** EHLO keywords and parameters (RFC 5321 4.1.1.1); "AUTH=LOGIN" is read as AUTH. */
export function parseExtensions(reply: SmtpReply): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const params = (m[2] ?? "").trim();
    const before = out.get(keyword);
    out.set(keyword, before && params ? `${before} ${params}` : before || params);
  }
  return out;
}

async function ask(
  conn: SmtpConnection,
  line: string,
  label: string,
  timeout: number,
  discardAfter = false,
): Promise<SmtpReply> {
  const pending = conn.expect(label, timeout, discardAfter);
  pending.catch(() => {});
  await conn.command([line], timeout);
  return await pending;
}

function refused(conn: SmtpConnection, what: string, reply: SmtpReply): SmimeError {
  const code = reply.code >= 400 && reply.code < 500 ? "E_TEMPFAIL" : "E_UNAVAILABLE";
  return new SmimeError(code, `Cannot ${what} with ${conn.where}: ${reply.text}`);
}

async function hello(conn: SmtpConnection, name: string, timeout: number) {
  const ehlo = await ask(conn, `EHLO ${name}`, "EHLO", timeout);
  if (ehlo.code === 250) return parseExtensions(ehlo);
  if (ehlo.code !== 500 && ehlo.code !== 502) throw refused(conn, "say EHLO", ehlo);
  const helo = await ask(conn, `HELO ${name}`, "HELO", timeout);
  if (helo.code !== 250) throw refused(conn, "say HELO", helo);
  return new Map<string, string>();
}

function tlsLine(session: SmtpSession): string {
  return `*: TLS established (${session.tlsProtocol ?? "?"}, ${session.tlsCipher ?? "?"})`;
}

/**
 * The default EHLO name (RFC 5321 4.1.4): this host's fully qualified name,
 * or, when it has none (a bare "vm" or "localhost"), the address literal of
 * the connection's own end, e.g. "[192.0.2.7]" or "[IPv6:2001:db8::7]".
 */
export function ehloName(hostname: string | undefined, localAddress: string | undefined): string {
  const host = hostname?.trim().toLowerCase() ?? "";
  const fqdn = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/;
  if (fqdn.test(host) && !host.endsWith(".localdomain")) return host;
  if (!localAddress) return "localhost";
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(localAddress);
  if (v4) return `[${v4[1]}]`;
  return `[IPv6:${localAddress.replace(/%.*$/, "")}]`;
}

let hostNameRead: string | undefined | null = null;

/** This host's name, read once: Deno's when allowed, else the kernel's. */
function localHostName(): string | undefined {
  if (hostNameRead !== null) return hostNameRead;
  try {
    hostNameRead = Deno.hostname();
  } catch {
    try {
      hostNameRead = Deno.readTextFileSync("/proc/sys/kernel/hostname");
    } catch {
      hostNameRead = undefined;
    }
  }
  return hostNameRead;
}

/**
 * Runs greeting, EHLO, STARTTLS and AUTH on a fresh connection.
 *
 * @throws {SmimeError} E_UNAVAILABLE (554 greeting, STARTTLS missing under
 *   `require`, certificate problems), E_TEMPFAIL (4xx, a refused STARTTLS
 *   that was offered), E_AUTH, E_CONFIG (AUTH over plain text not allowed)
 */
export async function openSession(
  conn: SmtpConnection,
  options: SmtpClientOptions,
  timeouts: SmtpTimeouts,
): Promise<SmtpSession> {
  const mode = options.tls.mode;
  const name = options.ehloName ?? ehloName(localHostName(), conn.localAddress);
  const session: SmtpSession = {
    greeting: { code: 0, lines: [], text: "" },
    extensions: new Map(),
    tls: false,
    authenticated: false,
  };
  const markTls = () => {
    const socket = conn.tlsSocket!;
    checkPin(socket, options.tls, conn.where);
    session.tls = true;
    session.tlsProtocol = socket.getProtocol() ?? undefined;
    session.tlsCipher = socket.getCipher()?.name;
    conn.log(tlsLine(session));
  };
  if (mode === "implicit") markTls();
  session.greeting = await conn.expect("greeting", timeouts.greeting);
  if (session.greeting.code !== 220) throw refused(conn, "start SMTP", session.greeting);
  session.extensions = await hello(conn, name, timeouts.ehlo);

  if (mode === "auto" || mode === "require") {
    if (session.extensions.has("STARTTLS")) {
      const reply = await ask(conn, "STARTTLS", "STARTTLS", timeouts.starttls, true);
      if (reply.code !== 220) {
        // Offered, then refused: suspicious (a stripping middlebox?), never silently plain.
        const code = mode === "auto" || reply.code < 500 ? "E_TEMPFAIL" : "E_UNAVAILABLE";
        throw new SmimeError(code, `Cannot start TLS with ${conn.where}: ${reply.text}`);
      }
      await conn.upgrade(tlsConnectOptions(options.host, options.tls), timeouts.starttls);
      markTls();
      session.extensions = await hello(conn, name, timeouts.ehlo);
    } else if (mode === "require") {
      throw new SmimeError(
        "E_TLS",
        `Cannot start TLS with ${conn.where}: server does not offer STARTTLS`,
      );
    } else {
      conn.log("*: STARTTLS not offered; going on without TLS");
    }
  }

  if (options.auth) {
    if (!session.tls && !options.allowPlaintextAuth) {
      throw new SmimeError(
        "E_CONFIG",
        `Cannot log in to ${conn.where}: the connection is not encrypted and sending the ` +
          "password in clear text was not allowed (use TLS, or allow it: allow_plaintext_auth = true in " +
          "the profile, or --option allow_plaintext_auth=true)",
      );
    }
    session.authMethod = await authenticate(conn, session.extensions, options.auth, timeouts.auth);
    session.authenticated = true;
  }
  return session;
}
