import { isPlainObject } from '../json/json-value.js';

/** Keys that could pollute prototypes if a consumer ever merged the event into an object. */
const forbiddenKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type JsonLimitViolation =
  | { code: 'json_too_deep'; depth: number }
  | { code: 'forbidden_key'; key: string; depth: number };

/**
 * Checks a parsed JSON value for nesting deeper than `maxDepth` (the top-level object or array is
 * depth 1) and for forbidden keys at any depth. Iterative: a 100k-deep array never touches the call
 * stack. Scalars are never pushed, so long sample arrays of numbers cost one loop each.
 * Returns undefined when the value is within limits.
 */
export function findJsonLimitViolation(root: unknown, maxDepth: number): JsonLimitViolation | undefined {
  if (typeof root !== 'object' || root === null) return undefined;
  if (maxDepth < 1) return { code: 'json_too_deep', depth: 1 };
  const values: object[] = [root];
  const depths: number[] = [1];
  for (;;) {
    const value = values.pop();
    const depth = depths.pop();
    if (value === undefined || depth === undefined) return undefined;
    const childDepth = depth + 1;
    if (Array.isArray(value)) {
      const items: readonly unknown[] = value;
      for (const child of items) {
        if (typeof child === 'object' && child !== null) {
          if (childDepth > maxDepth) return { code: 'json_too_deep', depth: childDepth };
          values.push(child);
          depths.push(childDepth);
        }
      }
    } else if (isPlainObject(value)) {
      for (const key in value) {
        if (forbiddenKeys.has(key)) return { code: 'forbidden_key', key, depth };
        const child = value[key];
        if (typeof child === 'object' && child !== null) {
          if (childDepth > maxDepth) return { code: 'json_too_deep', depth: childDepth };
          values.push(child);
          depths.push(childDepth);
        }
      }
    }
  }
}
