import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createFileClient, TEMP_SUFFIX, type FilePort } from '../../../connectors/file/client.js';
import { fileConfigSchema, type FileConfig } from '../../../connectors/file/config.js';
import { classifyFileError, createFileDestination } from '../../../connectors/file/destination.js';
import { encodeFileWrite } from '../../../connectors/file/encode.js';
import { fileConnector } from '../../../connectors/file/index.js';
import type { ConnectorContext, Destination } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { makeActivityBatch, makeRecord } from '../../support/records.js';

const context: ConnectorContext = { tenant: 'acme', destination: 'files', logger: pino({ level: 'silent' }) };
const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'terra-fanout-file-'));
  roots.push(root);
  return root;
}

function real(input: Record<string, unknown>): { config: FileConfig; destination: Destination } {
  const config = fileConfigSchema.parse(input);
  return { config, destination: createFileDestination(config, fileConnector.createClient(config, context), context) };
}

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1)).sort();
}

const signal = new AbortController().signal;

describe('file config', () => {
  it('applies defaults and rejects unknown keys and unsafe templates', () => {
    assert.deepEqual(fileConfigSchema.parse({ directory: '/tmp/x' }), { directory: '/tmp/x', fsync: true, timeoutMs: 30_000, unit: 'record' });
    assert.equal(fileConfigSchema.safeParse({ directory: '/tmp/x', dir: 'y' }).success, false);
    assert.equal(fileConfigSchema.safeParse({ directory: '/tmp/x', keyTemplate: '../{identity}' }).success, false);
    assert.equal(fileConfigSchema.safeParse({ directory: '' }).success, false);
  });
});

