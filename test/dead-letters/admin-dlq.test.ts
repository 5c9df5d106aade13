import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { connectorRegistry } from '../../connectors/registry.js';
import { createAdminApi } from '../../src/admin/admin-api.js';
import { Secret } from '../../src/config/secret.js';
import { tenantConfigSchema, type TenantConfig } from '../../src/config/tenant-schema.js';
import { workerConfigSchema } from '../../src/config/worker-schema.js';
import { createDeadLetterOperations } from '../../src/dead-letters/dead-letter-operations.js';
import type { DeadLetterSummary } from '../../src/dead-letters/inspect-dead-letters.js';
import type { ParkedRecord } from '../../src/dead-letters/parked-record.js';
import type { RedriveJobView } from '../../src/dead-letters/redrive-jobs.js';
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import { createKafkaClient, type InboundMessage } from '../../src/kafka/kafka-client.js';
import { createDestinationReader } from '../../src/pipeline/destination-reader.js';
import { buildDeadLetter } from '../../src/lane/dead-letter.js';
import { startHttpServer, type HttpServer } from '../../src/observability/http-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationsMetrics } from '../../src/observability/metrics.js';
import { createTapHub } from '../../src/tap/tap-hub.js';
import { createFakeWorkerControl } from '../support/fake-worker-control.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, waitFor } from '../support/worker-files.js';

const kafka = useKafkaBroker();
const token = 'admin-dlq-token-0123456789';
const day = (hour: number): number => Date.UTC(2026, 6, 1, hour);

/** Dead letters of two destinations, three codes and three times; the user is u-<index % 3>. */
/** Dead letters of one record each, except the schema violation (the whole message). */
const parked: Array<{ destination: string; code: ErrorCode; atMs: number; perRecord: boolean }> = [
  { destination: 'app', code: 'destination_rejected', atMs: day(1), perRecord: true },
  { destination: 'app', code: 'destination_rejected', atMs: day(2), perRecord: true },
  { destination: 'app', code: 'retries_exhausted', atMs: day(3), perRecord: true },
  { destination: 'lake', code: 'destination_misconfigured', atMs: day(2), perRecord: true },
  { destination: 'app', code: 'schema_violation', atMs: day(4), perRecord: false },
  { destination: 'lake', code: 'retries_exhausted', atMs: day(5), perRecord: true },
];

