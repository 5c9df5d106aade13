import type { MemoryPort } from '../../src/connector/contract.js';
import type { FhirPort } from './client.js';
import type { FhirConfig } from './config.js';
import { fhirLocation } from './encode.js';

/**
 * An in-memory FhirPort for the contract suite: it keeps each Bundle it is sent under the location
 * of its record (Bundle.identifier), answers /metadata with an R4 CapabilityStatement, and answers
 * transactions with a transaction-response. `unavailable` answers 503, `rejected` 400 with an
 * OperationOutcome, as a server refusing the content would. Not a FHIR server: the real-server
 * tests run against Medplum's (test/connectors/fhir/).
 */
export function createMemoryFhirPort(config: Pick<FhirConfig, 'baseUrl'>): MemoryPort<FhirPort> {
  const stored = new Map<string, Buffer>();
  let broken: 'unavailable' | 'rejected' | null = null;
  const json = (status: number, body: unknown) => ({ status, retryAfter: null, body });

  return {
    client: {
      async request(request) {
        if (broken === 'unavailable') return json(503, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'Service unavailable' }] });
        if (broken === 'rejected') return json(400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', expression: ['Bundle.entry[0]'], details: { text: 'Rejected by the memory server' } }] });
        if (request.method === 'GET') return json(200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], date: '2026-01-01' });
        const bundle = JSON.parse(request.body?.toString('utf8') ?? '{}') as { type?: string; identifier?: { value?: string }; entry?: unknown[] };
        const identity = bundle.identifier?.value;
        if (identity !== undefined && request.body !== undefined) stored.set(fhirLocation(config, { identity }), Buffer.from(request.body));
        return json(200, { resourceType: 'Bundle', type: `${bundle.type ?? 'transaction'}-response`, entry: (bundle.entry ?? []).map(() => ({ response: { status: '200 OK' } })) });
      },
      async close() {},
    },
    stored: () => stored,
    breakWith(mode) {
      broken = mode;
    },
  };
}
