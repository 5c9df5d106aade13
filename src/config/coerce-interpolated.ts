import type { z } from 'zod';
import { formatPath } from './config-problem.js';

/**
 * `${VAR}` always yields a string (the reference is resolved in the YAML text's string values).
 * Where the schema wants a number or true/false and the value came from a reference, the string
 * is read the way YAML would read the same text written in the file: `8080`, `-1.5`, `1e3`;
 * `true`/`false` (any case). The schema then applies the field's own rules (a port above 65535
 * is still refused, with the port's message). A value that is not a number or boolean is left as
 * the string, and the field's type error says so.
 *
 * Only values that came from a reference are touched, and only where zod reported that it
 * expected a number or boolean there, so a secret such as `password: ${PASS}` with PASS=123456
 * stays a string.
 */

const YAML_NUMBER = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const YAML_BOOLEAN = /^(?:true|false)$/i;

/** The number or boolean the text stands for, or undefined when it stands for neither. */
function scalarFrom(text: string, expected: 'number' | 'boolean'): number | boolean | undefined {
  const trimmed = text.trim();
  if (expected === 'number') return YAML_NUMBER.test(trimmed) ? Number(trimmed) : undefined;
  return YAML_BOOLEAN.test(trimmed) ? trimmed.toLowerCase() === 'true' : undefined;
}

/** Type issues anywhere in `issues` (inside union branches too), with their full path. */
function typeIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[], out: Array<{ path: PropertyKey[]; expected: string }>): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_type') out.push({ path, expected: issue.expected });
    else if (issue.code === 'invalid_union') for (const branch of issue.errors) typeIssues(branch, path, out);
  }
}

/**
 * A copy of `data` with the referenced values that zod wanted as numbers or booleans converted,
 * or null when there is nothing to convert. `interpolated` lists the paths of values that came
 * from `${VAR}` references.
 */
export function coerceInterpolated(data: unknown, issues: readonly z.core.$ZodIssue[], interpolated: readonly (readonly (string | number)[])[]): unknown {
  if (interpolated.length === 0) return null;
  const fromReference = new Set(interpolated.map((path) => formatPath(path)));
  const found: Array<{ path: PropertyKey[]; expected: string }> = [];
  typeIssues(issues, [], found);
  const copy: unknown = structuredClone(data);
  let changed = false;
  for (const { path, expected } of found) {
    if (expected !== 'number' && expected !== 'boolean') continue;
    if (!path.every((segment): segment is string | number => typeof segment !== 'symbol') || !fromReference.has(formatPath(path))) continue;
    changed = setString(copy, path, (text) => scalarFrom(text, expected)) || changed;
  }
  return changed ? copy : null;
}

/** Replaces the string at `path` by `convert(string)` when that is defined; whether it did. */
function setString(data: unknown, path: readonly (string | number)[], convert: (text: string) => number | boolean | undefined): boolean {
  let parent: unknown = data;
  for (const segment of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return false;
    parent = (parent as Record<string | number, unknown>)[segment];
  }
  const last = path.at(-1);
  if (last === undefined || typeof parent !== 'object' || parent === null) return false;
  const holder = parent as Record<string | number, unknown>;
  const value = holder[last];
  if (typeof value !== 'string') return false;
  const converted = convert(value);
  if (converted === undefined) return false;
  holder[last] = converted;
  return true;
}
