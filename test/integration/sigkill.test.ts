import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker({ topics: [] });
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function startWorkerProcess(workerPath: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [cli, 'run', '--config', workerPath], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return child;
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));


describe('crash safety', () => {
  const cleanups = useCleanups();

  it('a worker killed with SIGKILL mid-stream and restarted writes every record exactly once', async () => {
    const topic = uniqueName('events');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'files', type: 'file', batch: { maxRecords: 25, lingerMs: 10 }, config: { directory: '${OUT_DIR}' } }] }],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const env = { OUT_DIR: out };
    const total = 2000;
    const events = Array.from({ length: total }, (_, index) => activityEvent(`user-${index % 10}`, index));
    for (let start = 0; start < total; start += 500) {
      await kafka.produce(topic, events.slice(start, start + 500).map((event, offset) => ({ key: String((start + offset) % 10), value: JSON.stringify(event) })));
    }

    const first = startWorkerProcess(workerPath, env);
    cleanups.push(async () => void first.kill('SIGKILL'));
    assert.ok(await waitFor(async () => (await listFiles(out)).length >= 200, 30_000, 20), 'first worker started writing');
    first.kill('SIGKILL');
    await exited(first);
    const atKill = (await listFiles(out)).length;
    assert.ok(atKill < total, `killed mid-stream (${atKill}/${total} written)`);

    const second = startWorkerProcess(workerPath, env);
    cleanups.push(async () => void second.kill('SIGKILL'));
    assert.ok(await waitFor(async () => (await listFiles(out)).length >= total, 60_000, 100), 'restarted worker caught up');
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0, 'SIGTERM drains and exits 0');

    const written = await listFiles(out);
    assert.equal(written.length, total, 'no missing and no extra files');
    assert.equal(written.filter((path) => !path.endsWith('.json')).length, 0, 'no temp files left behind');
    const summaryIds = new Set<string>();
    for (const path of written) {
      const event = JSON.parse(await readFile(path, 'utf8')) as { data: Array<{ metadata: { summary_id: string } }> };
      summaryIds.add(event.data[0]?.metadata.summary_id ?? '');
    }
    assert.equal(summaryIds.size, total, 'each record written once, each file complete');
  });
});
