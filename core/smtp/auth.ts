/**
 * SMTP AUTH (RFC 4954) with PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195).
 * Secrets never reach the transcript or an error message: every line that
 * carries one is shown as "****".
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac } from "node:crypto";
import { SmimeError } from "../errors.ts";
import type { SmtpConnection } from "./connection.ts";
import type { SmtpAuthMethod, SmtpReply } from "./types.ts";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** The mechanisms the server offers, from its EHLO AUTH keyword, upper case. */
export function offeredMechanisms(extensions: Map<string, string>): string[] {
  return (extensions.get("AUTH") ?? "").toUpperCase().split(/\s+/).filter(Boolean);
}

/**
 * Picks the mechanism: the one asked for, or PLAIN then LOGIN as offered
 * (CRAM-MD5 only when asked: it needs the password stored in clear on the server).
 *
 * @throws {SmimeError} E_CONFIG when the server offers no usable mechanism
 */
export function chooseMechanism(
  offered: string[],
  method: SmtpAuthMethod,
  where: string,
): "PLAIN" | "LOGIN" | "CRAM-MD5" {
  const wanted = method === "auto" ? ["PLAIN", "LOGIN"] : [method.toUpperCase()];
  const found = wanted.find((m) => offered.includes(m));
  if (found) return found as "PLAIN" | "LOGIN" | "CRAM-MD5";
  const offers = offered.length ? `it offers ${offered.join(", ")}` : "it offers no AUTH";
  throw new SmimeError(
    "E_CONFIG",
    `Cannot log in to ${where}: AUTH ${wanted.join(" or ")} is not offered (${offers})`,
  );
}

function authFailure(reply: SmtpReply, where: string, user: string): SmimeError {
  const code = reply.code >= 400 && reply.code < 500 ? "E_TEMPFAIL" : "E_AUTH";
  return new SmimeError(
    code,
    `Cannot log in to ${where} as ${JSON.stringify(user)}: ${reply.text}`,
  );
}

/**
 * Authenticates on an open connection.
 *
 * @returns the mechanism used
 * @throws {SmimeError} E_AUTH on 5xx (535, 534, 530...) with the reply verbatim;
 *   E_TEMPFAIL on 4xx; E_CONFIG when no mechanism fits
 */
export async function authenticate(
  conn: SmtpConnection,
  extensions: Map<string, string>,
  auth: { user: string; password: string; method?: SmtpAuthMethod },
  timeout: number,
): Promise<string> {
  const mechanism = chooseMechanism(
    offeredMechanisms(extensions),
    auth.method ?? "auto",
    conn.where,
  );
  const step = async (line: string, shown: string, expect: number): Promise<SmtpReply> => {
    const pending = conn.expect("AUTH", timeout);
    pending.catch(() => {});
    await conn.command([line], timeout, [shown]);
    const reply = await pending;
    if (reply.code !== expect) {
      // A 334 where 235 was due: end the exchange (RFC 4954 4) before failing.
      if (reply.code === 334) {
        const cancelled = conn.expect("AUTH", timeout);
        cancelled.catch(() => {});
        await conn.command(["*"], timeout);
        await cancelled.catch(() => {});
      }
      throw authFailure(reply, conn.where, auth.user);
    }
    return reply;
  };
  if (mechanism === "PLAIN") {
    await step(`AUTH PLAIN ${b64(`\0${auth.user}\0${auth.password}`)}`, "AUTH PLAIN ****", 235);
  } else if (mechanism === "LOGIN") {
    await step("AUTH LOGIN", "AUTH LOGIN", 334);
    await step(b64(auth.user), "****", 334);
    await step(b64(auth.password), "****", 235);
  } else {
    const challenge = await step("AUTH CRAM-MD5", "AUTH CRAM-MD5", 334);
    const text = Buffer.from(challenge.lines[0] ?? "", "base64").toString("utf8");
    const digest = createHmac("md5", auth.password).update(text).digest("hex");
    await step(b64(`${auth.user} ${digest}`), "****", 235);
  }
  return mechanism;
}
