import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { semiSpaceMiB, workerEnvironment, workerNodeFlags } from '../../src/cli/v8-heap.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const MiB = 1024 * 1024;
const kafka = useKafkaBroker({ topics: [] });
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The pids whose parent is `pid`, with their command lines (NUL-separated in /proc). */
async function childrenOf(pid: number): Promise<Array<{ pid: number; args: string[] }>> {
  const found: Array<{ pid: number; args: string[] }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    found.push({ pid: Number(entry), args: cmdline.split('\0').filter((arg) => arg !== '') });
  }
  return found;
}

/** Running, not a zombie (an orphan's exit may wait for a reaper that never comes in a container). */
async function alive(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const state = /^State:\s+(\w)/m.exec(status)?.[1];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

describe('V8 heap settings of the worker', () => {
  const cleanups = useCleanups();

  it('sizes the young generation from the process budget, and leaves it to an explicit flag', () => {
    assert.equal(semiSpaceMiB(16 * MiB), 8);
    assert.equal(semiSpaceMiB(96 * MiB), 24);
    assert.equal(semiSpaceMiB(256 * MiB), 64);
    assert.equal(semiSpaceMiB(4096 * MiB), 64);
    const saved = process.env['NODE_OPTIONS'];
    try {
      process.env['NODE_OPTIONS'] = '--max-semi-space-size=4';
      assert.deepEqual(workerNodeFlags(512 * MiB), [], 'NODE_OPTIONS wins');
      delete process.env['NODE_OPTIONS'];
      assert.deepEqual(workerNodeFlags(128 * MiB), ['--max-semi-space-size=32']);
      assert.deepEqual(workerNodeFlags(64 * MiB), [], 'a budget whose quarter is V8\'s default 16 MiB needs no second process');
    } finally {
      if (saved === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = saved;
    }
  });

  it('gives glibc malloc a fixed mmap threshold, unless the environment sets one or tuning is off', () => {
    assert.deepEqual(workerEnvironment({}), { MALLOC_MMAP_THRESHOLD_: String(MiB) });
    assert.deepEqual(workerEnvironment({ MALLOC_MMAP_THRESHOLD_: '65536' }), {}, 'the operator\'s own wins');
    const saved = process.env['TERRA_FANOUT_V8_TUNING'];
    try {
      process.env['TERRA_FANOUT_V8_TUNING'] = 'off';
      assert.deepEqual(workerEnvironment({}), {});
    } finally {
      if (saved === undefined) delete process.env['TERRA_FANOUT_V8_TUNING'];
      else process.env['TERRA_FANOUT_V8_TUNING'] = saved;
    }
  });

  it('run starts the worker with the flag and malloc setting; a launcher killed with SIGKILL takes the worker with it', async () => {
    const topic = uniqueName('events');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: { budgets: { processInFlightBytes: '128MiB', laneInFlightBytes: '64MiB' } },
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'files', type: 'file', config: { directory: join('${OUT_DIR}') } }] }],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { MALLOC_MMAP_THRESHOLD_: _unset, ...environment } = process.env;
    const launcher: ChildProcess = spawn(process.execPath, [cli, 'run', '--config', workerPath], { env: { ...environment, OUT_DIR: join(dir, 'out') }, stdio: ['ignore', 'ignore', 'pipe'] });
    launcher.stderr?.resume();
    cleanups.push(async () => void launcher.kill('SIGKILL'));
    const pid = launcher.pid ?? 0;
    let worker: { pid: number; args: string[] } | undefined;
    assert.ok(await waitFor(async () => (worker = (await childrenOf(pid)).find((child) => child.args.includes('run'))) !== undefined, 20_000), 'a worker process started');
    assert.ok(worker?.args.includes('--max-semi-space-size=32'), `worker flags: ${worker?.args.join(' ')}`);
    const workerEnv = (await readFile(`/proc/${worker?.pid ?? 0}/environ`, 'utf8')).split('\0');
    assert.ok(workerEnv.includes(`MALLOC_MMAP_THRESHOLD_=${MiB}`), 'the worker runs with the malloc threshold');
    cleanups.push(async () => void (worker !== undefined && (await alive(worker.pid)) ? process.kill(worker.pid, 'SIGKILL') : undefined));
    launcher.kill('SIGKILL');
    assert.ok(await waitFor(async () => worker !== undefined && !(await alive(worker.pid)), 10_000, 50), 'the worker is gone with its launcher');
  });

  it('TERRA_FANOUT_V8_TUNING=off runs the worker in the process started, with V8 defaults', async () => {
    const topic = uniqueName('events');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: { log: { level: 'info' } },
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'files', type: 'file', config: { directory: '${OUT_DIR}' } }] }],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let output = '';
    const worker = spawn(process.execPath, [cli, 'run', '--config', workerPath], { env: { ...process.env, OUT_DIR: join(dir, 'out'), TERRA_FANOUT_V8_TUNING: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.resume();
    cleanups.push(async () => void worker.kill('SIGKILL'));
    assert.ok(await waitFor(() => output.includes('Worker started.'), 20_000), 'the worker started');
    assert.deepEqual((await childrenOf(worker.pid ?? 0)).filter((child) => child.args.includes('run')), [], 'no second process');
    worker.kill('SIGTERM');
  });
});
