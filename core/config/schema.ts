/**
 * What the configuration layer needs to know about a plugin's zod schema:
 * its keys (for unknown-key suggestions), each field's accepted kinds (to
 * coerce environment and `--option` strings), and one-line renderings of zod
 * issues that never show a secret's value.
 *
 * @module
 */
import type { z } from "zod";

/** The JSON-ish kinds a field accepts; "any" when it takes anything. */
export type FieldKind = "string" | "number" | "boolean" | "array" | "object" | "any";

// zod 4 keeps each schema's definition in `_zod.def`; only the parts read here.
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: readonly z.ZodType[];
  values?: readonly unknown[];
  entries?: Record<string, unknown>;
  element?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch"]);

/** The schema under optional/default/nullable/readonly/catch and pipe inputs. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let depth = 0; depth < 20; depth++) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else break;
  }
  return current;
}

/** The fields of an object schema (through wrappers and pipes), or undefined if it is not one. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = defOf(unwrap(schema));
  return def.type === "object" ? def.shape : undefined;
}

/** The literal values a field is limited to (enum, literal, union of those), or undefined. */
export function literalsOf(field: z.ZodType): unknown[] | undefined {
  const def = defOf(unwrap(field));
  if (def.type === "literal") return [...(def.values ?? [])];
  if (def.type === "enum") return Object.values(def.entries ?? {});
  if (def.type === "union") {
    const all: unknown[] = [];
    for (const option of def.options ?? []) {
      const values = literalsOf(option);
      if (!values) return undefined;
      all.push(...values);
    }
    return all;
  }
  return undefined;
}

/** The kinds of value a field accepts. */
export function kindsOf(field: z.ZodType): Set<FieldKind> {
  const inner = unwrap(field);
  const def = defOf(inner);
  const literals = literalsOf(inner);
  if (literals) return new Set(literals.map((v) => kindOfValue(v)));
  switch (def.type) {
    case "string":
    case "template_literal":
      return new Set(["string"]);
    case "number":
    case "bigint":
      return new Set(["number"]);
    case "boolean":
      return new Set(["boolean"]);
    case "array":
    case "tuple":
    case "set":
      return new Set(["array"]);
    case "object":
    case "record":
    case "map":
      return new Set(["object"]);
    case "union": {
      const kinds = new Set<FieldKind>();
      for (const option of def.options ?? []) for (const k of kindsOf(option)) kinds.add(k);
      return kinds;
    }
    default:
      return new Set(["any"]);
  }
}

