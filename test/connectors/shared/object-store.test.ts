import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { checkObjectLayout, objectLayoutFields, type ObjectLayout } from '../../../connectors/shared/object-store/config.js';
import { createObjectStoreClaimCheck } from '../../../connectors/shared/object-store/claim-check-store.js';
import { createObjectStoreDestination } from '../../../connectors/shared/object-store/destination.js';
import { objectKey, oneLine, planObjects } from '../../../connectors/shared/object-store/encode.js';
import { createMemoryObjectStore } from '../../../connectors/shared/object-store/memory-port.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeRecord, makeUserEventRecord } from '../../support/records.js';

const layoutSchema = z.strictObject(objectLayoutFields).superRefine(checkObjectLayout);
const layout = (input: Record<string, unknown> = {}): ObjectLayout => ({ timeoutMs: 60_000, ...layoutSchema.parse(input) });
const context = { tenant: 'acme', destination: 'bucket', logger: pino({ level: 'silent' }) };

function at(record: TerraRecord, partition: number, offset: number): TerraRecord {
  return { ...record, source: { ...record.source, topic: 'terra.events', partition, offset: String(offset) } };
}

describe('object-store layout', () => {
  it('json: one object per record at Terra layout under the prefix, with content type and metadata', () => {
    const [first, second] = makeActivityBatch(2, ['user-a']);
    assert.ok(first && second);
    const objects = planObjects(layout({ prefix: 'raw/' }), [first, second], { tenant: 'acme' });
    assert.equal(objects.length, 2);
    assert.match(objects[0]?.key ?? '', /^raw\/2022-03-16\/activity\/user-a-.+\.json$/);
    assert.deepEqual(objects[0]?.records, [0]);
    assert.equal(objects[0]?.contentType, 'application/json');
    assert.equal(objects[0]?.contentEncoding, undefined);
    assert.deepEqual(objects[0]?.body, first.body);
    assert.equal(objects[0]?.metadata['tenant'], 'acme');
    assert.equal(objects[0]?.metadata['identity'], first.identity);
    assert.equal(objects[0]?.metadata['user_id'], 'user-a');
    assert.equal(objects[0]?.metadata['type'], 'activity');
  });

  it('metadata values that are not printable ASCII are percent-encoded', () => {
    const record = makeRecord({ userId: 'usér-1' });
    const [object] = planObjects(layout(), [record], { tenant: 'acme' });
    assert.equal(object?.metadata['user_id'], 'us%C3%A9r-1');
  });

  it('ndjson: one object per topic, partition and type, named by the first offset, one line per record', () => {
    const activities = makeActivityBatch(3, ['user-a', 'user-b']);
    const batch = [at(activities[0]!, 1, 41), at(makeUserEventRecord(), 1, 40), at(activities[1]!, 1, 42), at(activities[2]!, 2, 7)];
    const objects = planObjects(layout({ format: 'ndjson', prefix: 'lake' }), batch, { tenant: 'acme' });
    assert.deepEqual(
      objects.map((object) => [object.key, object.records]),
      [
        ['lake/activity/terra.events+1+00000000000000000041.ndjson', [0, 2]],
        ['lake/auth/terra.events+1+00000000000000000040.ndjson', [1]],
        ['lake/activity/terra.events+2+00000000000000000007.ndjson', [3]],
      ],
    );
    const lines = objects[0]?.body.toString('utf8').split('\n');
    assert.deepEqual(lines, [batch[0]!.body.toString('utf8'), batch[2]!.body.toString('utf8'), '']);
    assert.equal(objects[0]?.contentType, 'application/x-ndjson');
    assert.equal(objects[0]?.metadata['record_count'], '2');
    assert.equal(objects[0]?.metadata['first_offset'], '41');
  });

  it('ndjson names are the same when the same batch is planned again (a replay overwrites)', () => {
    const batch = makeActivityBatch(4, ['u']).map((record, index) => at(record, 0, 100 + index));
    const keys = () => planObjects(layout({ format: 'ndjson', gzip: true }), batch).map((object) => object.key);
    assert.deepEqual(keys(), keys());
    assert.deepEqual(keys(), ['activity/terra.events+0+00000000000000000100.ndjson.gz']);
    assert.equal(objectKey(layout({ format: 'ndjson', gzip: true }), batch[0]!), keys()[0]);
  });

  it('oneLine keeps pretty-printed events valid JSON on one line', () => {
    const pretty = Buffer.from('{\r\n  "type": "auth",\n  "note": "a\\nb"\n}');
    const line = oneLine(pretty);
    assert.ok(!line.includes(0x0a) && !line.includes(0x0d));
    assert.deepEqual(JSON.parse(line.toString('utf8')), JSON.parse(pretty.toString('utf8')));
    const compact = Buffer.from('{"a":1}');
    assert.equal(oneLine(compact), compact);
  });

  it('rejects keyTemplate with ndjson, with the field path', () => {
    const result = layoutSchema.safeParse({ format: 'ndjson', keyTemplate: '{type}/{identity}.json' });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues.map((issue) => issue.path), [['keyTemplate']]);
  });
});

