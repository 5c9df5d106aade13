import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker({ topics: [] });
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * One tenant cannot take the worker down: destinations whose clients cannot even be built (a
 * missing key file, an unreadable CA certificate) fail their own lanes' checks with a coded
 * reason, retried, while another tenant's lane delivers, in the real `run` process.
 */
describe('tenant isolation in run', () => {
  const cleanups = useCleanups();

  it('destinations that cannot be built fail only their own lanes; the other tenant delivers and the process stays up', async () => {
    const good = uniqueName('good');
    const bad = uniqueName('bad');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: { http: { host: '127.0.0.1', port: 0 }, log: { level: 'info' } },
      tenants: [
        { tenant: 'fine', topics: [good], deadLetterTopic: `${good}.dlq`, destinations: [{ name: 'files', type: 'file', batch: { lingerMs: 10 }, config: { directory: '${OUT_DIR}' } }] },
        {
          tenant: 'broken',
          topics: [bad],
          deadLetterTopic: `${bad}.dlq`,
          defaults: { retry: { initialDelayMs: 50, maxDelayMs: 200 } },
          destinations: [
            { name: 'docs', type: 'firestore', config: { projectId: 'p', serviceAccountFile: '${MISSING}/key.json' } },
            { name: 'objects', type: 'gcs', config: { bucket: 'terra-bucket', keyFile: '${MISSING}/gcs.json' } },
            { name: 'stream', type: 'kafka', config: { brokers: ['127.0.0.1:1'], topic: 'out', ssl: { ca: '${MISSING}/ca.pem' } } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    let logs = '';
    const worker = spawn(process.execPath, [cli, 'run', '--config', workerPath], { env: { ...process.env, OUT_DIR: out, MISSING: join(dir, 'missing') }, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    cleanups.push(async () => void worker.kill('SIGKILL'));

    await kafka.produce(good, [0, 1, 2].map((index) => ({ key: 'u', value: JSON.stringify(activityEvent('u-fine', index)) })));
    assert.ok(await waitFor(async () => (await listFiles(out)).length === 3, 30_000), `the healthy tenant delivers (${logs.slice(-2000)})`);
    // Each broken lane has failed its check more than once, with a code, and the process is still there.
    const checkFailures = (lane: string, code: string): number => logs.split('\n').filter((line) => line.includes(`"lane":"${lane}"`) && line.includes('Destination check failed') && line.includes(`"code":"${code}`)).length;
    for (const [lane, code] of [['broken/docs', 'destination_misconfigured'], ['broken/stream', 'destination_misconfigured'], ['broken/objects', 'destination_']] as const) {
      assert.ok(await waitFor(() => checkFailures(lane, code) >= 2, 30_000), `${lane} fails its check with ${code}…, again and again`);
    }
    assert.equal(worker.exitCode, null, 'the worker is still running');
    assert.doesNotMatch(logs, /\n\s+at /, 'no stack trace printed');
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => (worker.exitCode !== null ? resolve(worker.exitCode) : worker.once('exit', resolve)));
    assert.equal(code, 0, 'drains and exits 0');
  });
});
