import type { z } from 'zod';
import { FanoutError, type ErrorCode } from '../../errors/catalogue.js';
import { formatPath } from '../../json/json-value.js';

/**
 * How a failed schema check becomes the error a message is parked with. Terra's schema (types,
 * required fields) gives `schema_violation`; the rules the decoder adds for keys get their own
 * code, so an operator sees which rule was broken: `invalid_identifier` (identifier.ts) and
 * `invalid_timestamp` (terra-time.ts). Messages name the path and the rule, never the value.
 */

/** Codes a schema issue can carry through its `params.rule`. */
export type RuleCode = Extract<ErrorCode, 'invalid_identifier' | 'invalid_timestamp'>;

const ruleCodes: readonly RuleCode[] = ['invalid_identifier', 'invalid_timestamp'];

/** A zod issue for a broken rule, pushed from a `.check()`; `message` must not contain the value. */
export function ruleIssue(rule: RuleCode, input: unknown, message: string): z.core.$ZodRawIssue {
  return { code: 'custom', input, message, params: { rule } };
}

function ruleOf(issue: z.core.$ZodIssue): RuleCode | undefined {
  if (issue.code !== 'custom') return undefined;
  const rule: unknown = issue.params?.['rule'];
  return ruleCodes.find((code) => code === rule);
}

/** The error for the first of `issues` (zod reports them in document order). */
export function schemaViolation(type: string, issues: readonly z.core.$ZodIssue[]): FanoutError {
  const first = issues[0];
  if (first === undefined) return new FanoutError('schema_violation', `The ${type} event does not match the Terra schema.`, { detail: { type } });
  const path = formatPath(first.path) || '(root)';
  const detail = { type, path, issues: issues.length };
  const rule = ruleOf(first);
  if (rule === 'invalid_identifier') return new FanoutError(rule, `The ${type} event has an invalid identifier at ${path}: ${first.message}.`, { detail });
  if (rule === 'invalid_timestamp') return new FanoutError(rule, `The ${type} event has an invalid timestamp at ${path}: ${first.message}.`, { detail });
  return new FanoutError('schema_violation', `The ${type} event does not match the Terra schema at ${path}: ${first.message}.`, { detail });
}