describe('file encode', () => {
  it('keys relative to the directory with prefix and template; body unchanged', () => {
    const record = makeRecord();
    const config = fileConfigSchema.parse({ directory: '/d', prefix: 'raw/', keyTemplate: '{tenant}/{type}/{summary_id}.json' });
    assert.deepEqual(encodeFileWrite(config, record, { tenant: 'acme' }), { key: 'raw/acme/activity/summary-1.json', body: record.body });
    assert.equal(fileConnector.locate(fileConfigSchema.parse({ directory: '/d' }), record, 'acme'), '2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
  });
});

describe('file destination on a real directory', () => {
  it('writes every record at directory/locate(), leaves no temp files, overwrites idempotently', async () => {
    const root = await freshDir();
    const { config, destination } = real({ directory: join(root, 'out', 'nested') });
    const batch = makeActivityBatch(4, ['u-1', 'u-2']);
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    const files = await allFiles(config.directory);
    assert.deepEqual(files, batch.map((record) => fileConnector.locate(config, record, "acme")).sort());
    for (const record of batch) assert.deepEqual(await readFile(join(config.directory, fileConnector.locate(config, record, "acme"))), record.body);
    assert.ok(files.every((file) => !file.endsWith(TEMP_SUFFIX)));
  });

  it('batches of large bodies (tens of MB, after which the writer thread collects its garbage at once) are written byte for byte', async () => {
    const root = await freshDir();
    const { config, destination } = real({ directory: root, fsync: false });
    for (let round = 0; round < 2; round += 1) {
      const batch = makeActivityBatch(3).map((record, index) => ({ ...record, body: Buffer.alloc(6 * 1024 * 1024 + index, `${round}${index}`) }));
      assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
      for (const record of batch) assert.ok((await readFile(join(config.directory, fileConnector.locate(config, record, 'acme')))).equals(record.body));
    }
    assert.ok((await allFiles(config.directory)).every((file) => !file.endsWith(TEMP_SUFFIX)));
    await destination.close();
  });

  it('a newer copy of the same record replaces the file; in one batch the last one wins', async () => {
    const root = await freshDir();
    const { config, destination } = real({ directory: root });
    const first = makeRecord({ body: Buffer.from('{"v":1}') });
    const second = makeRecord({ body: Buffer.from('{"v":2}') });
    const third = makeRecord({ body: Buffer.from('{"v":3}') });
    await destination.send([first], signal);
    assert.deepEqual(await destination.send([second, third], signal), [{ ok: true }, { ok: true }]);
    assert.equal(await readFile(join(root, fileConnector.locate(config, first, "acme")), 'utf8'), '{"v":3}');
    assert.equal((await allFiles(root)).length, 1);
  });

  it('check() creates a missing directory and leaves no probe behind', async () => {
    const root = await freshDir();
    const { destination } = real({ directory: join(root, 'a', 'b') });
    await destination.check();
    assert.deepEqual(await readdir(join(root, 'a', 'b')), ['.terra-fanout-tmp'], 'only the temp folder');
    const [own] = await readdir(join(root, 'a', 'b', '.terra-fanout-tmp'));
    assert.ok(own !== undefined);
    assert.deepEqual(await readdir(join(root, 'a', 'b', '.terra-fanout-tmp', own)), [], 'no probe left behind');
    await destination.close();
    await destination.close();
  });

  it('a path that is a file is destination_misconfigured, for check() and for every record', async () => {
    const root = await freshDir();
    const path = join(root, 'not-a-dir');
    await writeFile(path, 'x');
    const { destination } = real({ directory: path });
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured');
    const outcomes = await destination.send(makeActivityBatch(2), signal);
    for (const outcome of outcomes) assert.ok(!outcome.ok && outcome.error.code === 'destination_misconfigured');
    const below = real({ directory: join(path, 'sub') }).destination;
    await assert.rejects(below.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured');
  });

  it('a directory we may not write is destination_auth_failed', { skip: process.getuid?.() === 0 ? 'root ignores permissions' : false }, async () => {
    const root = await freshDir();
    const locked = join(root, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o500);
    try {
      const { destination } = real({ directory: locked });
      await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_auth_failed');
      const [outcome] = await destination.send([makeRecord()], signal);
      assert.ok(outcome && !outcome.ok && outcome.error.code === 'destination_auth_failed' && !outcome.error.retryable);
    } finally {
      await chmod(locked, 0o700);
    }
  });

  it('one failing record does not fail the others', async () => {
    const root = await freshDir();
    const config = fileConfigSchema.parse({ directory: root });
    const realClient = createFileClient(root);
    after(() => realClient.close());
    const flaky: FilePort = {
      probe: () => realClient.probe(),
      close: () => realClient.close(),
      async writeBatch(writes, writeSignal) {
        const kept = writes.filter((write) => !write.key.includes('u-2'));
        const written = await realClient.writeBatch(kept, writeSignal);
        return writes.map((write) => (write.key.includes('u-2') ? { ok: false, error: { code: 'ENOSPC', message: 'no space left on device', heldBack: false } } : (written.shift() ?? { ok: true })));
      },
    };
    const destination = createFileDestination(config, flaky, context);
    const batch = makeActivityBatch(4, ['u-1', 'u-2']);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code)),
      ['ok', 'destination_unavailable', 'ok', 'destination_unavailable'],
    );
    assert.equal((await allFiles(root)).length, 2);
  });
});

describe('file destination: a file system that stops answering', () => {
  it('a write that hangs fails the batch as destination_timeout within timeoutMs; the hung write never lands later; the next batch writes', async () => {
    const root = await freshDir();
    const hold = new SharedArrayBuffer(4);
    const flag = new Int32Array(hold);
    const timeoutMs = 1_000;
    const config = fileConfigSchema.parse({ directory: root, fsync: false, timeoutMs });
    const client = createFileClient(root, { fsync: false, timeoutMs, hold });
    const destination = createFileDestination(config, client, context);
    try {
      await destination.check();
      const [hung, later] = makeActivityBatch(2, ['u-hung', 'u-later']);
      assert.ok(hung !== undefined && later !== undefined);
      Atomics.store(flag, 0, 1);
      const started = Date.now();
      const outcomes = await destination.send([hung], signal);
      const elapsed = Date.now() - started;
      const [outcome] = outcomes;
      assert.ok(outcome !== undefined && !outcome.ok);
      assert.deepEqual([outcome.error.code, outcome.error.retryable], ['destination_timeout', true]);
      assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 2_500, `failed after ${elapsed} ms`);
      // The stuck thread wakes up: it must not rename the file it was holding.
      Atomics.store(flag, 0, 0);
      Atomics.notify(flag, 0);
      const deadline = Date.now() + 5_000;
      while ((await allFiles(root)).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(await allFiles(root), [], 'the abandoned write was not renamed into place, and its temporary file is gone');
      assert.deepEqual(await destination.send([later, hung], signal), [{ ok: true }, { ok: true }], 'a new writer thread takes over');
      assert.equal((await allFiles(root)).length, 2);
    } finally {
      Atomics.store(flag, 0, 0);
      Atomics.notify(flag, 0);
      await destination.close();
    }
  });
});

