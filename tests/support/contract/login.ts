/**
 * The contract cases of a target that must log in (STARTTLS and AUTH):
 * against the Postfix rig (delivery compared byte for byte, aborts, the
 * per-message fields, no form of the password in any line) and npm
 * smtp-server (a refused recipient is a result).
 *
 * @module
 */
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejectsWith,
  assertSmimeError,
} from "../assert.ts";
import { toLf } from "../helpers.ts";
import { postfixAvailable, sharedPostfix } from "../rig.ts";
import type { PostfixRig } from "../rig.ts";
import { sampleMessage } from "../../../core/deliver/test_message.ts";
import { makeCert, startSmtpServer } from "../../../core/smtp/test_helpers.ts";
import type { TestServer } from "../../../core/smtp/test_helpers.ts";
import {
  assertHeadersOnlyInFront,
  assertNoSecret,
  assertOneResultPerRecipient,
  checkFields,
  create,
  recorder,
  withOpen,
} from "./common.ts";
import type { Bound, Endpoint } from "./types.ts";
import { EVERY_FIELD } from "./types.ts";

/** Evaluated once: under CI=true a missing rig throws here, failing the file. */
export const hasPostfix = postfixAvailable();

/** Recipients unique to one test run, so rig deliveries never mix. */
function uniqueRecipients(n: number, tag: string): string[] {
  const id = crypto.randomUUID().slice(0, 8);
  return Array.from({ length: n }, (_, i) => `${tag}-${id}-${i}@example.com`);
}

/** Login as the rig's SMTP_Injection user; `password` may be wrong. */
function rigEndpoint(rig: PostfixRig, password = rig.password): Endpoint {
  return {
    host: rig.host,
    port: rig.submitPort,
    login: { user: rig.user, password, caFile: rig.caFile },
  };
}

export async function checkRigRedaction(target: Bound, rig: PostfixRig): Promise<void> {
  const { lines, context } = recorder();
  const [to] = uniqueRecipients(1, "redact");
  const good = create(target, rigOptions(target, rig), context);
  await withOpen(good, () => good.deliver(sampleMessage("signed", [to!])));
  await rig.waitForRecipient(to!);
  assertIncludes(lines.join("\n"), "(STARTTLS)");
  assertNoSecret(lines.join("\n"), rig.password, rig.user);

  const wrong = `wrong-${crypto.randomUUID()}`;
  const refused = create(target, rigOptions(target, rig, wrong), context);
  const err = await assertSmimeError(() => refused.open(), "E_AUTH");
  await refused.close();
  assertIncludes(err.message, "535");
  assertNoSecret([...lines, err.message].join("\n"), wrong, rig.user);
}

/** The target's options for the rig's STARTTLS + AUTH port. */
function rigOptions(target: Bound, rig: PostfixRig, password?: string): Record<string, unknown> {
  return target.options(rigEndpoint(rig, password));
}

/** The refusals of the refused-recipient case, by address. */
const REFUSALS: Readonly<Record<string, string>> = {
  "carol@example.com": "550 5.1.1 <carol@example.com>: Recipient address rejected: User unknown",
  "dave@example.com": "452 4.2.2 <dave@example.com>: mailbox full",
};

/**
 * npm smtp-server with STARTTLS (a throwaway certificate for localhost) and
 * AUTH PLAIN/LOGIN for any user with `password`, refusing {@link REFUSALS}:
 * a server nobody here wrote, for targets that must log in.
 */
