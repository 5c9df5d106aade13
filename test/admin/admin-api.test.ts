import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createAdminApi } from '../../src/admin/admin-api.js';
import { adminEvents, type ServerSentEvent } from '../../src/cli/admin-client.js';
import { Secret } from '../../src/config/secret.js';
import type { WorkerConfig } from '../../src/config/worker-schema.js';
import { startHttpServer, type HttpServer } from '../../src/observability/http-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationsMetrics } from '../../src/observability/metrics.js';
import { createReloadTrigger } from '../../src/reload/reload-trigger.js';
import { createTapHub, type TapHub } from '../../src/tap/tap-hub.js';
import type { TapEvent } from '../../src/worker/worker-control.js';
import { createFakeWorkerControl, laneStatus, type FakeWorkerControl } from '../support/fake-worker-control.js';
import { waitFor } from '../support/worker-files.js';

const token = 'admin-token-for-tests-0123456789';

interface Started {
  http: HttpServer;
  control: FakeWorkerControl;
  hub: TapHub;
  registry: Registry;
  logs: string[];
}

async function startAdmin(admin: Partial<WorkerConfig['admin']> = {}): Promise<Started> {
  const registry = new Registry();
  const metrics = createOperationsMetrics(registry);
  const logs: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  );
  const hub = createTapHub({ maxSubscribers: 2, queueEvents: 10, maxBodyBytes: 16 });
  const control = createFakeWorkerControl(
    [laneStatus({ tenant: 'acme', destination: 'lake', delivered: 12 }), laneStatus({ tenant: 'acme', destination: 'app', connector: 'webhook', state: 'retrying', stalled: { reason: 'destination_unavailable', since: '2026-07-01T00:00:00.000Z' } })],
    hub,
  );
  const reload = createReloadTrigger({ control, metrics, logger });
  const extraRoutes = createAdminApi({
    config: { enabled: true, token: new Secret(token), tap: { maxSubscribers: 2, queueEvents: 10, maxBodyBytes: 16 }, ...admin },
    control,
    reload: (reason) => reload.reload(reason),
    tap: hub,
    metrics,
    logger,
  });
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, registry, health: { notReady: () => [] }, extraRoutes });
  return { http, control, hub, registry, logs };
}

function call(http: HttpServer, method: string, path: string, options: { token?: string | null; body?: string; operator?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers['authorization'] = `Bearer ${options.token ?? token}`;
  if (options.operator !== undefined) headers['x-operator'] = options.operator;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${http.url}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: options.body }), signal: AbortSignal.timeout(10_000) });
}

async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { error?: { code?: string } };
  return body.error?.code;
}

function tapEvent(overrides: Partial<TapEvent> = {}): TapEvent {
  return {
    at: new Date().toISOString(),
    tenant: 'acme',
    destination: 'lake',
    outcome: 'delivered',
    type: 'activity',
    userId: 'u-1',
    identity: 'e825b4c43ea32ef2b313bdc219c81a36',
    location: '2022-03-16/activity/u-1-2026-07-01T06:00:00Z.json',
    source: { topic: 'terra.events', partition: 0, offset: '7' },
    ...overrides,
  };
}