describe('object-store destination over the memory port', () => {
  it('gzip ndjson decodes back to the original records, and every record of an object shares its outcome', async () => {
    const memory = createMemoryObjectStore('memory://bucket');
    const destination = createObjectStoreDestination(layout({ format: 'ndjson', gzip: true }), memory.client, context);
    const batch = makeActivityBatch(5, ['a', 'b']).map((record, index) => at(record, 0, index));
    const outcomes = await destination.send(batch, new AbortController().signal);
    assert.deepEqual(outcomes, batch.map(() => ({ ok: true })));
    const [object] = [...memory.objects().values()];
    assert.equal(memory.objects().size, 1);
    assert.equal(object?.contentEncoding, 'gzip');
    const lines = gunzipSync(object!.body).toString('utf8').trimEnd().split('\n');
    assert.deepEqual(lines.map((line) => JSON.parse(line)), batch.map((record) => JSON.parse(record.body.toString('utf8'))));

    memory.breakWith('unavailable');
    const failed = await destination.send(batch, new AbortController().signal);
    assert.ok(failed.every((outcome) => !outcome.ok && outcome.error.code === 'destination_unavailable'));
  });

  it('check() writes a probe under the prefix', async () => {
    const memory = createMemoryObjectStore('memory://bucket');
    const probed: string[] = [];
    const port = { ...memory.client, probe: async (key: string) => void probed.push(key) };
    await createObjectStoreDestination(layout({ prefix: 'env/prod' }), port, context).check();
    assert.equal(probed.length, 1);
    assert.match(probed[0] ?? '', /^env\/prod\/\.terra-fanout-probe\/.+\.json$/);
  });
});

describe('claim check over an object store', () => {
  it('stores the body at {prefix}/{type}/{identity}.json and returns a signed URL with its lifetime', async () => {
    const memory = createMemoryObjectStore('memory://claims');
    const claimCheck = createObjectStoreClaimCheck(memory.client, { prefix: 'claims', expiresInSeconds: 600 });
    const record = makeRecord();
    const ticket = await claimCheck.store(record, new AbortController().signal);
    assert.equal(ticket.expiresInSeconds, 600);
    assert.match(ticket.url, new RegExp(`^memory://.+/claims/activity/${record.identity}\\.json\\?expires_in=600$`));
    assert.deepEqual(memory.stored().get(`claims/activity/${record.identity}.json`), record.body);
    await claimCheck.store(record, new AbortController().signal);
    assert.equal(memory.stored().size, 1, 'a replay overwrites the same object');
    memory.breakWith('rejected');
    await assert.rejects(claimCheck.check(AbortSignal.timeout(1000)), { code: 'destination_auth_failed' });
  });
});
