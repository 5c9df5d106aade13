/**
 * The command line behaves like a tool: exit codes (0 ok, 1 rejected, 2 could not run), expected
 * failures as one line without a stack, a closed pipe ends quietly, required options marked in
 * --help, and --version loads no connector SDK. Every case spawns the real CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { cliPath, hasStackTrace, repoRoot, runCli } from './support/run-cli.js';

const scratch: string[] = [];
after(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-command-line-'));
  scratch.push(dir);
  return dir;
}

/** A worker file (Kafka never contacted by these tests) with one file-destination tenant. */
async function deployment(http: { port: number }): Promise<{ dir: string; workerPath: string }> {
  const dir = await folder();
  await mkdir(join(dir, 'tenants'));
  await writeFile(join(dir, 'tenants', 'acme.yaml'), stringify({ tenant: 'acme', topics: ['t'], deadLetterTopic: 't.dlq', destinations: [{ name: 'files', type: 'file', config: { directory: join(dir, 'out') } }] }));
  const workerPath = join(dir, 'worker.yaml');
  await writeFile(workerPath, stringify({ kafka: { brokers: ['127.0.0.1:1'] }, http: { host: '127.0.0.1', port: http.port } }));
  return { dir, workerPath };
}

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

const recorder = fileURLToPath(new URL('./support/record-imports.js', import.meta.url));
const SDKS = /\/node_modules\/(@aws-sdk|@google-cloud|@azure|@supabase|mongodb|pg|mysql2|kafkajs)\//;

async function importedPackages(args: string[]): Promise<string[]> {
  const dir = await folder();
  const file = join(dir, 'imports.txt');
  await writeFile(file, '');
  const result = await runCli(args, { nodeArgs: ['--import', recorder], env: { TERRA_FANOUT_RECORD_IMPORTS: file } });
  assert.equal(result.code, 0, result.stderr);
  return (await readFile(file, 'utf8')).split('\n').filter((url) => SDKS.test(url));
}

