import type { Format } from './format.js';

/**
 * `terra`: the record as Terra sent it. The body is `record.body` untouched (Terra's own bytes for
 * an event delivered whole, the envelope with the one item for a record), never re-serialized.
 */
export const terraFormat: Format = {
  name: 'terra',
  description: "Terra's JSON as received: the event (or the envelope with one data item), byte for byte.",
  contentType: 'application/json',
  extension: 'json',
  lines: { contentType: 'application/x-ndjson', extension: 'ndjson' },
  eventTypes: null,
  accepts: () => ({ ok: true }),
  encode: (record) => ({ body: record.body, contentType: 'application/json', extension: 'json' }),
};
