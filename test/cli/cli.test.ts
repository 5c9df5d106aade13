import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, type CliRun } from './support/run-cli.js';

function run(args: string[], input?: string): Promise<CliRun> {
  return runCli(args, { env: { TERRA_SIGNING_SECRET: 'cli-test-secret' }, ...(input === undefined ? {} : { input }) });
}

const lines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('terra-fanout command line', () => {
  let scratch = '';
  after(async () => {
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  it('has --help for every command', async () => {
    for (const command of ['run', 'ingest', 'validate', 'check-event', 'dev']) {
      const result = await run([command, '--help']);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, new RegExp(`Usage: terra-fanout ${command}`));
    }
    assert.match((await run(['--help'])).stdout, /check-event/);
  });

  it('validate accepts the shipped config and reports every problem with file and line', async () => {
    const good = await run(['validate', 'config']);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /^ok: \d+ files valid/);

    scratch = await mkdtemp(join(tmpdir(), 'terra-fanout-cli-'));
    const bad = join(scratch, 'bad.yaml');
    await writeFile(bad, ['tenant: acme', 'topics: [t]', 'deadLetterTopic: t.dlq', 'destinations:', '  - name: x', '    type: carrier-pigeon', '    config: {}', 'typo: 1', ''].join('\n'));
    const result = await run(['validate', bad]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:\\d+: destinations\\[0\\]\\.type`));
    assert.match(result.stderr, /:8:\d+: .*typo/);
    assert.match(result.stderr, /2 problems found/);
  });

  it('check-event prints identity and location per destination of a tenant', async () => {
    const result = await run(['check-event', '--tenant', 'config/tenants/demo.yaml', 'test/fixtures/terra/valid/activity.json', 'test/fixtures/terra/valid/daily.json']);
    assert.equal(result.code, 0, result.stderr);
    const output = lines(result.stdout);
    const activity = output.find((line) => line['type'] === 'activity');
    const daily = output.find((line) => line['type'] === 'daily');
    assert.ok(activity && daily);
    assert.match(String(activity['identity']), /^[0-9a-f]{32}$/);
    const destinations = activity['destinations'] as Record<string, string>;
    assert.match(destinations['raw'] ?? '', /^2022-03-16\/activity\/.+-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.json$/);
    assert.match(destinations['activity-only'] ?? '', /^activity-only\/activity\//);
    assert.equal((daily['destinations'] as Record<string, string>)['activity-only'], 'filtered out');
  });

  it('check-event without a tenant shows the Terra-parity key, and reads stdin', async () => {
    const event = { type: 'deauth', status: 'success', user: { user_id: 'u-9', provider: 'FITBIT' }, message: 'User has deauthenticated' };
    const result = await run(['check-event', '--timestamp', '1782000000000'], JSON.stringify(event));
    assert.equal(result.code, 0, result.stderr);
    const [line] = lines(result.stdout);
    assert.deepEqual(line?.['destinations'], { object_key: `2022-03-16/deauth/u-9-${new Date(1782000000000).toISOString().slice(0, 19)}Z.json` });
    const again = lines((await run(['check-event', '--timestamp', '1782000000000'], JSON.stringify(event))).stdout)[0];
    assert.equal(again?.['identity'], line?.['identity'], 'same input, same identity');
  });

  it('check-event prints the rejection code and exits 1 for a bad event', async () => {
    const result = await run(['check-event', '--ndjson'], '{"type":"activity","user":\n{"type":"mystery"}\n');
    assert.equal(result.code, 1);
    const output = lines(result.stdout);
    assert.deepEqual(
      output.map((line) => [line['input'], line['code']]),
      [
        ['<stdin>:1', 'malformed_json'],
        ['<stdin>:2', 'unknown_event_type'],
      ],
    );
  });

  it('check-event with a signed tenant rejects an unsigned event without printing the secret', async () => {
    const result = await run(['check-event', '--tenant', 'config/examples/webhook.yaml', '-H', 'terra-signature=t=1,v1=00', 'test/fixtures/terra/valid/activity.json']);
    assert.equal(result.code, 1);
    const [line] = lines(result.stdout);
    assert.equal(line?.['code'], 'signature_invalid');
    assert.ok(!result.stdout.includes('cli-test-secret') && !result.stderr.includes('cli-test-secret'));
  });

  it('run refuses to start on an invalid worker file and exits 2 with every problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-cli-run-'));
    try {
      const worker = join(dir, 'worker.yaml');
      await writeFile(worker, ['kafka:', '  brokers: []', 'http:', '  port: not-a-port', 'tenants:', '  dir: missing', ''].join('\n'));
      const result = await run(['run', '--config', worker]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /worker\.yaml:2:\d+: kafka\.brokers/);
      assert.match(result.stderr, /worker\.yaml:4:\d+: http\.port/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
