import type { z } from 'zod';
import { isPlainObject } from '../../json/json-value.js';

/**
 * Whether a parsed JSON value matches a zod schema, without the copy zod builds.
 *
 * zod's parse returns a new value: every object and array of the event is rebuilt, and each field
 * gets a result object of its own. The decoder keeps the `JSON.parse` output and throws zod's copy
 * away, so on the lanes' hot path (every message) that copy is only garbage: about a tenth of a
 * lane's CPU, measured.
 *
 * `matches` walks the schema's own definition for the container types (object, array, optional,
 * nullable) and the plain scalars (string, number, boolean, unknown), with zod's rules for each,
 * and hands every other node to zod itself (`_zod.run`): checks (`.check`, `.min`, `z.custom`),
 * literals, unions, pipes and anything this file does not know. Nothing here decides a refusal:
 * decodeEvent runs zod's `safeParse` whenever `matches` says no, so every refusal keeps zod's
 * issues, path and message. The tests hold `matches` to `safeParse(...).success` on every event
 * type and thousands of damaged copies.
 */

type Schema = z.core.$ZodType;
type Checker = (value: unknown, context: RunContext) => boolean;
/** What zod's safeParse passes down (`{ async: false }`): a fresh one per call, as zod makes. */
type RunContext = z.core.ParseContextInternal<z.core.$ZodIssue>;

const checkers = new WeakMap<Schema, Checker>();

/** True when `schema.safeParse(value).success` would be; false otherwise (including when unsure). */
export function matches(schema: Schema, value: unknown): boolean {
  return checkerOf(schema)(value, { async: false });
}

function checkerOf(schema: Schema): Checker {
  const known = checkers.get(schema);
  if (known !== undefined) return known;
  // A recursive schema reaches itself while it is compiled: the forward reference resolves later.
  let compiled: Checker | undefined;
  checkers.set(schema, (value, context) => (compiled as Checker)(value, context));
  compiled = compile(schema);
  checkers.set(schema, compiled);
  return compiled;
}

/** zod's own run of `schema` on `value`: valid when it reports no issue (and finished synchronously). */
function delegate(schema: Schema): Checker {
  return (value, context) => {
    const result = schema._zod.run({ value, issues: [] }, context);
    return !(result instanceof Promise) && result.issues.length === 0;
  };
}

function compile(schema: Schema): Checker {
  const internals = schema._zod;
  const def = internals.def;
  // Checks (refinements, lengths, custom rules) run in zod: their issues, `when` and abort rules are zod's.
  // So do coercions: they change the value before checking it.
  if ((def.checks?.length ?? 0) > 0 || internals.traits.has('$ZodCheck') || ('coerce' in def && def.coerce === true)) return delegate(schema);
  switch (def.type) {
    case 'string':
      return (value) => typeof value === 'string';
    case 'number':
      return (value) => typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'unknown':
    case 'any':
      return () => true;
    case 'nullable': {
      const inner = checkerOf((def as z.core.$ZodNullableDef).innerType);
      return (value, context) => value === null || inner(value, context);
    }
    case 'optional': {
      // A present value is the inner type's; `undefined` (never in JSON) is left to zod.
      const inner = checkerOf((def as z.core.$ZodOptionalDef).innerType);
      const own = delegate(schema);
      return (value, context) => (value === undefined ? own(value, context) : inner(value, context));
    }
    case 'array': {
      const element = checkerOf((def as z.core.$ZodArrayDef).element);
      return (value, context) => {
        if (!Array.isArray(value)) return false;
        for (const item of value as readonly unknown[]) if (!element(item, context)) return false;
        return true;
      };
    }
    case 'object':
      return compileObject(def as z.core.$ZodObjectDef) ?? delegate(schema);
    default:
      return delegate(schema);
  }
}

interface Field {
  key: string;
  check: Checker;
  /** Absent is fine (zod: optional in and out); otherwise an absent key is an issue. */
  mayBeAbsent: boolean;
}

/**
 * zod's object rule: each shape key present is checked, a key that is absent is an issue unless its
 * schema is optional both ways; extra keys pass when the catchall is unset (strip) or unknown
 * (`looseObject`). undefined (the whole object goes to zod) for shapes with defaults or other
 * absence rules, and for catchalls that check extra keys.
 */
function compileObject(def: z.core.$ZodObjectDef): Checker | undefined {
  const catchall = def.catchall?._zod.def.type;
  if (catchall !== undefined && catchall !== 'unknown' && catchall !== 'any') return undefined;
  const fields: Field[] = [];
  for (const key of Object.keys(def.shape)) {
    const field = def.shape[key] as Schema;
    const { optin, optout } = field._zod;
    if (key === '__proto__' || (optin !== undefined && !(optin === 'optional' && optout === 'optional'))) return undefined;
    fields.push({ key, check: checkerOf(field), mayBeAbsent: optin !== undefined });
  }
  return generatedChecker(fields) ?? loopChecker(fields);
}

function loopChecker(fields: readonly Field[]): Checker {
  return (value, context) => {
    if (!isPlainObject(value)) return false;
    for (const field of fields) {
      if (field.key in value) {
        if (!field.check(value[field.key], context)) return false;
      } else if (!field.mayBeAbsent) return false;
    }
    return true;
  };
}

/**
 * The same rule as loopChecker, generated for one shape (as zod does for its own object parse):
 * each key is a literal, so V8 reads it with a property access of its own instead of one shared
 * keyed access for every field of every shape. The keys are the schema's own, written as JSON
 * string literals; nothing from a message reaches the code. undefined where code cannot be
 * generated (`--disallow-code-generation-from-strings`).
 */
function generatedChecker(fields: readonly Field[]): Checker | undefined {
  const lines = fields.map((field, index) => {
    const key = JSON.stringify(field.key);
    return field.mayBeAbsent ? `if (${key} in value && !checks[${index}](value[${key}], context)) return false;` : `if (!(${key} in value) || !checks[${index}](value[${key}], context)) return false;`;
  });
  const source = `return function objectMatches(value, context) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  ${lines.join('\n  ')}
  return true;
};`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the schema's keys only (see above)
    const build = new Function('checks', source) as (checks: readonly Checker[]) => Checker;
    return build(fields.map((field) => field.check));
  } catch {
    return undefined;
  }
}