describe('admin API', () => {
  let started: Started;
  before(async () => {
    started = await startAdmin();
  });
  after(async () => {
    await started.http.close();
  });

  it('answers 404 for every admin route when it is disabled', async () => {
    const disabled = await startAdmin({ enabled: false });
    try {
      for (const [method, path] of [['GET', '/admin/lanes'], ['POST', '/admin/reload'], ['POST', '/admin/lanes/acme/lake/pause']] as const) {
        const response = await call(disabled.http, method, path);
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.equal(await errorCode(response), 'not_found');
      }
      assert.equal(disabled.control.reloadReasons.length, 0);
      assert.equal((await fetch(`${disabled.http.url}/healthz`)).status, 200, 'the built-in routes still answer');
    } finally {
      await disabled.http.close();
    }
  });

  it('refuses requests without the token or with a wrong one (401), and changes nothing', async () => {
    for (const given of [null, 'wrong', `${token}x`, token.slice(0, -1)]) {
      const response = await call(started.http, 'POST', '/admin/lanes/acme/lake/pause', { token: given });
      assert.equal(response.status, 401, `token ${String(given)}`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.equal(await errorCode(response), 'unauthorized');
    }
    assert.equal(started.control.statuses[0]?.state, 'running', 'nothing was paused');
    assert.ok(!started.logs.join('').includes(token), 'the token never reaches the log');
  });

  it('lists the lanes, pauses and resumes one, and logs who asked', async () => {
    const lanes = (await (await call(started.http, 'GET', '/admin/lanes')).json()) as { lanes: Array<{ destination: string; delivered: number; stalled: unknown }> };
    assert.deepEqual(lanes.lanes.map((lane) => lane.destination), ['lake', 'app']);
    assert.equal(lanes.lanes[0]?.delivered, 12);

    const paused = await call(started.http, 'POST', '/admin/lanes/acme/lake/pause', { operator: 'alice' });
    assert.equal(paused.status, 200);
    const body = (await paused.json()) as { lane: { state: string; pausedByOperator: { by: string } } };
    assert.equal(body.lane.state, 'paused');
    assert.equal(body.lane.pausedByOperator.by, 'alice');
    const logged = started.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line['msg'] === 'Admin: lane paused by an operator.');
    assert.equal(logged?.['operator'], 'alice');
    assert.equal(logged?.['remote'], '127.0.0.1');
    assert.equal(logged?.['tenant'], 'acme');

    const resumed = (await (await call(started.http, 'POST', '/admin/lanes/acme/lake/resume', { operator: 'alice' })).json()) as { lane: { state: string } };
    assert.equal(resumed.lane.state, 'running');

    const missing = await call(started.http, 'POST', '/admin/lanes/acme/nowhere/pause');
    assert.equal(missing.status, 404);
    assert.equal(await errorCode(missing), 'lane_not_found');
  });

  it('moves offsets to earliest, latest or a time; refuses a bad target (400) and a lane busy elsewhere unless forced (409)', async () => {
    const { control, http } = started;
    assert.equal((await call(http, 'POST', '/admin/lanes/acme/lake/offsets', { body: '{"to":"earliest"}', operator: 'bob' })).status, 200);
    assert.equal((await call(http, 'POST', '/admin/lanes/acme/lake/offsets', { body: '{"to":"2026-07-01T12:00:00Z"}' })).status, 200);
    assert.deepEqual(control.offsetCalls.map((offsetCall) => offsetCall.target), [{ to: 'earliest' }, { to: 'time', timestampMs: Date.parse('2026-07-01T12:00:00Z') }]);
    assert.equal(control.offsetCalls[0]?.by, 'bob');

    for (const bad of ['{"to":"yesterday"}', '{"to":"earliest","extra":1}', '{}', 'not json', '{"to":"latest","force":"yes"}']) {
      const response = await call(http, 'POST', '/admin/lanes/acme/lake/offsets', { body: bad });
      assert.equal(response.status, 400, bad);
      assert.equal(await errorCode(response), 'invalid_request');
    }

    control.otherMembers.set('acme/lake', 2);
    const busy = await call(http, 'POST', '/admin/lanes/acme/lake/offsets', { body: '{"to":"latest"}' });
    assert.equal(busy.status, 409);
    assert.equal(await errorCode(busy), 'lane_busy');
    assert.equal((await call(http, 'POST', '/admin/lanes/acme/lake/offsets', { body: '{"to":"latest","force":true}' })).status, 200);
    assert.deepEqual(control.offsetCalls.at(-1), { lane: 'acme/lake', target: { to: 'latest' }, by: '127.0.0.1', force: true });
    control.otherMembers.clear();

    const tooLarge = await call(http, 'POST', '/admin/lanes/acme/lake/offsets', { body: JSON.stringify({ to: 'x'.repeat(70_000) }) });
    assert.equal(tooLarge.status, 413);
  });

  it('reloads: 200 with the changes, 422 with the problems; counted in the reload metrics', async () => {
    const { control, http, registry } = started;
    control.nextReload = { ok: true, problems: [], started: ['acme/new'], restarted: [], stopped: [], unchanged: ['acme/lake'] };
    const ok = await call(http, 'POST', '/admin/reload', { operator: 'carol' });
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { result: { started: string[] } }).result.started, ['acme/new']);
    assert.match(control.reloadReasons.at(-1) ?? '', /POST \/admin\/reload by carol/);

    control.nextReload = { ok: false, problems: ['tenants/acme.yaml:4:5: destinations[0].type: unknown destination type', 'tenants/acme.yaml:9:3: typo: unknown key'], started: [], restarted: [], stopped: [], unchanged: [] };
    const invalid = await call(http, 'POST', '/admin/reload');
    assert.equal(invalid.status, 422);
    const body = (await invalid.json()) as { error: { code: string }; result: { problems: string[] } };
    assert.equal(body.error.code, 'config_invalid');
    assert.equal(body.result.problems.length, 2);

    const text = await registry.metrics();
    assert.match(text, /terra_fanout_config_reloads_total\{outcome="applied"\} 1/);
    assert.match(text, /terra_fanout_config_reloads_total\{outcome="invalid"\} 1/);
    assert.match(text, /terra_fanout_config_problems 2/);
    assert.ok(started.logs.some((line) => line.includes('tenants/acme.yaml:4:5')), 'problems are logged with file:line');
  });

  it('answers 405 for a wrong method and 404 for an unknown route, and counts requests by route and status', async () => {
    const { http, registry } = started;
    const wrong = await call(http, 'GET', '/admin/reload');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal((await call(http, 'GET', '/admin/nothing')).status, 404);
    const dlq = await call(http, 'GET', '/admin/dlq?tenant=acme');
    assert.equal(dlq.status, 501, 'dead-letter routes need dead-letter operations');
    assert.equal(await errorCode(dlq), 'not_available');
    await waitFor(async () => /route="\/admin\/reload",status="405"/.test(await registry.metrics()), 5000);
    const text = await registry.metrics();
    assert.match(text, /terra_fanout_admin_requests_total\{route="\/admin\/lanes",status="200"\} \d+/);
    assert.match(text, /terra_fanout_admin_requests_total\{route="\/admin\/lanes\/\{tenant\}\/\{destination\}\/pause",status="401"\} 4/);
    assert.match(text, /terra_fanout_admin_requests_total\{route="\/admin\/reload",status="405"\} 1/);
    assert.match(text, /terra_fanout_admin_requests_total\{route="unknown",status="404"\} 1/);
  });

  it('streams tap events as server-sent events, filtered, with bodies only when asked', async () => {
    const { http, hub } = started;
    const client = { url: http.url, token, operator: 'dave', timeoutMs: 5000 };
    assert.equal(hub.wants('acme', 'lake'), false, 'nobody listens yet');
    const stop = new AbortController();
    const received: ServerSentEvent[] = [];
    const reading = (async () => {
      for await (const message of adminEvents(client, '/admin/tap?destination=lake&type=activity&bodies=1', stop.signal)) {
        received.push(message);
        if (received.filter((item) => item.event === 'tap').length === 2) stop.abort();
      }
    })();
    assert.ok(await waitFor(() => hub.wants('acme', 'lake'), 5000), 'subscribed');
    assert.equal(hub.wants('acme', 'app'), false, 'the filter is applied before a lane builds anything');
    let bodyCalls = 0;
    const body = (): Buffer => {
      bodyCalls += 1;
      return Buffer.from('{"type":"activity","data":[{"long":"body"}]}');
    };
    hub.publish(tapEvent({ destination: 'app' }), body);
    hub.publish(tapEvent({ type: 'sleep' }), body);
    hub.publish(tapEvent({ outcome: 'parked', code: 'destination_rejected' }), body);
    hub.publish(tapEvent({ identity: 'second' }), body);
    await reading;
    const events = received.filter((item) => item.event === 'tap').map((item) => JSON.parse(item.data) as TapEvent & { bodyTruncated?: boolean });
    assert.equal(received[0]?.event, 'hello');
    assert.deepEqual(events.map((event) => event.identity), ['e825b4c43ea32ef2b313bdc219c81a36', 'second']);
    assert.equal(events[0]?.outcome, 'parked');
    assert.equal(events[0]?.code, 'destination_rejected');
    assert.equal(events[0]?.body, "{\"type\":\"activit", 'cut at maxBodyBytes');
    assert.equal(events[0]?.bodyTruncated, true);
    assert.equal(bodyCalls, 2, 'the body is built only for events someone asked bodies for');
    assert.ok(await waitFor(() => hub.subscribers === 0, 5000), 'the subscription ends with the stream');
  });

  it('a slow tap reader loses events (told how many) and never blocks the publisher; the stream limit is enforced', async () => {
    const { http, hub } = started;
    const client = { url: http.url, token, operator: undefined, timeoutMs: 5000 };
    const stop = new AbortController();
    const received: ServerSentEvent[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reading = (async () => {
      for await (const message of adminEvents(client, '/admin/tap', stop.signal)) {
        received.push(message);
        if (message.event === 'hello') await gate; // a reader that does not read for a while
        if (message.event === 'lost') stop.abort();
      }
    })();
    assert.ok(await waitFor(() => hub.wants('acme', 'lake'), 5000));
    const second = await call(http, 'GET', '/admin/tap');
    const third = await call(http, 'GET', '/admin/tap');
    assert.equal(third.status, 503, 'maxSubscribers (2) streams at once');
    assert.equal(await errorCode(third), 'tap_full');
    await second.body?.cancel();

    const publishStarted = process.hrtime.bigint();
    for (let index = 0; index < 5000; index += 1) hub.publish(tapEvent({ identity: `id-${index}` }), () => Buffer.from('{}'));
    const publishMs = Number(process.hrtime.bigint() - publishStarted) / 1e6;
    assert.ok(publishMs < 5000, `publishing returned at once (${publishMs.toFixed(0)} ms for 5000 events)`);
    release();
    await reading;
    const lost = received.find((item) => item.event === 'lost');
    assert.ok(lost !== undefined, 'the reader is told it lost events');
    const { dropped } = JSON.parse(lost.data) as { dropped: number };
    assert.ok(dropped >= 5000 - 10 - 1, `dropped ${dropped} beyond the queue of 10`);
  });
});
