import type { Format } from '../format.js';
import { collectionBundle, fhirEventTypes, mapRecord, requestBundle } from './map-record.js';

export const FHIR_JSON = 'application/fhir+json';

/**
 * `fhir`: one FHIR R4 Bundle per record (Patient, Device, Observations), the mapping documented
 * in docs/fhir-mapping.md: a `collection` for stores, a `transaction` (or `batch`) of conditional
 * requests for the `fhir` destination (options.fhir.bundleType, from its config).
 */
export const fhirFormat: Format = {
  name: 'fhir',
  description: 'FHIR R4 JSON: one collection Bundle per record with a Patient, a Device and Observations (LOINC, UCUM, vital-signs profiles). Activity, body, daily and sleep records.',
  contentType: FHIR_JSON,
  extension: 'fhir.json',
  lines: { contentType: 'application/fhir+ndjson', extension: 'fhir.ndjson' },
  eventTypes: fhirEventTypes,
  accepts(record) {
    if (!fhirEventTypes.has(record.type)) return { ok: false, reason: `the fhir format has no mapping for ${record.type} records (it maps ${[...fhirEventTypes].join(', ')})` };
    if (record.item === null) return { ok: false, reason: 'the fhir format maps one data item per record; this record is a whole event with several items (set unit: record)' };
    if (record.userId === null || record.userId === '') return { ok: false, reason: 'the fhir format needs the Terra user id for the Patient' };
    return { ok: true };
  },
  encode(record, options) {
    const item = record.item;
    const userId = record.userId;
    if (item === null || userId === null) throw new Error('fhirFormat.encode called for a record it does not accept');
    const mapped = mapRecord(record, item, userId, options.fhir);
    const type = options.fhir.bundleType;
    const bundle = type === 'collection' ? collectionBundle(record, mapped) : requestBundle(record, mapped, type);
    return { body: Buffer.from(JSON.stringify(bundle)), contentType: FHIR_JSON, extension: 'fhir.json' };
  },
};
