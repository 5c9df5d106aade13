/** `terra-fanout validate --check-connections`: the function, and the command against a real PostgreSQL. */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { z } from 'zod';
import { checkConnections, formatConnectionResult, tenantsOf, type TenantSource } from '../../src/cli/check-connections.js';
import type { AnyConnectorDefinition, Destination } from '../../src/connector/contract.js';
import { createTenantSchema } from '../../src/config/tenant-schema.js';
import { Secret } from '../../src/config/secret.js';
import { secretString } from '../../src/config/secret-schema.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { usePostgres } from '../support/postgres.js';
import { freePort } from '../support/server-process.js';
import { hasStackTrace, runCli, type CliRun } from './support/run-cli.js';

const postgres = usePostgres();
const scratch: string[] = [];
after(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-check-connections-'));
  scratch.push(dir);
  return dir;
}

/** Writes tenant `acme` on topic terra.events with these destinations. */
async function writeTenantFile(file: string, destinations: Array<Record<string, unknown>>): Promise<void> {
  await writeFile(file, stringify({ tenant: 'acme', topics: ['terra.events'], deadLetterTopic: 'terra.events.dlq', destinations }));
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { env });
}

/** A connector whose check() does what its config says: pass, fail with a code, throw a bare error, or never answer. */
const scriptedConnector: AnyConnectorDefinition = {
  type: 'scripted',
  description: 'Test connector whose check does what the config says.',
  configSchema: z.object({ outcome: z.enum(['pass', 'refuse', 'crash', 'hang']) }).meta({ description: 'What check() does.' }),
  unit: () => 'record',
  locate: (_config, record) => record.identity,
  createClient: () => undefined,
  createDestination: (config): Destination => {
    const { outcome } = z.object({ outcome: z.string() }).parse(config);
    let closed = 0;
    return {
      async check() {
        if (outcome === 'refuse') throw new FanoutError('destination_auth_failed', 'The key was refused.');
        if (outcome === 'crash') throw new TypeError('cannot read properties of undefined');
        if (outcome === 'hang') await new Promise(() => undefined);
      },
      send: async (batch) => batch.map(() => ({ ok: true as const })),
      async close() {
        closed += 1;
        if (closed > 1) throw new Error('closed twice');
      },
    };
  },
  contract: { exampleConfig: () => ({ outcome: 'pass' }), memoryPort: () => ({ client: undefined, stored: () => new Map(), breakWith: () => undefined }) },
};

describe('checkConnections', () => {
  it('one result per destination, in order: OK, the error code, internal_error for a bare error, destination_timeout for a hang', async () => {
    const schema = createTenantSchema([scriptedConnector]);
    const tenant = schema.parse({
      tenant: 'acme',
      topics: ['t'],
      deadLetterTopic: 't.dlq',
      destinations: ['pass', 'refuse', 'crash', 'hang', 'pass'].map((outcome, index) => ({ name: `d${index}`, type: 'scripted', config: { outcome } })),
    });
    const sources: TenantSource[] = [{ file: 'acme.yaml', tenant }];
    const results = await checkConnections(sources, { logger: pino({ level: 'silent' }), connectors: [scriptedConnector], timeoutMs: 200, concurrency: 2 });
    assert.deepEqual(
      results.map((result) => [result.destination, result.ok ? 'ok' : result.error.code]),
      [['d0', 'ok'], ['d1', 'destination_auth_failed'], ['d2', 'internal_error'], ['d3', 'destination_timeout'], ['d4', 'ok']],
    );
    assert.match(formatConnectionResult(results[0] ?? assert.fail()), /^OK {6}acme\/d0 \(scripted\) \d+ ms$/);
    assert.equal(formatConnectionResult(results[1] ?? assert.fail()), 'FAILED  acme/d1 (scripted): destination_auth_failed: The key was refused.');
    assert.match(formatConnectionResult(results[3] ?? assert.fail()), /^FAILED {2}acme\/d3 \(scripted\): destination_timeout \(retryable\): The check did not finish within 200 ms\.$/);
  });

  it('a destination whose client cannot be built is destination_misconfigured, without its secrets, and the others are still checked', async () => {
    const unbuildable: AnyConnectorDefinition = {
      ...scriptedConnector,
      type: 'unbuildable',
      configSchema: z.object({ password: secretString('A password.') }).meta({ description: 'A client that cannot be built.' }),
      createClient: (config) => {
        const { password } = z.object({ password: z.instanceof(Secret) }).parse(config);
        throw new Error(`cannot parse certificate for ${password.reveal()}`);
      },
    };
    const connectors = [scriptedConnector, unbuildable];
    const tenant = createTenantSchema(connectors).parse({
      tenant: 'acme',
      topics: ['t'],
      deadLetterTopic: 't.dlq',
      destinations: [
        { name: 'broken', type: 'unbuildable', config: { password: 'hunter2-secret' } },
        { name: 'fine', type: 'scripted', config: { outcome: 'pass' } },
      ],
    });
    const results = await checkConnections([{ file: 'acme.yaml', tenant }], { logger: pino({ level: 'silent' }), connectors });
    assert.deepEqual(results.map((result) => [result.destination, result.ok ? 'ok' : result.error.code]), [['broken', 'destination_misconfigured'], ['fine', 'ok']]);
    const line = formatConnectionResult(results[0] ?? assert.fail());
    assert.equal(line, 'FAILED  acme/broken (unbuildable): destination_misconfigured: The unbuildable destination\'s client could not be built: Error: cannot parse certificate for [redacted]');
  });

  it('finds the tenants of tenant files and of worker files, and skips other YAML', async () => {
    const dir = await folder();
    await mkdir(join(dir, 'tenants'));
    const tenant = (name: string) => stringify({ tenant: name, topics: ['t'], deadLetterTopic: 't.dlq', destinations: [{ name: 'files', type: 'file', config: { directory: join(dir, 'out') } }] });
    await writeFile(join(dir, 'tenants', 'a.yaml'), tenant('a'));
    await writeFile(join(dir, 'worker.yaml'), stringify({ kafka: { brokers: ['127.0.0.1:9092'] }, tenants: { dir: 'tenants' } }));
    await writeFile(join(dir, 'b.yaml'), tenant('b'));
    await writeFile(join(dir, 'other.yaml'), 'just: data\n');
    const { tenants, problems } = await tenantsOf([join(dir, 'worker.yaml'), join(dir, 'b.yaml'), join(dir, 'tenants', 'a.yaml'), join(dir, 'other.yaml')]);
    assert.deepEqual(problems, []);
    assert.deepEqual(tenants.map((source) => [source.file.slice(dir.length + 1), source.tenant.tenant]), [['tenants/a.yaml', 'a'], ['b.yaml', 'b']]);
  });
});