describe('classifyFileError', () => {
  const errno = (code: string): Error => Object.assign(new Error(`${code}: x`), { code });
  it('maps errno codes to the catalogue', () => {
    assert.equal(classifyFileError(errno('ENOSPC'), '/d').code, 'destination_unavailable');
    assert.equal(classifyFileError(errno('ENOSPC'), '/d').retryable, true);
    assert.equal(classifyFileError(errno('EACCES'), '/d').code, 'destination_auth_failed');
    assert.equal(classifyFileError(errno('ENOTDIR'), '/d').code, 'destination_misconfigured');
    assert.equal(classifyFileError(errno('EEXIST'), '/d').code, 'destination_misconfigured');
    assert.equal(classifyFileError(errno('EIO'), '/d').code, 'destination_unavailable');
    assert.equal(classifyFileError(errno('ENAMETOOLONG'), '/d').code, 'destination_rejected');
    assert.equal(classifyFileError(new TypeError('bug'), '/d').code, 'internal_error');
  });
});

describe('file client paths', () => {
  it('puts each key where the directory joined with it resolves, and refuses keys that leave the directory', async () => {
    const root = await freshDir();
    const client = createFileClient(join(root, 'out', '..', 'files'), { fsync: false, timeoutMs: 10_000 });
    try {
      const keys = ['a/b.json', 'x//y.json', 'x/./z.json', 'x/q/../w.json', '.hidden/v.json', 'plain.json', 'deep/er/still/u.json'];
      const results = await client.writeBatch(
        keys.map((key) => ({ key, body: Buffer.from(key) })),
        signal,
      );
      assert.deepEqual(results, keys.map(() => ({ ok: true })));
      for (const key of keys) assert.equal(await readFile(join(root, 'files', key), 'utf8'), key, key);
      const outside = await client.writeBatch([{ key: '../escape.json', body: Buffer.from('{}') }, { key: '/etc/x.json', body: Buffer.from('{}') }], signal);
      assert.deepEqual(
        outside.map((result) => (result.ok ? 'ok' : result.error.code)),
        ['EOUTSIDEDIRECTORY', 'EOUTSIDEDIRECTORY'],
      );
    } finally {
      await client.close();
    }
  });
});

describe('file client temp files', () => {
  it('keeps temp files in its own folder and removes those of dead processes of this host at check', async () => {
    const root = await mkdtemp(join(tmpdir(), 'terra-fanout-temp-'));
    try {
      const { hostname } = await import('node:os');
      const { TEMP_FOLDER } = await import('../../../connectors/file/client.js');
      const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
      const deadPid = 2 ** 22 + 12345; // above Linux's pid_max: never a live process
      const stale = join(root, TEMP_FOLDER, `${host}.${deadPid}`);
      const otherHost = join(root, TEMP_FOLDER, `other-host.${deadPid}`);
      await mkdir(stale, { recursive: true });
      await mkdir(otherHost, { recursive: true });
      await writeFile(join(stale, `left-by-sigkill${TEMP_SUFFIX}`), 'partial');
      const client = createFileClient(root);
      await client.probe();
      const folders = await readdir(join(root, TEMP_FOLDER));
      assert.ok(!folders.includes(`${host}.${deadPid}`), 'stale folder of a dead process removed');
      assert.ok(folders.includes(`other-host.${deadPid}`), "another host's folder left alone");
      assert.deepEqual(await client.writeBatch([{ key: 'a/b.json', body: Buffer.from('{}') }], new AbortController().signal), [{ ok: true }]);
      assert.equal(await readFile(join(root, 'a', 'b.json'), 'utf8'), '{}');
      assert.deepEqual(await readdir(join(root, TEMP_FOLDER, `${host}.${process.pid}`)), [], 'no temp file left after a write');
      await client.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