describe('dead letters through the admin API', () => {
  let http: HttpServer;
  let receiver: WebhookReceiver;
  let tenant: TenantConfig;
  /** The identity of each parked record, as the lane's decode path gives it. */
  const identities: string[] = [];

  before(async () => {
    receiver = await startWebhookReceiver();
    const topic = uniqueName('events');
    tenant = tenantConfigSchema.parse({
      tenant: 'acme',
      topics: [topic],
      deadLetterTopic: `${topic}.dlq`,
      destinations: [
        { name: 'app', type: 'webhook', config: { url: `${receiver.url}/app` } },
        { name: 'lake', type: 'webhook', config: { url: `${receiver.url}/lake` } },
      ],
    });
    const worker = workerConfigSchema.parse({ kafka: { brokers: kafka.brokers, librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 } });
    const webhook = connectorRegistry.find((connector) => connector.type === 'webhook');
    assert.ok(webhook !== undefined && tenant.destinations[0] !== undefined);
    const read = createDestinationReader(worker, tenant, tenant.destinations[0], webhook);
    const messages: InboundMessage[] = parked.map((entry, index) => {
      const value = Buffer.from(JSON.stringify(activityEvent(`u-${index % 3}`, index)));
      return { topic, partition: 0, offset: String(index), timestampMs: entry.atMs, key: Buffer.from(`u-${index % 3}`), value, headers: {}, sizeBytes: value.length };
    });
    for (const message of messages) {
      const outcome = await read(message);
      assert.ok(outcome.ok && outcome.records[0] !== undefined);
      identities.push(outcome.records[0].identity);
    }
    await kafka.produce(
      tenant.deadLetterTopic,
      parked.map((entry, index) => {
        const message = buildDeadLetter({
          message: messages[index]!,
          error: new FanoutError(entry.code, 'parked for the test'),
          attempts: 1,
          firstFailureMs: entry.atMs,
          lastFailureMs: entry.atMs,
          tenant: 'acme',
          destination: entry.destination,
          connector: 'webhook',
          record: entry.perRecord ? { identity: identities[index] ?? '', type: 'activity', itemIndex: null } : undefined,
        });
        return { key: message.key, value: message.value, headers: message.headers };
      }),
    );
    const logger = createLogger('fatal');
    const registry = new Registry();
    const hub = createTapHub({ maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 100 });
    const control = createFakeWorkerControl([], hub);
    const deadLetters = createDeadLetterOperations({
      kafka: createKafkaClient(worker.kafka, logger),
      worker: () => worker,
      tenant: (name) => (name === tenant.tenant ? tenant : undefined),
      connectors: connectorRegistry,
      logger,
    });
    const extraRoutes = createAdminApi({
      config: { enabled: true, token: new Secret(token), tap: { maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 100 } },
      control,
      reload: (reason) => control.reload(reason),
      tap: hub,
      deadLetters,
      metrics: createOperationsMetrics(registry),
      logger,
    });
    http = await startHttpServer({ host: '127.0.0.1', port: 0, registry, health: { notReady: () => [] }, extraRoutes });
  });
  after(async () => {
    await http.close();
    await receiver.close();
  });

  const get = async (path: string): Promise<Response> => fetch(`${http.url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
  const post = async (path: string, body: unknown): Promise<Response> =>
    fetch(`${http.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-operator': 'erin', 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  const inspect = async (query: string): Promise<{ records: ParkedRecord[]; summary: DeadLetterSummary }> => {
    const response = await get(`/admin/dlq?tenant=acme${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { records: ParkedRecord[]; summary: DeadLetterSummary };
  };
  const offsets = (records: ParkedRecord[]): number[] => records.map((record) => Number(record.source?.offset)).sort((a, b) => a - b);

  it('GET /admin/dlq selects exactly what the filters say and summarizes by code and destination', async () => {
    const everything = await inspect('');
    assert.deepEqual(offsets(everything.records), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(everything.summary.byDestination, { app: 4, lake: 2 });
    assert.deepEqual(everything.summary.byCode, { destination_rejected: 2, retries_exhausted: 2, destination_misconfigured: 1, schema_violation: 1 });
    assert.equal(everything.summary.complete, true);

    assert.deepEqual(offsets((await inspect('&destination=app&code=destination_rejected&code=schema_violation')).records), [0, 1, 4]);
    // since is inclusive, until exclusive: 02:00 <= parked < 04:00.
    assert.deepEqual(offsets((await inspect('&since=2026-07-01T02:00:00Z&until=2026-07-01T04:00:00Z')).records), [1, 2, 3]);
    assert.deepEqual(offsets((await inspect(`&user_id=u-2&identity=${identities[5] ?? ''}`)).records), [5]);
    assert.deepEqual(offsets((await inspect('&user_id=u-1')).records), [1, 4]);
    const limited = await inspect('&limit=2');
    assert.equal(limited.records.length, 2);
    assert.equal(limited.summary.selected, 6, 'the summary counts every selected record, not only the listed ones');

    const bad = await get('/admin/dlq?tenant=acme&code=no_such_code');
    assert.equal(bad.status, 400);
    const unknown = await get('/admin/dlq?tenant=nobody');
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'tenant_not_found');
  });

  it('POST /admin/dlq/redrive runs a job in the worker whose progress is visible, sends to the one destination, and refuses a second one for the same lane', async () => {
    const started = await post('/admin/dlq/redrive', { tenant: 'acme', destination: 'app', code: ['destination_rejected', 'retries_exhausted'], rate: 1 });
    assert.equal(started.status, 202, await started.clone().text());
    const { job } = (await started.json()) as { job: RedriveJobView };
    assert.equal(job.by, 'erin');
    assert.equal(started.headers.get('location'), `/admin/dlq/redrive/${job.id}`);

    const again = await post('/admin/dlq/redrive', { tenant: 'acme', destination: 'app' });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'redrive_running');

    let view: RedriveJobView | undefined;
    let sawProgress = false;
    const finished = await waitFor(async () => {
      view = ((await (await get(`/admin/dlq/redrive/${job.id}`)).json()) as { job: RedriveJobView }).job;
      if (view.state === 'running' && (view.progress?.delivered ?? 0) > 0) sawProgress = true;
      return view.state !== 'running';
    }, 60_000, 100);
    assert.ok(finished, 'the job finished');
    assert.equal(view?.state, 'finished', view?.error ?? '');
    assert.ok(sawProgress, 'progress was visible while the job ran');
    assert.equal(view?.progress?.selected, 3);
    assert.equal(view?.progress?.delivered, 3);
    const sent = receiver.requests.filter((request) => !request.body.includes('"healthcheck"'));
    assert.equal(sent.length, 3);
    assert.ok(sent.every((request) => request.path === '/app'), 'only the destination that parked them');

    const listed = ((await (await get('/admin/dlq/redrive')).json()) as { jobs: RedriveJobView[] }).jobs;
    assert.ok(listed.some((item) => item.id === job.id && item.state === 'finished'));
    assert.equal((await get('/admin/dlq/redrive/nope')).status, 404);
  });

  it('a redrive job can be cancelled; it stops after the dead letter in hand', async () => {
    const response = await post('/admin/dlq/redrive', { tenant: 'acme', destination: 'lake', rate: 0.5 });
    assert.equal(response.status, 202);
    const { job } = (await response.json()) as { job: RedriveJobView };
    assert.ok(await waitFor(() => receiver.requests.some((request) => request.path === '/lake' && !request.body.includes('"healthcheck"')), 30_000), 'it started sending');
    assert.equal((await post(`/admin/dlq/redrive/${job.id}/cancel`, {})).status, 202);
    let state = 'running';
    assert.ok(await waitFor(async () => {
      state = ((await (await get(`/admin/dlq/redrive/${job.id}`)).json()) as { job: RedriveJobView }).job.state;
      return state !== 'running';
    }, 30_000));
    assert.equal(state, 'cancelled');
    assert.equal(receiver.requests.filter((request) => request.path === '/lake' && !request.body.includes('"healthcheck"')).length, 1, 'the second was not sent');
  });
});
