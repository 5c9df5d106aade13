/**
 * The part of MongoDB's query language the mongodb-stand-in evaluates: equality (dotted paths,
 * embedded documents compared field by field in order, a scalar matching an array element),
 * `$eq $ne $lt $lte $gt $gte $in $nin $exists`, and top-level `$and` / `$or`. Anything else is
 * refused with the error a server gives for an unknown operator, never silently ignored.
 */
import { EJSON, type Document } from 'bson';

/** A command failure the stand-in answers as `{ok: 0, code, codeName, errmsg}`. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

export const badValue = (message: string): CommandError => new CommandError(2, 'BadValue', message);

/** A text form in which two values are equal exactly when MongoDB's equality says so (for the types used here). */
export function canonical(value: unknown): string {
  return EJSON.stringify(value === undefined ? null : value, { relaxed: true });
}

function isPlainDocument(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function isOperatorDocument(value: unknown): value is Document {
  return isPlainDocument(value) && Object.keys(value)[0]?.startsWith('$') === true;
}

/** The value at a dotted path, or undefined when a step is missing or not a document. */
export function valueAt(document: Document, path: string): unknown {
  let current: unknown = document;
  for (const step of path.split('.')) {
    if (!isPlainDocument(current)) return undefined;
    current = current[step];
  }
  return current;
}

function equals(value: unknown, wanted: unknown): boolean {
  if (wanted === null && value === undefined) return true;
  if (Array.isArray(value) && !Array.isArray(wanted) && value.some((element) => canonical(element) === canonical(wanted))) return true;
  return canonical(value) === canonical(wanted);
}

/** -1, 0 or 1 for two values of the same comparable type (numbers, strings, dates); undefined otherwise. */
function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Date && b instanceof Date) return Math.sign(a.getTime() - b.getTime());
  return undefined;
}

function operatorHolds(operator: string, value: unknown, argument: unknown): boolean {
  switch (operator) {
    case '$eq':
      return equals(value, argument);
    case '$ne':
      return !equals(value, argument);
    case '$lt':
      return compare(value, argument) === -1;
    case '$lte':
      return [-1, 0].includes(compare(value, argument) ?? 2);
    case '$gt':
      return compare(value, argument) === 1;
    case '$gte':
      return [1, 0].includes(compare(value, argument) ?? -2);
    case '$in':
    case '$nin': {
      if (!Array.isArray(argument)) throw badValue(`${operator} needs an array`);
      const found = argument.some((candidate) => equals(value, candidate));
      return operator === '$in' ? found : !found;
    }
    case '$exists':
      return (value !== undefined) === Boolean(argument);
    default:
      throw badValue(`unknown operator: ${operator}`);
  }
}

/** Whether `document` matches `filter`. Throws CommandError for operators the stand-in does not know. */
export function matches(document: Document, filter: Document): boolean {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) throw badValue(`${key} must be a nonempty array`);
      const results = condition.map((part: unknown) => isPlainDocument(part) && matches(document, part));
      if (key === '$and' ? results.includes(false) : !results.includes(true)) return false;
    } else if (key.startsWith('$')) {
      throw badValue(`unknown top level operator: ${key}`);
    } else if (isOperatorDocument(condition)) {
      const value = valueAt(document, key);
      for (const [operator, argument] of Object.entries(condition)) if (!operatorHolds(operator, value, argument)) return false;
    } else if (!equals(valueAt(document, key), condition)) {
      return false;
    }
  }
  return true;
}

/** An inclusion projection (`{'a.b': 1}`), `_id` included unless `_id: 0`. Exclusions other than `_id` are refused. */
export function project(document: Document, projection: Document | undefined): Document {
  if (projection === undefined || Object.keys(projection).length === 0) return document;
  const projected: Document = {};
  if (projection['_id'] !== 0 && projection['_id'] !== false) projected['_id'] = document['_id'];
  for (const [path, include] of Object.entries(projection)) {
    if (path === '_id') continue;
    if (include !== 1 && include !== true) throw badValue('the mongodb stand-in implements inclusion projections only');
    const value = valueAt(document, path);
    if (value === undefined) continue;
    const steps = path.split('.');
    let target = projected;
    for (const step of steps.slice(0, -1)) {
      const next: unknown = target[step];
      target = isPlainDocument(next) ? next : (target[step] = {});
    }
    target[steps[steps.length - 1] ?? path] = value;
  }
  return projected;
}
