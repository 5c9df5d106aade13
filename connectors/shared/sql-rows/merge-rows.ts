/**
 * The merge rules of ./tables.ts in JavaScript: what the database does when a row is upserted over
 * a stored one. Used to fold duplicates within one batch (one statement may not touch a key twice)
 * and by the in-memory ports. The SQL of each dialect implements the same rules; the tests against
 * real servers check that they agree.
 */
import { isPlainObject } from '../../../src/json/json-value.js';
import { isJsonCell, jsonCell, type Cell, type EncodedRow } from './encode-rows.js';

type Json = Readonly<Record<string, unknown>>;

function orderingOf(row: EncodedRow): number {
  const value = row.cells['ordering_ts'];
  return typeof value === 'number' ? value : 0;
}

/** The item of a record payload (`data[0]`), if it is an object. */
function itemOf(payload: Json): Json | undefined {
  const data = payload['data'];
  if (!Array.isArray(data)) return undefined;
  const first: unknown = data[0];
  return isPlainObject(first) ? first : undefined;
}

/**
 * Terra's rule for data_enrichment (scores are not a superset): per key, the incoming value unless
 * it is null or missing, then the stored one. Everything else in the payload is the incoming copy.
 * Returns `incoming` itself when there is nothing to keep.
 */
export function mergeEnrichment(stored: Json, incoming: Json): Json {
  const storedEnrichment = itemOf(stored)?.['data_enrichment'];
  const incomingItem = itemOf(incoming);
  if (!isPlainObject(storedEnrichment) || incomingItem === undefined) return incoming;
  const incomingEnrichment = isPlainObject(incomingItem['data_enrichment']) ? incomingItem['data_enrichment'] : {};
  const merged: Record<string, unknown> = { ...incomingEnrichment };
  let kept = false;
  for (const [key, value] of Object.entries(storedEnrichment)) {
    if (incomingEnrichment[key] === null || incomingEnrichment[key] === undefined) {
      merged[key] = value;
      kept = true;
    }
  }
  if (!kept && isPlainObject(incomingItem['data_enrichment'])) return incoming;
  const data = incoming['data'] as readonly unknown[];
  return { ...incoming, data: [{ ...incomingItem, data_enrichment: merged }, ...data.slice(1)] };
}

/**
 * The row stored after upserting `incoming` over `stored` (none: `undefined`): nothing changes when
 * the incoming ordering_ts is older; otherwise each column follows its merge rule.
 */
export function mergeRow(stored: EncodedRow | undefined, incoming: EncodedRow): EncodedRow {
  if (stored === undefined) return incoming;
  if (orderingOf(incoming) < orderingOf(stored)) return stored;
  const cells: Record<string, Cell> = {};
  for (const column of incoming.table.columns) {
    const next = incoming.cells[column.name] ?? null;
    const previous = stored.cells[column.name] ?? null;
    if (column.merge === 'coalesce') cells[column.name] = next ?? previous;
    else if (column.merge === 'payload' && isJsonCell(next) && isJsonCell(previous)) {
      const merged = mergeEnrichment(previous.value, next.value);
      cells[column.name] = merged === next.value ? next : jsonCell(merged);
    } else cells[column.name] = next;
  }
  return { table: incoming.table, cells };
}
