/**
 * momentum runs the shared plugin contract suite over SMTP (into the sink,
 * X-MSYS-API and the site's binding header) and over its REST API (the fake
 * transmissions API).
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
      headers: ["X-MSYS-API", "X-Binding"],
      options: (e) => ({
        ...smtpOptions(e),
        binding_header: "X-Binding",
        binding: "contract",
        campaign_id: "contract-42",
        metadata: { profile: "p" },
      }),
      fields: ({ headers }) => {
        const api = JSON.parse(headers.get("x-msys-api")!);
        assertEquals(api.campaign_id, EVERY_FIELD.campaign_id);
        assertEquals(api.metadata, { profile: "p", from_field: "yes" });
        assertEquals(api.tags, EVERY_FIELD.tags);
        assertEquals(headers.get("x-binding"), EVERY_FIELD.binding);
      },
    },
    {
      mode: "http",
      kind: "api",
      headers: [],
      options: (e) => ({
        transport: "http",
        api_url: apiBase(e),
        api_key: e.apiKey ?? "unused-key",
        return_path: "bounces@example.com",
        metadata: { profile: "p" },
      }),
      fields: ({ body }) => {
        assertEquals(body!.campaign_id, EVERY_FIELD.campaign_id);
        assertEquals(body!.metadata, { profile: "p", from_field: "yes" });
      },
    },
  ],
});
