import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { checkEvents } from '../../src/cli/check-event.js';
import { validatePaths } from '../../src/config/load-config.js';
import { tenantConfigSchema } from '../../src/config/tenant-schema.js';
import { workerConfigSchema } from '../../src/config/worker-schema.js';
import { applyFormat } from '../../src/formats/apply-format.js';
import { formats } from '../../src/formats/formats.js';
import type { Format, FormatOptions } from '../../src/formats/format.js';
import { createFormatDropReport } from '../../src/formats/report-format-drops.js';
import { withExtension } from '../../src/formats/record-encoding.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createMessageReader } from '../../src/pipeline/read-message.js';
import { formatted, removeConfigFiles, tenantWith, writeConfigFiles } from '../config/config-files.js';
import { fixtureRecords, messageOf, validFixturesDir } from '../support/terra-records.js';

const options: FormatOptions = { fhir: { identifierSystemBase: 'urn:terra-fanout', maxSampleObservations: 1000, bundleType: 'collection' } };

function tenant(destinations: unknown[]) {
  return tenantConfigSchema.safeParse({ tenant: 'acme', topics: ['terra.events'], deadLetterTopic: 'terra.events.dlq', destinations });
}

function issues(result: ReturnType<typeof tenant>): string[] {
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

after(removeConfigFiles);

describe('the format step', () => {
  it('terra keeps Terra’s bytes: the same records and Buffers come back, no copy, no encoding', async () => {
    const records = await fixtureRecords('activity.json');
    const result = applyFormat(records, formats.terra, options);
    assert.ok(result.ok);
    assert.deepEqual(result.dropped, []);
    result.kept.forEach((record, index) => {
      assert.equal(record, records[index]);
      assert.equal(record.encoding, undefined);
    });
  });

  it('an encoder that throws rejects the message as internal_error, naming the type and no payload value', async () => {
    const broken: Format = { ...formats.fhir, encode: () => { throw new TypeError('cannot read "secret-value"'); } };
    const result = applyFormat(await fixtureRecords('daily.json'), broken, options);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'internal_error');
    assert.equal(result.error.message, 'The fhir format failed to encode a daily record (TypeError).');
  });

  it('read-message encodes for the destination and says what the format filtered; the report counts records and logs once per type', async () => {
    const read = createMessageReader({
      maxMessageBytes: 1 << 20,
      s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1024, timeoutMs: 1000, maxExpiresInSeconds: 3600 },
      unit: 'record',
      events: null,
      providers: null,
      format: { format: formats.fit, options },
    });
    const activity = await read(messageOf(await readFile(join(validFixturesDir, 'activity.json'))));
    assert.ok(activity.ok && activity.records.length === 2 && activity.formatDrops.length === 0);
    assert.ok(activity.records.every((record) => record.encoding?.format === 'fit' && record.body.subarray(8, 12).toString('latin1') === '.FIT'));
    const sleep = await read(messageOf(await readFile(join(validFixturesDir, 'sleep.json'))));
    assert.ok(sleep.ok && sleep.records.length === 0 && sleep.filtered === 'format', 'nothing to write: the message is filtered for reason format');
    assert.deepEqual(sleep.formatDrops.map((drop) => drop.reason), ['the fit format writes activity files; a sleep record is not an activity', 'the fit format writes activity files; a sleep record is not an activity']);

    const metrics = createMetrics({ defaultMetrics: false });
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const report = createFormatDropReport(metrics, logger, { tenant: 'acme', destination: 'garmin-files', connector: 's3' });
    report(sleep.formatDrops, true);
    const [night] = sleep.formatDrops;
    assert.ok(night !== undefined);
    report([night], false);
    const values = (await metrics.registry.getSingleMetric('terra_fanout_records_filtered_total')?.get())?.values;
    assert.deepEqual(values?.map((value) => [value.labels, value.value]), [[{ tenant: 'acme', destination: 'garmin-files', connector: 's3', reason: 'format' }, 1]], 'a whole message is the lane\'s to count; records dropped beside others are counted here');
    const logged = lines.filter((line) => typeof line['msg'] === 'string' && (line['msg'] as string).includes('cannot express'));
    assert.deepEqual(logged.map((line) => [line['level'], line['type']]), [[30, 'sleep'], [20, 'sleep'], [20, 'sleep']]);
    assert.ok(logged.every((line) => line['destination'] === 'garmin-files' && typeof line['reason'] === 'string'));
  });

  it('keys and file names take the format’s extension', () => {
    assert.equal(withExtension('2022-03-16/activity/u-2026-07-01T05:12:03Z.json', 'fit'), '2022-03-16/activity/u-2026-07-01T05:12:03Z.fit');
    assert.equal(withExtension('a/b.json', 'fhir.json'), 'a/b.fhir.json');
    assert.equal(withExtension('a/b.fhir.json', 'fhir.json'), 'a/b.fhir.json');
    assert.equal(withExtension('a/b.json', 'json'), 'a/b.json');
    assert.equal(withExtension('a/b', 'fit'), 'a/b', 'a template without .json keeps its own ending');
  });
});

