/**
 * Options of the powermta plugin: SMTP injection with X-Virtual-MTA and
 * X-Job (honoured where the source enables process-x-virtual-mta /
 * process-x-job), or PowerMTA 5's HTTP transmissions API.
 *
 * @module
 */
import { z } from "zod";
import { modeRequirements, modeShape } from "../../core/deliver/modes.ts";
import { TOKEN } from "../../core/deliver/headers.ts";

const token = z.string().regex(TOKEN, "no whitespace or control characters");

/** powermta options, flat under the profile. */
export const options = z.object({
  ...modeShape,
  virtual_mta: token.optional(),
  job: token.optional(),
  // PowerMTA's API refuses a transmission without return_path (FIELD.md).
}).strict().superRefine(modeRequirements({ http: ["return_path"] }));

/** Validated powermta options. */
export type Options = z.infer<typeof options>;
