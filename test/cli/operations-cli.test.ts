import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createAdminApi } from '../../src/admin/admin-api.js';
import { formatDuration, formatLanesTable, laneStateText, missingProcessesNote } from '../../src/cli/status.js';
import { formatTapLine } from '../../src/cli/tap.js';
import { Secret } from '../../src/config/secret.js';
import { startHttpServer, type HttpServer } from '../../src/observability/http-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationsMetrics } from '../../src/observability/metrics.js';
import { createTapHub, type TapHub } from '../../src/tap/tap-hub.js';
import type { TapEvent } from '../../src/worker/worker-control.js';
import { runCli, spawnCli, exited } from '../support/cli-process.js';
import { createFakeWorkerControl, laneStatus } from '../support/fake-worker-control.js';
import { waitFor } from '../support/worker-files.js';

const token = 'status-cli-token-0123456789';
const now = Date.parse('2026-07-01T12:00:00Z');
const lanes = [
  laneStatus({ tenant: 'acme', destination: 'lake', delivered: 1200, parked: 3, lastDeliveryAt: '2026-07-01T11:59:58Z' }),
  laneStatus({
    tenant: 'acme',
    destination: 'app',
    connector: 'webhook',
    state: 'retrying',
    stalled: { reason: 'destination_unavailable', since: '2026-07-01T11:00:00Z' },
    lag: { messages: 4521, seconds: 3725, partitions: [] },
    lastDeliveryAt: '2026-07-01T11:00:00Z',
    lastErrorCode: 'destination_unavailable',
    delivered: 88,
  }),
  laneStatus({ tenant: 'beta', destination: 'sql', connector: 'sql', state: 'paused', pausedByOperator: { by: 'alice', at: '2026-07-01T10:00:00Z' } }),
];

describe('status table', () => {
  it('shows state and why, lag, last delivery, last error and counts, aligned', () => {
    const table = formatLanesTable(lanes, now);
    const rows = table.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^TENANT +DESTINATION +CONNECTOR +STATE +LAG MSGS +LAG +LAST DELIVERY +LAST ERROR +DELIVERED +PARKED$/);
    assert.match(rows[1] ?? '', /^acme +app +webhook +retrying \(destination_unavailable\) +4521 +1h2m +1h0m ago +destination_unavailable +88 +0$/);
    assert.match(rows[2] ?? '', /^acme +lake +file +running +0 +- +2s ago +- +1200 +3$/);
    assert.match(rows[3] ?? '', /^beta +sql +sql +paused by alice +0 +- +- +- +0 +0$/);
    const stateColumn = rows[0]?.indexOf('STATE');
    assert.deepEqual([rows[1]?.indexOf('retrying'), rows[2]?.indexOf('running'), rows[3]?.indexOf('paused')], [stateColumn, stateColumn, stateColumn], 'columns line up');
  });

  it('formats durations and states', () => {
    assert.deepEqual([formatDuration(42), formatDuration(300), formatDuration(3725), formatDuration(2 * 86_400 + 4 * 3600)], ['42s', '5m', '1h2m', '2d4h']);
    assert.equal(laneStateText(laneStatus({ tenant: 't', destination: 'd', stalled: { reason: 'budget', since: '' } })), 'stalled (budget)');
    assert.equal(laneStateText(laneStatus({ tenant: 't', destination: 'd', state: 'checking', stalled: { reason: 'check_failed', since: '' } })), 'checking (check_failed)');
    assert.equal(laneStateText(laneStatus({ tenant: 't', destination: 'd', state: 'checking', pausedByOperator: { by: 'bob', at: '' } })), 'paused by bob (checking)');
  });

  it('says under the table which worker processes did not answer (run --processes N)', () => {
    assert.equal(missingProcessesNote(undefined), '');
    assert.equal(missingProcessesNote([]), '');
    assert.equal(missingProcessesNote([2]), '(worker process 2 did not answer: its partitions and counts are not shown)\n');
    assert.match(missingProcessesNote([1, 3]), /^\(worker processes 1, 3 did not answer: their /);
  });

  it('prints one tap line per event', () => {
    const line = formatTapLine({ at: '2026-07-01T08:00:01.123Z', tenant: 'acme', destination: 'app', outcome: 'parked', code: 'destination_rejected', type: 'sleep', userId: 'u-1', identity: 'e825b4c43ea32ef2b313bdc219c81a36', source: { topic: 'terra.events', partition: 2, offset: '17' } });
    assert.equal(line, '08:00:01.123  parked(destination_rejected)  acme/app  sleep  user=u-1  id=e825b4c43ea3  (terra.events/2@17)');
  });
});

describe('status and tap commands against a worker\'s admin API', () => {
  let http: HttpServer;
  let hub: TapHub;
  before(async () => {
    const registry = new Registry();
    hub = createTapHub({ maxSubscribers: 4, queueEvents: 100, maxBodyBytes: 1024 });
    const control = createFakeWorkerControl(lanes.map((lane) => ({ ...lane })), hub);
    const extraRoutes = createAdminApi({
      config: { enabled: true, token: new Secret(token), tap: { maxSubscribers: 4, queueEvents: 100, maxBodyBytes: 1024 } },
      control,
      reload: (reason) => control.reload(reason),
      tap: hub,
      metrics: createOperationsMetrics(registry),
      logger: createLogger('fatal'),
    });
    http = await startHttpServer({ host: '127.0.0.1', port: 0, registry, health: { notReady: () => [] }, extraRoutes });
  });
  after(async () => {
    await http.close();
  });

  it('status prints the lanes table; a wrong token fails with the API\'s answer', async () => {
    const ok = await runCli(['status', '--url', http.url], { TERRA_FANOUT_ADMIN_TOKEN: token });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^TENANT +DESTINATION/);
    assert.match(ok.stdout, /acme +app +webhook +retrying \(destination_unavailable\) +4521/);
    assert.match(ok.stdout, /beta +sql +sql +paused by alice/);

    const json = await runCli(['status', '--url', `${http.url}/admin`, '--token', token, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { lanes: unknown[] }).lanes.length, 3);

    const refused = await runCli(['status', '--url', http.url, '--token', 'wrong-token'], { TERRA_FANOUT_ADMIN_TOKEN: '' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401 Unauthorized: A valid admin token is required/);

    const nobody = await runCli(['status', '--url', 'http://127.0.0.1:9', '--timeout', '2000']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /Cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('tap prints the records a lane publishes, filtered, and stops at --limit', async () => {
    const tap = spawnCli(['tap', '--url', http.url, '--destination', 'app', '--limit', '2', '--json'], { TERRA_FANOUT_ADMIN_TOKEN: token });
    assert.ok(await waitFor(() => hub.wants('acme', 'app'), 20_000), 'the tap subscribed');
    const event = (identity: string, destination = 'app'): TapEvent => ({ at: new Date().toISOString(), tenant: 'acme', destination, outcome: 'delivered', type: 'activity', userId: 'u-1', identity, source: { topic: 't', partition: 0, offset: identity } });
    hub.publish(event('1', 'lake'), () => Buffer.from('{}'));
    hub.publish(event('2'), () => Buffer.from('{}'));
    hub.publish(event('3'), () => Buffer.from('{}'));
    assert.equal(await exited(tap.child), 0, tap.output.stderr);
    const printed = tap.output.stdout.trim().split('\n').map((line) => (JSON.parse(line) as TapEvent).identity);
    assert.deepEqual(printed, ['2', '3']);
    assert.ok(await waitFor(() => hub.subscribers === 0, 10_000), 'the stream closed with the command');
  });
});