describe('terra-fanout as a tool', () => {
  it('--version and --help load no connector SDK (and validate, which needs them, does)', async () => {
    assert.deepEqual(await importedPackages(['--version']), []);
    assert.deepEqual(await importedPackages(['run', '--help']), []);
    const validate = await importedPackages(['validate', 'config/worker.yaml']);
    assert.ok(validate.some((url) => url.includes('/@aws-sdk/')), 'the recorder sees SDK imports when they happen');
  });

  it('--help marks required options and lists the exit codes of every command', async () => {
    const run = await runCli(['run', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /-c, --config <worker\.yaml>\s+\(required\) worker config file/);
    assert.match(run.stdout, /-p, --processes <n\|auto>/);
    assert.doesNotMatch(run.stdout, /--processes <n\|auto>\s+\(required\)/);
    for (const command of ['run', 'validate', 'check-event', 'dev']) {
      const help = await runCli([command, '--help']);
      assert.match(help.stdout, /Exit codes:\n {2}0 {2}.+\n {2}1 {2}.+\n {2}2 {2}could not run/, command);
    }
    assert.match((await runCli(['--help'])).stdout, /Exit codes:/);
  });

  it('a usage error exits 2 and names the problem', async () => {
    const missing = await runCli(['run']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '-c, --config <worker\.yaml>' not specified/);
    const unknown = await runCli(['check-event', '--no-such-option']);
    assert.equal(unknown.code, 2);
    const badProcesses = await runCli(['run', '--config', 'config/worker.yaml', '--processes', 'lots']);
    assert.equal(badProcesses.code, 2);
    assert.match(badProcesses.stderr, /Expected a whole number from 1 to \d+, or auto/);
    for (const result of [missing, unknown, badProcesses]) assert.ok(!hasStackTrace(result.stderr), result.stderr);
  });

  it('check-event: a missing file exits 2, a rejected event 1, an event with no records says so and exits 0', async () => {
    const missing = await runCli(['check-event', 'no/such/event.json']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'terra-fanout: no/such/event.json: file not found\n');

    const rejected = await runCli(['check-event'], { input: '{"type":"activity"' });
    assert.equal(rejected.code, 1);
    assert.match(rejected.stdout, /"code":"malformed_json"/);

    const badTenant = await runCli(['check-event', '--tenant', 'no/such/tenant.yaml'], { input: '{}' });
    assert.equal(badTenant.code, 2);
    assert.match(badTenant.stderr, /no\/such\/tenant\.yaml: file not found/);

    const empty = await runCli(['check-event', '--tenant', 'config/tenants/demo.yaml'], { input: JSON.stringify({ type: 'activity', user: { user_id: 'u-1', provider: 'GARMIN' }, data: [], version: '2022-03-16' }) });
    assert.equal(empty.code, 0, empty.stderr);
    const line = JSON.parse(empty.stdout) as Record<string, unknown>;
    assert.equal(line['input'], '<stdin>');
    assert.equal(line['records'], 0);
    assert.match(String(line['reason']), /no data items \(data: \[\]\)/);
    for (const result of [missing, rejected, badTenant, empty]) assert.ok(!hasStackTrace(result.stderr), result.stderr);
  });

  it('check-event ... | head -1 ends quietly with its own exit code', async () => {
    const dir = await folder();
    const events = join(dir, 'events.ndjson');
    const samples = await readFile(join(repoRoot, 'config/samples/events.ndjson'), 'utf8');
    // Far more than a pipe buffer (64 KiB) of output, so the writer meets the closed pipe.
    await writeFile(events, samples.repeat(60));
    const script = `"${process.execPath}" "${cliPath}" check-event --ndjson "${events}" | head -1 >/dev/null; echo "exit=\${PIPESTATUS[0]}"`;
    const child = spawn('bash', ['-c', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    assert.equal(stderr, '', 'nothing on stderr: no EPIPE stack');
    assert.equal(stdout.trim(), 'exit=0');
  });

  it('run: a port in use, a missing worker file and a YAML syntax error exit 2 with one line each', async () => {
    const { server, port } = await listen();
    try {
      const { workerPath } = await deployment({ port });
      const busy = await runCli(['run', '--config', workerPath]);
      assert.equal(busy.code, 2, busy.stderr);
      assert.match(busy.stderr, new RegExp(`terra-fanout: 127\\.0\\.0\\.1:${port} is already in use`));
      assert.ok(!hasStackTrace(busy.stderr), busy.stderr);

      const busyGroup = await runCli(['run', '--config', workerPath, '--processes', '2']);
      assert.equal(busyGroup.code, 2, busyGroup.stderr);
      assert.match(busyGroup.stderr, /is already in use/);
      assert.ok(!hasStackTrace(busyGroup.stderr), busyGroup.stderr);
    } finally {
      server.close();
    }

    const missing = await runCli(['run', '--config', 'no/such/worker.yaml']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^no\/such\/worker\.yaml: file not found\n1 problem found\.\n$/);

    const dir = await folder();
    await writeFile(join(dir, 'worker.yaml'), 'kafka:\n  brokers: [a:1\nhttp: {}\n');
    const syntax = await runCli(['run', '--config', join(dir, 'worker.yaml')]);
    assert.equal(syntax.code, 2);
    assert.match(syntax.stderr, /worker\.yaml:3:1: YAML syntax error/);
    for (const result of [missing, syntax]) assert.ok(!hasStackTrace(result.stderr), result.stderr);
  });

  it('dev: a port in use exits 2 with one line', async () => {
    const { server, port } = await listen();
    try {
      const result = await runCli(['dev', '--http-port', String(port)], { env: { OUT_DIR: await folder() } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /is already in use/);
      assert.ok(!hasStackTrace(result.stderr), result.stderr);
    } finally {
      server.close();
    }
  });

  it('validate: a path that does not exist exits 2, a problem in a file 1', async () => {
    const missing = await runCli(['validate', 'config/worker.yaml', 'no/such/dir']);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'terra-fanout: no/such/dir: not found; expected a config file or a folder of them\n');
  });

  it('validate reports a worker file\'s tenants folder that cannot be read, and the tenant files in it', async () => {
    const { dir, workerPath } = await deployment({ port: 0 });
    await writeFile(join(dir, 'tenants', 'broken.yaml'), 'tenant: broken\ntopics: [t]\ndeadLetterTopic: t.dlq\ndestinations: []\ndefualts: {}\n');
    const listed = await runCli(['validate', workerPath]);
    assert.equal(listed.code, 1);
    assert.match(listed.stderr, /broken\.yaml:5:1: defualts: unknown key; did you mean "defaults"\?/);

    await writeFile(workerPath, stringify({ kafka: { brokers: ['127.0.0.1:1'] }, tenants: { dir: 'tenants/acme.yaml' } }));
    const unreadable = await runCli(['validate', workerPath]);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.stderr, /worker\.yaml:\d+:\d+: tenants\.dir: the tenants folder is not a folder; expected a readable folder of tenant files/);
    assert.ok(!hasStackTrace(unreadable.stderr), unreadable.stderr);
    const run = await runCli(['run', '--config', workerPath]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /tenants\.dir: the tenants folder is not a folder/, 'run refuses the same folder');
  });
});
