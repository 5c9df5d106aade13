import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { deadLetterHeader } from '../../src/lane/dead-letter.js';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { startWorker } from '../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker();

function nested(depth: number): string {
  return `{"type":"activity","user":{"user_id":"u","provider":"GARMIN"},"data":[${'['.repeat(depth)}${']'.repeat(depth)}],"version":"2022-03-16"}`;
}

describe('bad input', () => {
  const cleanups = useCleanups();

  it('parks every kind of bad input in the dead-letter topic with its code and keeps delivering', async () => {
    const topic = uniqueName('events');
    const signedTopic = uniqueName('signed');
    const dlq = `${topic}.dlq`;
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: { budgets: { maxMessageBytes: '64KiB' }, s3Payload: { allowedHosts: ['*.amazonaws.com'] } },
      tenants: [
        { tenant: 'acme', topics: [topic], deadLetterTopic: dlq, destinations: [{ name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}' } }] },
        {
          tenant: 'signed',
          topics: [signedTopic],
          deadLetterTopic: dlq,
          source: { signature: { secret: '${SIGNING_SECRET}', required: true } },
          destinations: [{ name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}/signed' } }],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, OUT_DIR: out, SIGNING_SECRET: 'sign-me' });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger: pino({ level: 'silent' }), httpPort: 0 });
    cleanups.push(() => worker.stop());

    const good = JSON.stringify(activityEvent('u-good', 0));
    const badWrongType = activityEvent('u-bad', 1);
    (badWrongType['data'] as Array<Record<string, unknown>>)[0] = { metadata: { summary_id: 42, start_time: true, end_time: null, type: 'x', upload_type: 1 } };
    const missingUserId = activityEvent('u-bad', 2);
    missingUserId['user'] = { provider: 'GARMIN' };
    const corpus: Array<{ key: string; value: string | Buffer; code: string }> = [
      { key: 'malformed', value: '{"type": "activity", user: }', code: 'malformed_json' },
      { key: 'truncated', value: good.slice(0, good.length / 2), code: 'malformed_json' },
      { key: 'not-utf8', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), code: 'malformed_json' },
      { key: 'wrong-types', value: JSON.stringify(badWrongType), code: 'schema_violation' },
      { key: 'missing-user-id', value: JSON.stringify(missingUserId), code: 'schema_violation' },
      { key: 'unknown-type', value: JSON.stringify({ ...activityEvent('u-bad', 3), type: 'telepathy' }), code: 'unknown_event_type' },
      { key: 'oversized', value: JSON.stringify(activityEvent('u-bad', 4, { padding: 'x'.repeat(70 * 1024) })), code: 'payload_too_large' },
      { key: 's3-bad-host', value: JSON.stringify({ status: 'success', type: 's3_payload', url: 'https://evil.example.com/payload.json?X-Amz-Signature=abc', expires_in: 600 }), code: 's3_payload_host_not_allowed' },
      { key: 'proto', value: '{"type":"activity","user":{"user_id":"u","provider":"GARMIN","__proto__":{"admin":true}},"data":[],"version":"2022-03-16"}', code: 'forbidden_key' },
      { key: 'deep', value: nested(5000), code: 'json_too_deep' },
      { key: 'empty', value: Buffer.alloc(0), code: 'empty_message' },
    ];
    await kafka.produce(topic, [...corpus.map(({ key, value }) => ({ key, value })), { key: 'good', value: good }]);
    const signedGood = JSON.stringify(activityEvent('u-signed', 0));
    const now = Math.floor(Date.now() / 1000);
    await kafka.produce(signedTopic, [
      { key: 'unsigned', value: signedGood },
      { key: 'bad-signature', value: signedGood, headers: { 'terra-signature': computeTerraSignature(signedGood, 'wrong-secret', now) } },
      { key: 'signed', value: signedGood, headers: { 'terra-signature': computeTerraSignature(signedGood, 'sign-me', now) } },
    ]);

    const expected = corpus.length + 2;
    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected, timeoutMs: 40_000 });
    const codes = Object.fromEntries(parked.map((message) => [message.key ?? '', message.headers[deadLetterHeader.code]]));
    for (const { key, code } of corpus) assert.equal(codes[key], code, `${key} parked as ${code}`);
    assert.equal(codes['unsigned'], 'signature_missing');
    assert.equal(codes['bad-signature'], 'signature_invalid');
    assert.equal(parked.length, expected, 'one dead letter per bad input, none for good ones');
    const truncated = parked.find((message) => message.key === 'truncated');
    assert.equal(truncated?.value, good.slice(0, good.length / 2), 'original bytes kept');
    assert.equal(truncated?.headers[deadLetterHeader.tenant], 'acme');
    assert.equal(truncated?.headers[deadLetterHeader.topic], topic);

    // The worker kept running: the good events after the bad ones were delivered.
    assert.ok(await waitFor(async () => (await readdir(join(out, '2022-03-16', 'activity')).catch(() => [])).length === 1, 20_000));
    assert.ok(await waitFor(async () => (await readdir(join(out, 'signed', '2022-03-16', 'activity')).catch(() => [])).length === 1, 20_000));
    const counted = /terra_fanout_records_dead_lettered_total\{tenant="acme",destination="files",connector="file",code="malformed_json"\} 3/;
    assert.ok(await waitFor(async () => counted.test(await (await fetch(`${worker.http.url}/metrics`)).text()), 10_000), 'dead letters counted by code');
  });
});
