/**
 * Options of the momentum plugin: SMTP injection (relay hosts inject
 * without AUTH) with X-MSYS-API and a site-defined binding header, or
 * Momentum's REST transmissions API.
 *
 * @module
 */
import { z } from "zod";
import { modeRequirements, modeShape } from "../../core/deliver/modes.ts";
import { campaignIdOption } from "../sparkpost/fields.ts";

// Momentum's REST API requires return_path (FIELD.md).
const requirements = modeRequirements({ http: ["return_path"] });

/** momentum options, flat under the profile. */
export const options = z.object({
  ...modeShape,
  // Binding / IP-pool choice is site policy (Lua), driven by a header the site names.
  binding_header: z.string().regex(/^[!-9;-~]+$/, "a header field name").optional(),
  binding: z.string().min(1).optional(),
  campaign_id: campaignIdOption.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
}).strict().superRefine((o, ctx) => {
  requirements(o, ctx);
  if (o.binding !== undefined && o.binding_header === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["binding_header"],
      message: "required when binding is set",
    });
  }
});

/** Validated momentum options. */
export type Options = z.infer<typeof options>;
