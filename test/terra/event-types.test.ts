import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generatedModulePath, readOpenApiEventTypes, renderEventTypesModule } from '../../scripts/openapi-event-types.js';
import { tenantConfigSchema } from '../../src/config/tenant-schema.js';
import { decodeEvent } from '../../src/terra/decode-event.js';
import {
  deliverableEventTypes,
  documentedOnlyTypes,
  eventFilterNames,
  eventFilterProblem,
  eventKind,
  eventTypeKinds,
  eventTypes,
  expandEventFilter,
  isKnownEventType,
  notEnvelopeTypes,
} from '../../src/terra/event-types.js';
import { eventSchemaFor } from '../../src/terra/schemas/event-schema.js';
import { decodeOptions } from './support/terra-fixtures.js';

/** The repository root (tests run from dist/test/terra). */
const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Terra's OpenAPI as the project keeps it: `../shared/reference/terra-openapi` beside the clone (CI
 * has it there too), or TERRA_OPENAPI_DIR. Missing is a failure, not a skip: this test is the one
 * that notices Terra adding an event type.
 */
const openApiDir = process.env['TERRA_OPENAPI_DIR'] ?? join(root, '..', 'shared', 'reference', 'terra-openapi');

describe('event types against the reference OpenAPI', () => {
  it('the reference is there', () => {
    assert.ok(existsSync(join(openApiDir, 'schemas', 'WebhookEventType.yaml')), `Terra's OpenAPI not found at ${openApiDir} (set TERRA_OPENAPI_DIR)`);
  });

  it('the decoder knows every envelope type the reference defines', async () => {
    const reference = await readOpenApiEventTypes(openApiDir);
    assert.ok(reference.envelope.length >= 20, `only ${reference.envelope.length} envelope types read`);
    const unknown = reference.envelope.filter(({ type }) => !isKnownEventType(type));
    assert.deepEqual(unknown, [], 'types in the reference the decoder does not know: regenerate with `npm run event-types` and classify them in event-types.ts');
  });

  it('every EventType.yaml category is a known type or listed as not an envelope type, with its reason', async () => {
    const reference = await readOpenApiEventTypes(openApiDir);
    for (const category of reference.categories) {
      assert.ok(isKnownEventType(category) || Object.hasOwn(notEnvelopeTypes, category), `EventType.yaml has ${category}, which the decoder does not know`);
    }
  });

  it('the checked-in generated module is what the reference gives', async () => {
    const expected = renderEventTypesModule(await readOpenApiEventTypes(openApiDir));
    assert.equal(readFileSync(join(root, generatedModulePath), 'utf8'), expected, `${generatedModulePath} is stale: run \`npm run event-types\``);
  });

  it('notices a reference that gains a type (the check can fail)', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'terra-openapi-'));
    try {
      await cp(openApiDir, copy, { recursive: true });
      const union = join(copy, 'schemas', 'WebhookEventType.yaml');
      await writeFile(union, (await readFile(union, 'utf8')).replace('  - $ref: S3PayloadEvent.yaml', '  - $ref: S3PayloadEvent.yaml\n  - $ref: LabReportAmendedEvent.yaml'));
      await writeFile(join(copy, 'schemas', 'LabReportAmendedEvent.yaml'), 'type: object\nproperties:\n  type:\n    type: string\n    const: lab_report.amended\n');
      const grown = await readOpenApiEventTypes(copy);
      assert.deepEqual(grown.envelope.filter(({ type }) => !isKnownEventType(type)), [{ type: 'lab_report.amended', source: 'schemas/LabReportAmendedEvent.yaml' }]);
      assert.notEqual(renderEventTypesModule(grown), readFileSync(join(root, generatedModulePath), 'utf8'));
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});

describe('event types', () => {
  it('lists each type once, with a kind', () => {
    assert.equal(new Set(eventTypes).size, eventTypes.length);
    assert.deepEqual([...eventTypes].sort(), Object.keys(eventTypeKinds).sort());
    for (const type of Object.keys(documentedOnlyTypes)) assert.ok(isKnownEventType(type), type);
  });

  it('every known type has a schema the decoder uses', () => {
    for (const type of eventTypes) {
      if (type === 's3_payload') continue;
      assert.ok(eventSchemaFor(type, {}) !== undefined, type);
    }
  });

  it('classifies types', () => {
    assert.equal(eventKind('activity'), 'data');
    assert.equal(eventKind('athlete'), 'data');
    assert.equal(eventKind('user_reauth'), 'user');
    assert.equal(eventKind('lab_report.completed'), 'user');
    assert.equal(eventKind('lab_report.failed'), 'user');
    assert.equal(eventKind('test.retrieved'), 'teams');
    assert.equal(eventKind('s3_payload'), 'pointer');
    assert.equal(eventKind('processing'), undefined);
    assert.equal(eventKind('s3_upload'), undefined);
    assert.equal(eventKind('lab_report'), undefined, 'the filter group is not an envelope type');
    assert.equal(eventKind('constructor'), undefined);
    assert.equal(eventKind('__proto__'), undefined);
    assert.equal(isKnownEventType('toString'), false);
  });

  it('processing and s3_upload are refused with the reason', () => {
    for (const type of ['processing', 's3_upload']) {
      const result = decodeEvent(Buffer.from(JSON.stringify({ type, status: 'success', message: 'x', user: { user_id: 'u', provider: 'GARMIN' } })), decodeOptions());
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'unknown_event_type');
      assert.match(result.error.message, type === 'processing' ? /never sends it as an event/ : /envelope type is s3_payload/);
    }
  });
});

describe('events: filters', () => {
  it('lab_report means both lab report types; exact types work too', () => {
    assert.deepEqual(expandEventFilter(['lab_report']), ['lab_report.completed', 'lab_report.failed']);
    assert.deepEqual(expandEventFilter(['lab_report.failed']), ['lab_report.failed']);
    assert.deepEqual(expandEventFilter(['activity', 'lab_report', 'lab_report.completed']), ['activity', 'lab_report.completed', 'lab_report.failed']);
  });

  it('accepts every deliverable type and the groups, nothing else', () => {
    assert.deepEqual(eventFilterNames, [...deliverableEventTypes, 'lab_report']);
    assert.ok(!eventFilterNames.includes('s3_payload'));
    for (const name of eventFilterNames) assert.equal(eventFilterProblem(name), undefined, name);
    assert.match(eventFilterProblem('s3_payload') ?? '', /resolved to the event they point at/);
    assert.match(eventFilterProblem('s3_upload') ?? '', /resolved to the event they point at/);
    assert.match(eventFilterProblem('processing') ?? '', /never sends it/);
    assert.match(eventFilterProblem('lab_reports') ?? '', /unknown Terra event type/);
    assert.equal(expandEventFilter(['toString', 'constructor']).length, 0);
  });

  it('a tenant file expands lab_report and refuses s3_payload with its reason', () => {
    const tenant = (events: string[]) => ({
      tenant: 'acme',
      topics: ['terra.events'],
      deadLetterTopic: 'terra.events.dlq',
      destinations: [{ name: 'files', type: 'file', events, config: { directory: '/tmp/x' } }],
    });
    const parsed = tenantConfigSchema.parse(tenant(['daily', 'lab_report']));
    assert.deepEqual(parsed.destinations[0]?.events, ['daily', 'lab_report.completed', 'lab_report.failed']);
    const refused = tenantConfigSchema.safeParse(tenant(['s3_payload']));
    assert.equal(refused.success, false);
    assert.match(refused.error?.issues[0]?.message ?? '', /resolved to the event they point at/);
  });
});
