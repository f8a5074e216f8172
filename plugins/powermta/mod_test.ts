/**
 * powermta runs the shared plugin contract suite over SMTP (into the sink,
 * X-Virtual-MTA and X-Job) and over PowerMTA 5's HTTP API (the fake
 * transmissions API, only the fields PowerMTA accepts).
 */
import { assertEquals } from "../../tests/support/assert.ts";
import {
  apiBase,
  EVERY_FIELD,
  runContract,
  smtpOptions,
} from "../../tests/support/contract/mod.ts";
import { plugin } from "./mod.ts";

runContract(plugin, {
  targets: [
    {
      kind: "sink",
      headers: ["X-Virtual-MTA", "X-Job"],
      options: (e) => ({ ...smtpOptions(e), virtual_mta: "pool-contract", job: "job-42" }),
      fields: ({ headers }) => {
        assertEquals(headers.get("x-virtual-mta"), EVERY_FIELD.virtual_mta);
        assertEquals(headers.get("x-job"), EVERY_FIELD.job);
      },
    },
    {
      mode: "http",
      kind: "api",
      headers: [],
      options: (e) => ({
        transport: "http",
        // As the example config writes it: the endpoint, /transmissions included.
        api_url: `${apiBase(e)}/transmissions`,
        api_key: e.apiKey ?? "unused-key",
        return_path: "bounces@example.com",
        job: "job-42",
      }),
      fields: ({ body }) => {
        // The job id is PowerMTA's campaign_id; nothing else it would refuse goes along.
        assertEquals(body!.campaign_id, EVERY_FIELD.job);
        assertEquals(Object.keys(body!).sort(), [
          "campaign_id",
          "content",
          "recipients",
          "return_path",
        ]);
      },
    },
  ],
});