function kindOfValue(value: unknown): FieldKind {
  if (typeof value === "string") return "string";
  if (typeof value === "number" || typeof value === "bigint") return "number";
  if (typeof value === "boolean") return "boolean";
  if (Array.isArray(value)) return "array";
  return value !== null && typeof value === "object" ? "object" : "any";
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The outcome of coercing a string: a value, or what was expected. */
export type Coerced = { value: unknown } | { expected: string };

/**
 * Coerces an environment or `--option` string to what the field accepts:
 * numbers, booleans (1/true/yes/on, 0/false/no/off), arrays (JSON or
 * comma-separated), tables (JSON). Strings stay strings.
 */
export function coerceText(field: z.ZodType | undefined, text: string): Coerced {
  const kinds = field ? kindsOf(field) : new Set<FieldKind>(["any"]);
  if (kinds.has("string") || kinds.has("any")) return { value: text };
  const trimmed = text.trim();
  if (kinds.has("number") && NUMBER.test(trimmed)) return { value: Number(trimmed) };
  if (kinds.has("boolean")) {
    const lower = trimmed.toLowerCase();
    if (TRUE.has(lower)) return { value: true };
    if (FALSE.has(lower)) return { value: false };
  }
  if (kinds.has("array")) {
    if (trimmed.startsWith("[")) {
      const parsed = parseJson(trimmed);
      if (Array.isArray(parsed)) return { value: parsed };
    } else {
      return { value: trimmed === "" ? [] : trimmed.split(",").map((s) => s.trim()) };
    }
  }
  if (kinds.has("object")) {
    const parsed = parseJson(trimmed);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      return { value: parsed };
    }
  }
  return { expected: [...kinds].map(kindName).join(" or ") };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function kindName(kind: FieldKind | string): string {
  switch (kind) {
    case "number":
      return "a number";
    case "int":
      return "an integer";
    case "boolean":
      return "a boolean (true/false, yes/no, 1/0)";
    case "array":
      return "an array";
    case "object":
    case "record":
      return "a table (JSON object)";
    case "string":
      return "a string";
    default:
      return kind;
  }
}

/** How a value is shown in an error: quoted text, or only its kind for secrets. */
export function showValue(value: unknown, isSecret: boolean): string {
  if (typeof value === "string") {
    if (isSecret) return "a string";
    const quoted = JSON.stringify(value.length > 60 ? value.slice(0, 57) + "..." : value);
    return quoted;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return isSecret ? `a ${typeof value}` : String(value);
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  return "a table";
}

/** True when a zod message is one of zod's own defaults rather than a plugin's wording. */
function isZodDefault(message: string): boolean {
  return /^(Invalid|Too (small|big)|Unrecognized)/.test(message);
}

const SAFE = Number.MAX_SAFE_INTEGER;

function isBound(n: unknown): n is number {
  return typeof n === "number" && Number.isFinite(n) && Math.abs(n) < SAFE;
}

function rangeText(field: z.ZodType | undefined, issue: z.core.$ZodIssue): string {
  const inner = field ? unwrap(field) as unknown as { minValue?: unknown; maxValue?: unknown } : {};
  const { minValue: min, maxValue: max } = inner;
  if (isBound(min) && isBound(max)) return `must be between ${min} and ${max}`;
  if (issue.code === "too_small") {
    const bound = issue.minimum;
    if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") {
      return issue.inclusive ? `must be at least ${bound}` : `must be greater than ${bound}`;
    }
    if (issue.origin === "string") return `must be at least ${bound} characters long`;
    return `must have at least ${bound} items`;
  }
  if (issue.code === "too_big") {
    const bound = issue.maximum;
    if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint") {
      return issue.inclusive ? `must be at most ${bound}` : `must be less than ${bound}`;
    }
    if (issue.origin === "string") return `must be at most ${bound} characters long`;
    return `must have at most ${bound} items`;
  }
  return issue.message;
}

function oneOf(values: readonly unknown[]): string {
  return `must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
}

/**
 * One zod issue as the text after "location: ". `value` is the input at the
 * issue's path; `field` its schema (for ranges and allowed values). Secret
 * values are shown by kind only.
 */
export function explainIssue(
  issue: z.core.$ZodIssue,
  value: unknown,
  field: z.ZodType | undefined,
  isSecret: boolean,
): string {
  if (value === undefined && issue.code === "invalid_type") return "required";
  const got = `got ${showValue(value, isSecret)}`;
  if (!isZodDefault(issue.message)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return `expected ${kindName(issue.expected)}, ${got}`;
    case "too_small":
    case "too_big":
      return rangeText(field, issue);
    case "invalid_value":
      return `${oneOf(issue.values)}, ${got}`;
    case "invalid_union": {
      const literals = field ? literalsOf(field) : undefined;
      if (literals) return `${oneOf(literals)}, ${got}`;
      const kinds = field ? [...kindsOf(field)].map(kindName).join(" or ") : "another value";
      return `expected ${kinds}, ${got}`;
    }
    case "invalid_format":
      return issue.format === "regex"
        ? `has the wrong format, ${got}`
        : `must be a valid ${issue.format}, ${got}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `unknown option${issue.keys.length > 1 ? "s" : ""} ${
        issue.keys.map((k) => JSON.stringify(k)).join(", ")
      }`;
    default:
      return issue.message;
  }
}
