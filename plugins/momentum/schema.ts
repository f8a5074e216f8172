/**
 * Options of the momentum plugin: SMTP injection (relay hosts inject
 * without AUTH) with X-MSYS-API and a site-defined binding header, or
 * Momentum's REST transmissions API.
 *
 * @module
 */
import { z } from "zod";
import { modeShape, requireModeOptions } from "../../core/deliver/modes.ts";

/** momentum options, flat under the profile. */
export const options = z.object({
  ...modeShape,
  // Binding / IP-pool choice is site policy (Lua), driven by a header the site names.
  binding_header: z.string().regex(/^[!-9;-~]+$/, "a header field name").optional(),
  binding: z.string().min(1).optional(),
  campaign_id: z.string().max(64).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  tags: z.array(z.string()).optional(),
}).strict().superRefine((o, ctx) => {
  requireModeOptions(o, ctx);
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
