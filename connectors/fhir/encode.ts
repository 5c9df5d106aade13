import { hostname } from 'node:os';
import type { Bundle } from '@medplum/fhirtypes';
import type { TerraRecord } from '../../src/records/record.js';
import { safeUrlLabel } from '../shared/http-errors.js';
import type { FhirConfig } from './config.js';
import { entryStatus } from './errors.js';

/**
 * Pure parts of the fhir destination. The Bundle itself is the record body: the `fhir` format
 * (src/formats/fhir/) maps the record and, for this destination, writes a transaction (or batch)
 * of conditional requests; the destination POSTs it unchanged to the base URL.
 */

/** Where a record lands (what locate() and check-event show): the server and the record's Bundle identifier. */
export function fhirLocation(config: Pick<FhirConfig, 'baseUrl'>, record: Pick<TerraRecord, 'identity'>): string {
  return `${safeUrlLabel(config.baseUrl)}#Bundle.identifier=${record.identity}`;
}

export const PROBE_SYSTEM = 'urn:terra-fanout:probe';

/**
 * The Bundle check() sends to prove write access: one conditional update of a Basic resource
 * identified by this host, so repeated checks keep one probe resource per host.
 */
export function probeBundle(bundleType: FhirConfig['bundleType'], host = hostname()): Buffer {
  const value = host.replace(/[^A-Za-z0-9._-]/g, '_') || 'unknown-host';
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: bundleType,
    entry: [
      {
        fullUrl: 'urn:uuid:5d1c0a6e-4b8f-4f2e-9a1d-2c3b4a5d6e7f',
        resource: {
          resourceType: 'Basic',
          identifier: [{ system: PROBE_SYSTEM, value }],
          code: { coding: [{ system: 'urn:terra-fanout:codes', code: 'terra-fanout-probe', display: 'terra-fanout write check' }] },
        },
        request: { method: 'PUT', url: `Basic?identifier=${encodeURIComponent(PROBE_SYSTEM)}|${encodeURIComponent(value)}` },
      },
    ],
  };
  return Buffer.from(JSON.stringify(bundle));
}

/** An entry of a transaction/batch response that did not succeed: its position, status and outcome. */
export interface FailedEntry {
  index: number;
  status: number;
  outcome: unknown;
}

/**
 * The first entry of a 2xx transaction-response or batch-response whose status is not 2xx (a
 * batch applies entries one by one; some servers answer a transaction the same way), or null.
 * A response without entries counts as success: the server accepted the Bundle.
 */
export function firstFailedEntry(body: unknown): FailedEntry | null {
  if (typeof body !== 'object' || body === null || !('resourceType' in body) || body.resourceType !== 'Bundle') return null;
  const entries = 'entry' in body && Array.isArray(body.entry) ? (body.entry as unknown[]) : [];
  for (const [index, entry] of entries.entries()) {
    const response = typeof entry === 'object' && entry !== null && 'response' in entry && typeof entry.response === 'object' && entry.response !== null ? entry.response : null;
    const status = entryStatus(response !== null && 'status' in response && typeof response.status === 'string' ? response.status : undefined);
    if (status !== null && (status < 200 || status >= 300)) return { index, status, outcome: response !== null && 'outcome' in response ? response.outcome : null };
  }
  return null;
}

/** Whether /metadata answered with an R4 CapabilityStatement; the problem in words otherwise. */
export function capabilityProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !('resourceType' in body) || body.resourceType !== 'CapabilityStatement') return 'its /metadata is not a CapabilityStatement; is baseUrl the FHIR base?';
  const version = 'fhirVersion' in body && typeof body.fhirVersion === 'string' ? body.fhirVersion : null;
  if (version !== null && !version.startsWith('4.0')) return `it speaks FHIR ${version}; terra-fanout sends R4 (4.0.x) resources`;
  return null;
}
