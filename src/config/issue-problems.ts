import type { z } from 'zod';
import { type ConfigProblem, formatPath } from './config-problem.js';
import { allowedKeysOf, unknownKeyMessage } from './strict-object.js';
import type { YamlSource } from './yaml-source.js';

/**
 * Turns zod issues into problems located in the YAML source. Every issue becomes a problem
 * (an unknown-keys issue one per key). Messages describe types and rules, never values.
 */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], source: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) collect(issue, [], source, problems);
  return problems.filter((problem) => !source.unresolved.some((path) => isWithin(problem.path, formatPath(path))));
}

/** Whether the formatted path `path` is `parent` or lies under it. */
function isWithin(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);
}

/** Orders problems by where they are in their file. */
export function byPosition(a: ConfigProblem, b: ConfigProblem): number {
  return (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
}

function collect(issue: z.core.$ZodIssue, prefix: readonly (string | number)[], source: YamlSource, problems: ConfigProblem[]): void {
  const path = [...prefix, ...issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol')];

  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysOf(issue.message);
    for (const key of issue.keys) {
      const at = source.locateKey(path, key);
      // Our strict objects list the allowed keys (so a typo gets a suggestion); zod's own message would only repeat the key.
      const message = allowed !== null ? unknownKeyMessage(key, allowed) : issue.message.startsWith('Unrecognized key') ? 'unknown key' : issue.message;
      problems.push(problem(source, [...path, key], at, message));
    }
    return;
  }

  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // A union such as `ssl: boolean | {...}`: when exactly one branch got past the type check,
    // its issues are the useful ones (`ssl.ca: expected a string` rather than `ssl: invalid`).
    const relevant = issue.errors.filter((branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0));
    const [only] = relevant;
    if (relevant.length === 1 && only !== undefined) {
      for (const inner of only) collect(inner, path, source, problems);
      return;
    }
  }

  if (issue.code === 'invalid_key') {
    // A record key (such as a header name) broke a rule: the inner issues say which.
    const reasons = issue.issues.map((inner) => withoutZodPrefix(inner.message));
    problems.push(problem(source, path, source.locateKey(path.slice(0, -1), String(path.at(-1))), `invalid key: ${reasons.join('; ')}`));
    return;
  }

  const value = valueAt(source.data, path);
  const missing = value.parentIsMap && !value.present;
  let message = issue.code === 'invalid_type' ? `expected ${describeExpected(issue.expected)}` : withoutZodPrefix(issue.message);
  if (missing) message = `required key is missing; ${message}`;
  else if (issue.code === 'invalid_type') {
    message += `, got ${describeValue(value.value)}`;
    const formatted = formatPath(path);
    if (typeof value.value === 'string' && source.interpolated.some((from) => formatPath(from) === formatted)) {
      // Numbers and booleans from ${VAR} were already read as such (coerce-interpolated.ts); this one is neither.
      if (issue.expected === 'number') message += ' (the ${VAR} value is not a number)';
      else if (issue.expected === 'boolean') message += ' (the ${VAR} value is not true or false)';
      else message += ' (${VAR} gives a string)';
    }
  }
  problems.push(problem(source, path, source.locate(path), message));
}

function problem(source: YamlSource, path: readonly (string | number)[], at: { line: number; column: number } | null, message: string): ConfigProblem {
  return { file: source.file, line: at?.line ?? null, column: at?.column ?? null, path: formatPath(path), message: source.redact(message) };
}

function valueAt(data: unknown, path: readonly (string | number)[]): { present: boolean; value: unknown; parentIsMap: boolean } {
  let current: unknown = data;
  let parentIsMap = false;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return { present: false, value: undefined, parentIsMap: false };
    parentIsMap = !Array.isArray(current);
    if (!Object.hasOwn(current, segment)) return { present: false, value: undefined, parentIsMap };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { present: true, value: current, parentIsMap };
}

/** `Too big: expected number to be <=1` -> `expected number to be <=1`, to read like our own messages. */
function withoutZodPrefix(message: string): string {
  return message.replace(/^(?:Invalid input|Invalid option|Invalid string|Too big|Too small):\s*/, '');
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

/** The kind of a value, never the value itself. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return 'true or false';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  return `a ${typeof value}`;
}
