import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { pino } from 'pino';
import { createFhirClient } from '../../../connectors/fhir/client.js';
import { fhirConfigSchema, type FhirConfig } from '../../../connectors/fhir/config.js';
import { createFhirDestination } from '../../../connectors/fhir/destination.js';
import { fhirConnector } from '../../../connectors/fhir/index.js';
import type { Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { applyFormat } from '../../../src/formats/apply-format.js';
import { resolveDestinationFormat } from '../../../src/formats/destination-format.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { startMedplumFhirServer, type MedplumServer } from '../../support/medplum-fhir-server.js';
import { fixtureRecords } from '../../support/terra-records.js';

/**
 * The fhir destination against a real FHIR implementation on 127.0.0.1: Medplum's FHIR router
 * (transactions, conditional create and update) behind a small HTTP server (test/support).
 */

const TOKEN = 'server-test-token';
const context = { tenant: 'acme', destination: 'ehr', logger: pino({ level: 'silent' }) };

function configFor(server: MedplumServer, overrides: Record<string, unknown> = {}): FhirConfig {
  return fhirConfigSchema.parse({ baseUrl: server.baseUrl, auth: { type: 'bearer', token: TOKEN }, timeoutMs: 10_000, ...overrides });
}

function destinationFor(config: FhirConfig): Destination {
  return createFhirDestination(config, createFhirClient({ baseUrl: config.baseUrl, auth: config.auth, timeoutMs: config.timeoutMs, userAgent: 'terra-fanout-test' }), context);
}

/** Records as the fhir lane hands them over: encoded by the fhir format with this config's bundle type. */
async function encoded(config: FhirConfig, fixtures: readonly string[]): Promise<TerraRecord[]> {
  const resolved = resolveDestinationFormat({ type: 'fhir', config }, fhirConnector);
  const records: TerraRecord[] = [];
  for (const name of fixtures) {
    const result = applyFormat(await fixtureRecords(name), resolved.format, resolved.options);
    if (!result.ok) throw result.error;
    records.push(...result.kept);
  }
  return records;
}

function assertAllOk(outcomes: readonly RecordOutcome[]): void {
  for (const outcome of outcomes) assert.ok(outcome.ok, outcome.ok ? '' : `${outcome.error.code}: ${outcome.error.message}`);
}

async function counts(server: MedplumServer): Promise<Record<string, number>> {
  return { Patient: await server.count('Patient'), Device: await server.count('Device'), Observation: await server.count('Observation') };
}

/** Entries of a record's Bundle by resource type. */
function entriesOf(records: readonly TerraRecord[], resourceType: string): number {
  return records.reduce((sum, record) => sum + (JSON.parse(record.body.toString('utf8')) as { entry: { resource: { resourceType: string } }[] }).entry.filter((entry) => entry.resource.resourceType === resourceType).length, 0);
}

describe("fhir destination against Medplum's FHIR router", () => {
  let server: MedplumServer;
  before(async () => {
    server = await startMedplumFhirServer({ token: TOKEN });
  });
  after(async () => {
    await server.close();
  });

  it('check() reads /metadata and proves a write with one probe resource per host, however often it runs', async () => {
    const destination = destinationFor(configFor(server));
    await destination.check();
    await destination.check();
    assert.equal(await server.count('Basic'), 1);
    assert.ok(server.requests.some((request) => request.method === 'GET' && request.path.endsWith('/metadata') && request.status === 200));
  });

  it('batch Bundles: every activity, body, daily and sleep record lands; a replay leaves every count unchanged', async () => {
    const config = configFor(server, { bundleType: 'batch' });
    const records = await encoded(config, ['activity.json', 'body.json', 'daily.json', 'sleep.json']);
    assert.equal(records.length, 7);
    const before = await counts(server);
    const destination = destinationFor(config);
    assertAllOk(await destination.send(records, new AbortController().signal));
    const afterFirst = await counts(server);
    // Three Terra users (activity and daily share one), one Device per user and device model.
    assert.equal(afterFirst['Patient'], (before['Patient'] ?? 0) + 3);
    assert.equal(afterFirst['Observation'], (before['Observation'] ?? 0) + entriesOf(records, 'Observation'));
    assertAllOk(await destination.send(records, new AbortController().signal));
    assert.deepEqual(await counts(server), afterFirst, 'a replay updates, it does not add');

    // Conditional updates matched on the identifier, and references resolved to the created Patient.
    const [activity] = records;
    assert.ok(activity !== undefined);
    const observations = await server.repo.searchResources<Observation>({ resourceType: 'Observation', filters: [{ code: 'identifier', operator: 'eq', value: `urn:terra-fanout:observation|${activity.identity}/activity` }] });
    assert.equal(observations.length, 1);
    const patients = await server.repo.searchResources({ resourceType: 'Patient', filters: [{ code: 'identifier', operator: 'eq', value: `urn:terra-fanout:user-id|${activity.userId ?? ''}` }] });
    assert.equal(patients.length, 1);
    assert.equal(observations[0]?.subject?.reference, `Patient/${patients[0]?.id ?? ''}`);
  });

  it('transaction Bundles: a record commits as one transaction, and a replay leaves counts unchanged', async () => {
    const config = configFor(server);
    const records = await encoded(config, ['daily.json']);
    const destination = destinationFor(config);
    assertAllOk(await destination.send(records, new AbortController().signal));
    const first = await counts(server);
    assertAllOk(await destination.send(records, new AbortController().signal));
    assert.deepEqual(await counts(server), first);
  });

  it("a transaction the server refuses is a permanent failure carrying the server's OperationOutcome", async () => {
    // Medplum runs conditional transactions with strict isolation and at most 8 entries; the body fixture has more.
    const config = configFor(server);
    const records = await encoded(config, ['body.json']);
    const [outcome] = await destinationFor(config).send(records, new AbortController().signal);
    assert.ok(outcome !== undefined && !outcome.ok);
    assert.equal(outcome.error.code, 'destination_rejected');
    assert.equal(outcome.error.retryable, false);
    assert.match(outcome.error.message, /answered 400.*OperationOutcome: .*too many entries/);
  });

  it("an invalid resource is parked with the server's OperationOutcome diagnostics, never a payload value", async () => {
    const config = configFor(server, { bundleType: 'batch' });
    const [record] = await encoded(config, ['daily.json']);
    assert.ok(record !== undefined);
    const bundle = JSON.parse(record.body.toString('utf8')) as { entry: { resource: Record<string, unknown> }[] };
    const observation = bundle.entry.find((entry) => entry.resource['resourceType'] === 'Observation');
    assert.ok(observation !== undefined);
    delete observation.resource['status'];
    observation.resource['valueString'] = 'secret-payload-value';
    const [outcome] = await destinationFor(config).send([{ ...record, body: Buffer.from(JSON.stringify(bundle)) }], new AbortController().signal);
    assert.ok(outcome !== undefined && !outcome.ok);
    assert.equal(outcome.error.code, 'destination_rejected');
    assert.match(outcome.error.message, /OperationOutcome: .*Observation\.status/);
    assert.ok(!outcome.error.message.includes('secret-payload-value'));
    assert.ok(!JSON.stringify(outcome.error.detail).includes('secret-payload-value'));
  });

  it('a wrong token is destination_auth_failed (permanent), from check() and send()', async () => {
    const config = configFor(server, { auth: { type: 'bearer', token: 'wrong-token' } });
    await assert.rejects(destinationFor(config).check(), (error: unknown) => error instanceof Error && 'code' in error && error.code === 'destination_auth_failed');
    const [outcome] = await destinationFor(config).send(await encoded(config, ['daily.json']), new AbortController().signal);
    assert.ok(outcome !== undefined && !outcome.ok && outcome.error.code === 'destination_auth_failed');
  });

  it('a server that does not answer is retryable (destination_unavailable)', async () => {
    const stopped = await startMedplumFhirServer({ token: TOKEN });
    await stopped.close();
    const config = configFor(stopped);
    const outcomes = await destinationFor(config).send(await encoded(config, ['daily.json']), new AbortController().signal);
    for (const outcome of outcomes) assert.ok(!outcome.ok && outcome.error.code === 'destination_unavailable' && outcome.error.retryable);
  });
});