async function loginServer(
  password: string,
): Promise<{ server: TestServer; endpoint: Endpoint; close(): Promise<void> }> {
  const cert = await makeCert();
  const dir = await Deno.makeTempDir({ prefix: "smimepost-contract-tls-" });
  const caFile = join(dir, "ca.pem");
  await Deno.writeTextFile(caFile, cert.cert);
  const server = await startSmtpServer({
    key: cert.key,
    cert: cert.cert,
    disabledCommands: [],
    authOptional: false,
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, callback) {
      if (auth.password === password) return callback(null, { user: auth.username });
      callback(Object.assign(new Error("5.7.8 Authentication failed"), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const refusal = REFUSALS[address.address];
      if (!refusal) return callback();
      const [code, ...text] = refusal.split(" ");
      callback(Object.assign(new Error(text.join(" ")), { responseCode: Number(code) }));
    },
  });
  return {
    server,
    endpoint: {
      host: "127.0.0.1",
      port: server.port,
      login: { user: "contract-user", password, caFile },
    },
    close: async () => {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

export function defineLoginChecks(target: Bound): void {
  const { name } = target;
  const ignore = !hasPostfix;

  Deno.test(`${name}: a refused recipient is a result, not an exception: 550 rejected, 452 deferred, verbatim`, async () => {
    const login = await loginServer(`pw-${crypto.randomUUID()}`);
    const { context } = recorder();
    const message = sampleMessage("signed", [
      "bob@example.com",
      "carol@example.com",
      "dave@example.com",
    ]);
    try {
      const transport = create(target, target.options(login.endpoint), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      const [b, c, d] = result.recipients;
      assertEquals(b!.status, "accepted");
      assertEquals({ status: c!.status, code: c!.code, enhanced: c!.enhanced }, {
        status: "rejected",
        code: 550,
        enhanced: "5.1.1",
      });
      assertEquals(c!.response, REFUSALS["carol@example.com"]);
      assertEquals({ status: d!.status, code: d!.code }, { status: "deferred", code: 452 });
      assertEquals(d!.response, REFUSALS["dave@example.com"]);
      assertEquals(login.server.received.map((m) => m.to), [["bob@example.com"]]);
    } finally {
      await login.close();
    }
  });

  Deno.test({
    name: `${name}: delivers to every recipient, one result each, in order, the server's words`,
    ignore,
    async fn() {
      const rig = await sharedPostfix();
      const { lines, context } = recorder();
      const message = sampleMessage("signed", uniqueRecipients(3, "contract"));
      const transport = create(target, rigOptions(target, rig), context);
      const result = await withOpen(transport, () => transport.deliver(message));
      assertOneResultPerRecipient(result, message);
      assertEquals(result.recipients.map((r) => r.status), ["accepted", "accepted", "accepted"]);
      assert(result.id, "the queue id of the final 250");
      assert(
        result.recipients.every((r) => /^250 /.test(r.response) && r.response.includes(result.id!)),
        "each recipient has Postfix's final reply, verbatim",
      );
      assertIncludes(lines.join("\n"), `Opened SMTP connection (STARTTLS) to ${rig.host}`);
      for (const to of message.recipients) {
        const delivered = await rig.waitForRecipient(to);
        assertEquals(delivered.meta.recipient?.toLowerCase(), to);
        const headers = assertHeadersOnlyInFront(
          delivered.eml,
          toLf(message.bytes),
          target.headers,
        );
        const msys = headers.get("x-msys-api");
        if (msys !== undefined) {
          const api = JSON.parse(msys);
          assertEquals([api.options.open_tracking, api.options.click_tracking], [false, false]);
        }
      }
    },
  });

  Deno.test({
    name: `${name}: an already-aborted signal rejects open and deliver, leaks nothing`,
    ignore,
    async fn() {
      const rig = await sharedPostfix();
      const { context } = recorder();
      const reason = new Error("stop now");
      const first = create(target, rigOptions(target, rig), context);
      await assertRejectsWith(() => first.open(AbortSignal.abort(reason)), reason);
      await first.close();
      const second = create(target, rigOptions(target, rig), context);
      await withOpen(second, async () => {
        const message = sampleMessage("signed", uniqueRecipients(1, "abort"));
        await assertRejectsWith(() => second.deliver(message, AbortSignal.abort(reason)), reason);
      });
    },
  });

  Deno.test({
    name: `${name}: the per-message fields reach the wire`,
    ignore,
    async fn() {
      const rig = await sharedPostfix();
      const { context } = recorder();
      const message = sampleMessage("signed", uniqueRecipients(1, "fields"));
      const transport = create(target, rigOptions(target, rig), context);
      await withOpen(transport, () => transport.deliver(message, undefined, EVERY_FIELD));
      const delivered = await rig.waitForRecipient(message.recipients[0]!);
      const headers = assertHeadersOnlyInFront(delivered.eml, toLf(message.bytes), target.headers);
      checkFields(target, { headers });
    },
  });
}