describe('terra-fanout validate --check-connections', () => {
  it('prints OK or the coded error per destination and exits 1 when any fails; creates the SQL tables as run would', async () => {
    const dir = await folder();
    const closedPort = await freePort();
    const down = new URL(postgres.current.url);
    down.port = String(closedPort);
    const file = join(dir, 'acme.yaml');
    await writeTenantFile(file, [
      { name: 'files', type: 'file', config: { directory: join(dir, 'out') } },
      { name: 'warehouse', type: 'sql', config: { dialect: 'postgres', url: '${WAREHOUSE_URL}' } },
      { name: 'replica', type: 'sql', config: { dialect: 'postgres', url: down.toString(), password: '${REPLICA_PASSWORD}', pool: { connectTimeoutMs: 1000 } } },
    ]);
    const env = { WAREHOUSE_URL: postgres.current.url, REPLICA_PASSWORD: 'replica-password-never-printed' };
    const failing = await run(['validate', '--check-connections', file], env);
    assert.equal(failing.code, 1, failing.stderr);
    const lines = failing.stdout.trim().split('\n');
    assert.equal(lines[0], 'ok: 1 file valid');
    assert.match(lines[1] ?? '', /^OK {6}acme\/files \(file\) \d+ ms$/);
    assert.match(lines[2] ?? '', /^OK {6}acme\/warehouse \(sql\) \d+ ms$/);
    assert.match(lines[3] ?? '', new RegExp(`^FAILED {2}acme/replica \\(sql\\): destination_unavailable \\(retryable\\): PostgreSQL 127\\.0\\.0\\.1:${closedPort}/`));
    assert.equal(lines[4], '2 of 3 destinations reachable and writable.');
    assert.ok(!`${failing.stdout}${failing.stderr}`.includes(env.REPLICA_PASSWORD), 'no secret printed');
    const tables = await postgres.current.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'terra' ORDER BY tablename");
    assert.deepEqual(tables.map((row) => row.name), ['terra_data_payloads', 'terra_other_payloads', 'terra_users']);

    await writeTenantFile(file, [{ name: 'warehouse', type: 'sql', config: { dialect: 'postgres', url: '${WAREHOUSE_URL}' } }]);
    const passing = await run(['validate', '--check-connections', file], env);
    assert.equal(passing.code, 0, passing.stdout + passing.stderr);
    assert.match(passing.stdout, /1 of 1 destination reachable and writable\.\n$/);
  });

  it('prints every destination\'s result without a stack when clients cannot even be built (missing CA and key files)', async () => {
    const dir = await folder();
    const file = join(dir, 'acme.yaml');
    const missing = join(dir, 'missing');
    await writeTenantFile(file, [
      { name: 'stream', type: 'kafka', config: { brokers: ['127.0.0.1:1'], topic: 'out', ssl: { ca: join(missing, 'ca.pem') } } },
      { name: 'documents', type: 'firestore', config: { projectId: 'p', serviceAccountFile: join(missing, 'key.json') } },
      { name: 'mongo', type: 'mongodb', config: { url: 'mongodb://127.0.0.1:1/terra', database: 'terra', tls: { enabled: true, caFile: join(missing, 'ca.pem') } } },
      { name: 'files', type: 'file', config: { directory: join(dir, 'out') } },
    ]);
    const result = await run(['validate', '--check-connections', file]);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(!hasStackTrace(result.stdout + result.stderr), result.stdout + result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[1] ?? '', /^FAILED {2}acme\/stream \(kafka\): destination_misconfigured: The kafka destination's client could not be built: Error: ENOENT/);
    assert.match(lines[2] ?? '', /^FAILED {2}acme\/documents \(firestore\): destination_misconfigured: /);
    assert.match(lines[3] ?? '', /^FAILED {2}acme\/mongo \(mongodb\): destination_misconfigured: /);
    assert.match(lines[4] ?? '', /^OK {6}acme\/files \(file\) \d+ ms$/);
    assert.equal(lines[5], '1 of 4 destinations reachable and writable.');
  });

  it('checks nothing when the files are invalid, and nothing without the option', async () => {
    const dir = await folder();
    const file = join(dir, 'acme.yaml');
    await writeFile(file, stringify({ tenant: 'acme', topics: ['t'], deadLetterTopic: 't.dlq', destinations: [{ name: 'files', type: 'file', config: { directory: join(dir, 'out') } }] }));
    const plain = await run(['validate', file]);
    assert.equal(plain.code, 0);
    assert.equal(plain.stdout, 'ok: 1 file valid\n');
    await writeFile(file, 'tenant: acme\n');
    const invalid = await run(['validate', '--check-connections', file]);
    assert.equal(invalid.code, 1);
    assert.doesNotMatch(invalid.stdout, /OK|FAILED/);
  });
});
