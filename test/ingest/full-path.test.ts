import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { postSigned, send, spawnCli } from '../support/ingest.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const cli = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist/src/cli/main.js');
const SECRET = 'full-path-secret';
const kafka = useKafkaBroker({ brokers: 1 });
const cleanups = useCleanups();

describe('Terra webhook to file, through the gateway, Kafka and a lane (terra-fanout run with ingest.enabled)', () => {
  it('a Terra-signed POST lands as Terra-layout files; the lane verifies the kept signature again', async () => {
    const topic = uniqueName('full-path');
    const dlq = `${topic}.dlq`;
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: { log: { level: 'info' }, ingest: { enabled: true, host: '127.0.0.1', port: 0 } },
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlq,
          // required: true: a message without a valid terra-signature header is parked, so files appear only if the gateway kept Terra's.
          source: { signature: { secret: '${FULL_PATH_SECRET}', required: true } },
          ingest: { enabled: true },
          destinations: [{ name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}', fsync: false } }],
        },
      ],
    });
    const out = join(dir, 'out');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const child = spawnCli(cli, ['run', '--config', workerPath], { ...process.env, FULL_PATH_SECRET: SECRET, OUT_DIR: out });
    cleanups.push(async () => {
      if (child.child.exitCode === null) child.child.kill('SIGKILL');
      await child.exited;
    });
    const gatewayUrl = String((await child.waitForLog((line) => line['msg'] === 'Ingest gateway started.', 20_000))['url']);
    assert.ok(await waitFor(async () => (await send(`${gatewayUrl}/readyz`)).status === 200, 20_000), 'gateway ready');

    const activity = Buffer.from(JSON.stringify(activityEvent('user-full', 7)));
    const deauth = Buffer.from('{"type":"deauth","status":"success","user":{"user_id":"user-full","provider":"GARMIN"},"message":"User has deauthenticated"}');
    const orderingMs = Date.parse('2026-07-03T08:00:00Z');
    for (const [index, body] of [activity, deauth].entries()) {
      const reply = await postSigned(gatewayUrl, 'acme', body, SECRET, { 'x-terra-trace-id': `full-${index}`, 'x-terra-ordering-timestamp': String(orderingMs) });
      assert.equal(reply.status, 200, reply.body);
    }
    // The same activity put on the topic directly, with a signature made with another secret: the lane parks it.
    await kafka.produce(topic, [{ key: 'user-forged', value: JSON.stringify(activityEvent('user-forged', 8)), headers: { 'terra-signature': computeTerraSignature('x', 'wrong', Date.now() / 1000) } }]);

    const expected = ['2022-03-16/activity/user-full-2026-07-01T06:07:00Z.json', '2022-03-16/deauth/user-full-2026-07-03T08:00:00Z.json'];
    assert.ok(
      await waitFor(async () => (await listFiles(out)).length >= 2, 30_000, 200),
      `two files expected; stdout: ${JSON.stringify(child.logs.slice(-5))}`,
    );
    const files = (await listFiles(out)).map((file) => relative(out, file)).sort();
    assert.deepEqual(files, expected);
    const record = JSON.parse(await readFile(join(out, expected[0] ?? ''), 'utf8')) as { type: string; user: { user_id: string }; data: Array<{ metadata: { summary_id: string } }> };
    assert.equal(record.type, 'activity');
    assert.equal(record.user.user_id, 'user-full');
    assert.deepEqual(JSON.parse(await readFile(join(out, expected[1] ?? ''), 'utf8')), JSON.parse(deauth.toString()));

    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq'), expected: 1 });
    assert.equal(parked.length, 1);
    assert.equal(parked[0]?.key, 'user-forged');
    assert.equal(parked[0]?.headers['x-terra-fanout-error-code'], 'signature_invalid');

    child.child.kill('SIGTERM');
    assert.equal(await child.exited, 0, child.stderr());
    assert.ok(child.logs.some((line) => line['msg'] === 'Ingest gateway stopped.'));
    assert.ok(child.logs.some((line) => line['msg'] === 'Worker stopped.'));
  });
});