describe('format: in the tenant file', () => {
  const s3 = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name: 'lake', type: 's3', ...extra, config: { bucket: 'lake-bucket', region: 'eu-west-1', ...config } });

  it('accepts each format a connector lists, and refuses the others with the list', () => {
    assert.deepEqual(issues(tenant([s3({}, { format: 'fhir' })])), []);
    assert.deepEqual(issues(tenant([s3({}, { format: 'fit', events: ['activity'] })])), []);
    assert.deepEqual(issues(tenant([{ name: 'rows', type: 'sql', format: 'fhir', config: { dialect: 'postgres', url: 'postgres://u@h/db' } }])), ['destinations.0.format: the sql destination cannot write this format; expected one of: terra']);
    assert.deepEqual(issues(tenant([{ name: 'ehr', type: 'fhir', format: 'terra', config: { baseUrl: 'https://fhir.example.org/r4', auth: { type: 'none' } } }])), ['destinations.0.format: the fhir destination cannot write this format; expected one of: fhir']);
  });

  it('refuses combinations that cannot work', () => {
    assert.deepEqual(issues(tenant([s3({ format: 'ndjson' }, { format: 'fit' })])), ['destinations.0.format: format: fit writes binary FIT files, one object each; it cannot go in ndjson objects. Set config.format: json.']);
    assert.deepEqual(issues(tenant([{ name: 'app', type: 'webhook', format: 'fhir', config: { url: 'https://app.example.com/terra' } }])), [
      'destinations.0.format: format: fhir encodes one data item per record; set config.unit: record (unit: event delivers whole events with several items)',
    ]);
    assert.deepEqual(issues(tenant([{ name: 'app', type: 'webhook', format: 'fhir', config: { url: 'https://app.example.com/terra', unit: 'record' } }])), []);
    assert.deepEqual(issues(tenant([{ name: 'q', type: 'sqs', format: 'fit', config: { queueName: 'q' } }])), [
      'destinations.0.format: format: fit writes binary FIT files and SQS message bodies are text; set payload: pointer (with a claimCheck bucket) so each file is stored there and the message carries its URL.',
    ]);
    assert.deepEqual(issues(tenant([s3({}, { fhir: { maxSampleObservations: 10 } })])), ['destinations.0.fhir: fhir: settings apply to format: fhir only; this destination writes terra']);
  });

  it('validate warns (and still passes) when events: hold types the format cannot encode', async () => {
    const dir = await writeConfigFiles({
      'acme.yaml': tenantWith(
        '  - name: fit-files',
        '    type: file',
        '    format: fit',
        '    events: [activity, sleep]',
        '    config: { directory: /tmp/fit }',
        '  - name: fhir-files',
        '    type: file',
        '    format: fhir',
        '    config: { directory: /tmp/fhir }',
      ),
    });
    const result = await validatePaths([dir], {});
    assert.deepEqual(result.problems, []);
    assert.deepEqual(formatted(result.warnings, dir), [
      'acme.yaml:8:13: destinations[0].events: format: fit cannot encode sleep; those records will be filtered (counted in terra_fanout_records_filtered_total{reason="format"}), not delivered. It encodes activity.',
      'acme.yaml:12:13: destinations[1].format: format: fhir can encode only activity, body, daily, sleep; events: is not set, so every other type is read and filtered. Set events: [activity, body, daily, sleep].',
    ]);
  });
});

describe('check-event with formats', () => {
  it('shows each destination’s location with the format’s extension, its content type and encoded size, and why a format filtered a record', async () => {
    const parsed = tenantConfigSchema.parse({
      tenant: 'acme',
      topics: ['terra.events'],
      deadLetterTopic: 'terra.events.dlq',
      destinations: [
        { name: 'raw', type: 'file', config: { directory: '/tmp/raw' } },
        { name: 'fhir-lake', type: 's3', format: 'fhir', config: { bucket: 'lake-bucket', region: 'eu-west-1', prefix: 'fhir' } },
        { name: 'fit-files', type: 'file', format: 'fit', events: ['activity', 'sleep'], config: { directory: '/tmp/fit' } },
        { name: 'ehr', type: 'fhir', config: { baseUrl: 'https://fhir.example.org/r4', auth: { type: 'none' } } },
      ],
    });
    const worker = workerConfigSchema.parse({ kafka: { brokers: ['127.0.0.1:9092'] } });
    const inputs = await Promise.all(['activity.json', 'sleep.json'].map(async (name) => ({ name, value: await readFile(join(validFixturesDir, name)) })));
    const lines = await checkEvents(inputs, { tenant: parsed, worker, timestampMs: Date.parse('2026-07-02T08:00:00Z'), headers: {} });
    const [run, , night] = lines;
    assert.ok(run !== undefined && 'destinations' in run && night !== undefined && 'destinations' in night);
    assert.match(run.destinations['raw'] ?? '', /^2022-03-16\/activity\/.*\.json$/);
    assert.match(run.destinations['fhir-lake'] ?? '', /^fhir\/2022-03-16\/activity\/.*\.fhir\.json$/);
    assert.match(run.destinations['fit-files'] ?? '', /^2022-03-16\/activity\/.*\.fit$/);
    assert.equal(run.destinations['ehr'], `https://fhir.example.org/r4#Bundle.identifier=${run.identity}`);
    assert.equal(run.encoded?.['raw']?.content_type, 'application/json');
    assert.equal(run.encoded?.['fhir-lake']?.content_type, 'application/fhir+json');
    assert.equal(run.encoded?.['fit-files']?.content_type, 'application/vnd.ant.fit');
    assert.equal(run.encoded?.['ehr']?.format, 'fhir');
    assert.ok((run.encoded?.['fit-files']?.bytes ?? 0) > 100);
    assert.equal(night.destinations['fit-files'], 'filtered out (format fit: the fit format writes activity files; a sleep record is not an activity)');
    assert.equal(night.encoded?.['fit-files'], undefined);
  });
});
