/**
 * sparkpost-smtp runs the shared plugin contract suite against servers that
 * want a login, as SparkPost injection does (STARTTLS and AUTH): the Postfix
 * rig and npm smtp-server; plus its own checks of the X-MSYS-API header and
 * the SMTP_Injection user.
 */
import { assertEquals, assertIncludes, assertSmimeError } from "../../tests/support/assert.ts";
import { EVERY_FIELD, runContract, smtpOptions } from "../../tests/support/contract/mod.ts";
import { sampleMessage } from "../../core/deliver/test_message.ts";
import { plugin } from "./mod.ts";
import { headersFor, injectionUser } from "./transport.ts";

runContract(plugin, {
  targets: [{
    kind: "login",
    headers: ["X-MSYS-API"],
    options: (e) => {
      const { user: _user, password, ...smtp } = smtpOptions(e);
      return {
        ...smtp,
        api_key: password ?? "unused-key",
        campaign_id: "contract-42",
        metadata: { profile: "p" },
      };
    },
    fields: ({ headers }) => {
      const api = JSON.parse(headers.get("x-msys-api")!);
      assertEquals(api.campaign_id, EVERY_FIELD.campaign_id);
      assertEquals(api.metadata, { profile: "p", from_field: "yes" });
      assertEquals(api.tags, EVERY_FIELD.tags);
      assertEquals([api.options.open_tracking, api.options.click_tracking], [false, false]);
    },
  }],
});

const options = plugin.options.parse({ api_key: "k", campaign_id: "profile-campaign" });

Deno.test("sparkpost-smtp: the X-MSYS-API header turns tracking off for sealed mail, and refuses asking for it", async () => {
  const [header] = headersFor(options, sampleMessage("signed"), { tags: ["a"] });
  const json = JSON.parse(header!.slice("X-MSYS-API:".length).replace(/\r\n/g, ""));
  assertEquals(json, {
    campaign_id: "profile-campaign",
    tags: ["a"],
    options: { open_tracking: false, click_tracking: false, transactional: true },
  });
  const tracking = plugin.options.parse({ api_key: "k", open_tracking: true });
  const plain = JSON.parse(
    headersFor(tracking, sampleMessage("plain"))[0]!.slice(11).replace(/\r\n/g, ""),
  );
  assertEquals(plain.options.open_tracking, true);
  const err = await assertSmimeError(
    () => headersFor(tracking, sampleMessage("encrypted")),
    "E_CONFIG",
  );
  assertIncludes(err.message, "breaks the S/MIME signature");
});

Deno.test("sparkpost-smtp: the user is SMTP_Injection, with the subaccount when there is one", () => {
  assertEquals(injectionUser(undefined), "SMTP_Injection");
  assertEquals(injectionUser(123), "SMTP_Injection:X-MSYS-SUBACCOUNT=123");
});
