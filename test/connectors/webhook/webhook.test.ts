import assert from 'node:assert/strict';
import { createServer as createTcpServer } from 'node:net';
import { createServer } from 'node:http';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createWebhookClient } from '../../../connectors/webhook/client.js';
import { webhookConfigSchema, type WebhookConfig } from '../../../connectors/webhook/config.js';
import { createWebhookDestination } from '../../../connectors/webhook/destination.js';
import { encodeHealthcheck, encodeWebhookRequest, webhookLocation } from '../../../connectors/webhook/encode.js';
import { webhookConnector } from '../../../connectors/webhook/index.js';
import { CLOSE_GRACE_MS } from '../../../connectors/shared/call-deadline.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { verifyTerraSignature } from '../../../src/terra/signature.js';
import { makeActivityBatch, makeRecord } from '../../support/records.js';
import { startSilentServer } from '../../support/silent-server.js';
import { startWebhookReceiver, type ReceivedRequest, type ReceiverAnswer, type WebhookReceiver } from '../../support/webhook-receiver.js';

const secret = 'whsec-webhook-test-secret';
const headerSecret = 'Bearer header-secret-value';
const queryToken = 'query-token-value';
const context: ConnectorContext = { tenant: 'acme', destination: 'hook', logger: pino({ level: 'silent' }) };
const receivers: WebhookReceiver[] = [];
after(async () => {
  for (const receiver of receivers) await receiver.close();
});

async function receiver(respond?: (request: ReceivedRequest) => ReceiverAnswer): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(respond === undefined ? { secret } : { secret, respond });
  receivers.push(started);
  return started;
}

function destinationFor(input: Record<string, unknown>, now?: () => number): { config: WebhookConfig; destination: Destination } {
  const config = webhookConfigSchema.parse(input);
  const client = now === undefined ? webhookConnector.createClient(config, context) : createWebhookClient({ secret: config.secret, headers: config.headers, timeoutMs: config.timeoutMs, connections: config.concurrency, now });
  return { config, destination: createWebhookDestination(config, client, context) };
}

function failure(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, 'expected a failed outcome');
  return outcome.error;
}

async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

const signal = new AbortController().signal;

describe('webhook config', () => {
  it('applies Terra-parity defaults', () => {
    const config = webhookConfigSchema.parse({ url: 'https://example.com/hook' });
    assert.deepEqual(config, { url: 'https://example.com/hook', unit: 'event', timeoutMs: 10_000, concurrency: 8 });
  });

  it('rejects bad urls, credentials in the url, reserved headers and line breaks', () => {
    for (const input of [
      { url: 'ftp://example.com/x' },
      { url: 'not a url' },
      { url: 'https://user:pw@example.com/x' },
      { url: 'https://example.com/x', headers: { 'X-Terra-Signature': 'forged' } },
      { url: 'https://example.com/x', headers: { 'Idempotency-Key': 'k' } },
      { url: 'https://example.com/x', headers: { 'bad name': 'v' } },
      { url: 'https://example.com/x', headers: { 'x-ok': 'a\r\nb' } },
      { url: 'https://example.com/x', retryStatuses: ['2xx'] },
      { url: 'https://example.com/x', concurrency: 0 },
      { url: 'https://example.com/x', extra: true },
    ]) {
      assert.equal(webhookConfigSchema.safeParse(input).success, false, JSON.stringify(input));
    }
  });

  it('keeps the secret and header values out of printed config', () => {
    const config = webhookConfigSchema.parse({ url: 'https://example.com/x', secret, headers: { Authorization: headerSecret } });
    const printed = JSON.stringify(config);
    assert.ok(!printed.includes(secret) && !printed.includes(headerSecret));
  });
});

describe('webhook encode', () => {
  it('sends the record body byte for byte with stable Terra headers', () => {
    const config = webhookConfigSchema.parse({ url: `https://example.com/hook?token=${queryToken}` });
    const record = makeRecord({ body: Buffer.from('{"type":"activity",  "raw":true}') });
    const request = encodeWebhookRequest(config, record, 'terra-fanout/test');
    assert.equal(request.body, record.body);
    assert.equal(request.url, config.url);
    assert.deepEqual(request.headers, {
      'content-type': 'application/json',
      'user-agent': 'terra-fanout/test',
      'X-Terra-Trace-Id': record.traceId,
      'X-Terra-Ordering-Timestamp': String(record.orderingTimestampMs),
      'Idempotency-Key': record.identity,
      'terra-reference': 'terra-ref-1',
    });
    assert.equal('terra-reference' in encodeWebhookRequest(config, makeRecord({ terraReference: null }), 'ua').headers, false);
    assert.equal(webhookLocation(config, record), `https://example.com/hook#${record.identity}`);
  });

  it('builds a Terra healthcheck event', () => {
    const config = webhookConfigSchema.parse({ url: 'https://example.com/hook' });
    const check = encodeHealthcheck(config, new Date('2026-07-01T08:00:00Z'), 'trace', 'ua');
    assert.deepEqual(JSON.parse(check.body.toString('utf8')), {
      type: 'healthcheck',
      status: 'success',
      creation_timestamp: '2026-07-01T08:00:00.000Z',
      trend_percentage: 0,
      sent_webhooks_last_hour: 0,
    });
    assert.equal('Idempotency-Key' in check.headers, false);
  });
});

describe('webhook destination against a local receiver', () => {
  it('POSTs the exact body, signed, with every Terra header', async () => {
    const hook = await receiver();
    const { destination } = destinationFor({ url: `${hook.url}/terra?token=${queryToken}`, secret, headers: { Authorization: headerSecret } });
    const record = makeRecord({ body: Buffer.from('{"type":"activity", "spacing":  "kept"}') });
    assert.deepEqual(await destination.send([record], signal), [{ ok: true }]);
    const [request] = hook.requests;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.path, `/terra?token=${queryToken}`);
    assert.deepEqual(request.body, record.body);
    assert.equal(request.verified, true, request.verifyReason ?? '');
    assert.equal(request.headers['terra-signature'], request.headers['x-terra-signature']);
    assert.match(request.headers['x-terra-signature'] ?? '', /^t=\d{10},v1=[0-9a-f]{64}$/);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['terra-reference'], record.terraReference);
    assert.equal(request.headers['x-terra-trace-id'], record.traceId);
    assert.equal(request.headers['x-terra-ordering-timestamp'], String(record.orderingTimestampMs));
    assert.equal(request.headers['idempotency-key'], record.identity);
    assert.match(request.headers['user-agent'] ?? '', /^terra-fanout\/\d+\.\d+\.\d+/);
    assert.equal(request.headers['authorization'], headerSecret);
  });

  it('sends no signature headers without a secret', async () => {
    const hook = await receiver();
    const { destination } = destinationFor({ url: hook.url });
    await destination.send([makeRecord()], signal);
    const [request] = hook.requests;
    assert.ok(request);
    assert.equal(request.headers['terra-signature'], undefined);
    assert.equal(request.headers['x-terra-signature'], undefined);
  });

  it('503 then 200: retryable first, delivered next, same trace id, signed again at each attempt', async () => {
    const hook = await receiver((request) => ({ status: request.index === 0 ? 503 : 200 }));
    let clock = Date.now();
    const { destination } = destinationFor({ url: hook.url, secret }, () => clock);
    const record = makeRecord();
    const first = failure((await destination.send([record], signal))[0]);
    assert.equal(first.code, 'destination_unavailable');
    assert.equal(first.retryable, true);
    assert.equal(first.detail['status'], 503);
    clock += 5_000;
    assert.deepEqual(await destination.send([record], signal), [{ ok: true }]);
    const [attempt1, attempt2] = hook.requests;
    assert.ok(attempt1 && attempt2);
    assert.equal(attempt1.headers['x-terra-trace-id'], attempt2.headers['x-terra-trace-id']);
    assert.equal(attempt1.headers['idempotency-key'], attempt2.headers['idempotency-key']);
    assert.notEqual(attempt1.headers['terra-signature'], attempt2.headers['terra-signature']);
    assert.ok(attempt1.verified && attempt2.verified);
  });

  it('429 with Retry-After gives destination_throttled with retryAfterMs', async () => {
    const hook = await receiver(() => ({ status: 429, headers: { 'retry-after': '3' } }));
    const { destination } = destinationFor({ url: hook.url, secret });
    const error = failure((await destination.send([makeRecord()], signal))[0]);
    assert.equal(error.code, 'destination_throttled');
    assert.equal(error.retryAfterMs, 3000);
  });

  it('by default (Terra parity) every non-2xx is retried, including 400, 401 and redirects', async () => {
    const statuses = [400, 401, 404, 302];
    const hook = await receiver((request) => ({ status: statuses[request.index] ?? 200, headers: { location: 'http://127.0.0.1:1/elsewhere' } }));
    const { destination } = destinationFor({ url: hook.url, secret });
    const batch = makeActivityBatch(4, ['u-1', 'u-2', 'u-3', 'u-4']);
    const errors = (await destination.send(batch, signal)).map(failure);
    for (const error of errors) {
      assert.equal(error.retryable, true, `${String(error.detail['status'])} is retried`);
      assert.equal(error.code, 'destination_refused');
    }
    assert.deepEqual(errors.map((error) => error.detail['meaning']).sort(), ['destination_auth_failed', 'destination_not_found', 'destination_rejected', 'destination_rejected']);
    assert.equal(hook.requests.length, 4, 'redirects are not followed');
  });

  it('a narrowed retryStatuses makes unlisted statuses permanent', async () => {
    const statuses = [400, 503, 408, 429];
    const hook = await receiver((request) => ({ status: statuses[request.index] ?? 200 }));
    const { destination } = destinationFor({ url: hook.url, secret, retryStatuses: ['5xx', '429'] });
    const batch = makeActivityBatch(4, ['u-1', 'u-2', 'u-3', 'u-4']);
    const errors = new Map<number, FanoutError>();
    for (const error of (await destination.send(batch, signal)).map(failure)) errors.set(Number(error.detail['status']), error);
    assert.equal(errors.get(400)?.code, 'destination_rejected');
    assert.equal(errors.get(400)?.retryable, false);
    assert.equal(errors.get(503)?.retryable, true);
    assert.equal(errors.get(408)?.code, 'destination_rejected');
    assert.equal(errors.get(429)?.code, 'destination_throttled');
  });

  it('a slow receiver is destination_timeout', async () => {
    const hook = await receiver(() => ({ status: 200, delayMs: 2_000 }));
    const { destination } = destinationFor({ url: hook.url, secret, timeoutMs: 150 });
    const started = Date.now();
    const error = failure((await destination.send([makeRecord()], signal))[0]);
    assert.equal(error.code, 'destination_timeout');
    assert.equal(error.retryable, true);
    assert.ok(Date.now() - started < 1_500);
  });

  it('a receiver that accepts and never answers: destination_timeout within timeoutMs, its connection closed, not reused', async () => {
    const silent = await startSilentServer();
    try {
      const timeoutMs = 1_000;
      const { destination } = destinationFor({ url: `${silent.url}/hook`, secret, timeoutMs, concurrency: 2 });
      let started = Date.now();
      await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_timeout' && error.retryable);
      assert.ok(Date.now() - started < timeoutMs + 2_500, `check() failed after ${Date.now() - started} ms`);
      started = Date.now();
      const outcomes = await destination.send(makeActivityBatch(2, ['u-1', 'u-2']), signal);
      const elapsed = Date.now() - started;
      for (const outcome of outcomes) assert.deepEqual([failure(outcome).code, failure(outcome).retryable], ['destination_timeout', true]);
      assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 2_500, `send() failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);
      assert.ok(silent.bytesReceived > 0, 'the requests were sent');
      const deadline = Date.now() + 5_000;
      while (silent.usedClosedByClient < silent.used && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(silent.used, 3, 'one connection per request (the check and two records)');
      assert.equal(silent.usedClosedByClient, silent.used, 'every connection whose request timed out was closed by the client');
      const inFlight = destination.send([makeRecord()], signal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      started = Date.now();
      await destination.close();
      assert.ok(Date.now() - started < CLOSE_GRACE_MS + 2_500, 'close() with a request in flight is bounded');
      assert.equal(failure((await inFlight)[0]).retryable, true);
    } finally {
      await silent.close();
    }
  });

  it('an answer with a long body still counts by its status; the connection is then dropped', async () => {
    const big = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(Buffer.alloc(1024 * 1024, 'x'));
      });
    });
    await new Promise<void>((resolve) => big.listen(0, '127.0.0.1', resolve));
    const address = big.address();
    assert.ok(address !== null && typeof address === 'object');
    try {
      const { destination } = destinationFor({ url: `http://127.0.0.1:${address.port}/hook`, secret });
      const outcomes = await destination.send(makeActivityBatch(3, ['u-1']), signal);
      assert.deepEqual(outcomes, [{ ok: true }, { ok: true }, { ok: true }]);
      await destination.close();
    } finally {
      big.closeAllConnections();
      await new Promise<void>((resolve) => big.close(() => resolve()));
    }
  });

  it('a shutdown abort is retryable and stops the batch', async () => {
    const hook = await receiver(() => ({ status: 200, delayMs: 2_000 }));
    const { destination } = destinationFor({ url: hook.url, secret, concurrency: 1 });
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 100);
    const outcomes = await destination.send(makeActivityBatch(3, ['u-1']), shutdown.signal);
    for (const outcome of outcomes) {
      const error = failure(outcome);
      assert.equal(error.retryable, true);
      assert.notEqual(error.code, 'destination_timeout');
    }
    assert.equal(hook.requests.length, 1);
  });

  it('connection refused is destination_unavailable and the message has no query string or secret', async () => {
    const port = await closedPort();
    const { destination } = destinationFor({ url: `http://127.0.0.1:${port}/hook?token=${queryToken}`, secret, headers: { Authorization: headerSecret } });
    const error = failure((await destination.send([makeRecord()], signal))[0]);
    assert.equal(error.code, 'destination_unavailable');
    assert.equal(error.detail['errorCode'], 'ECONNREFUSED');
    const checkError = await destination.check().then(
      () => assert.fail('check should fail'),
      (thrown: unknown) => thrown,
    );
    assert.ok(checkError instanceof FanoutError && checkError.code === 'destination_unavailable');
    for (const message of [error.message, checkError.message]) {
      assert.match(message, new RegExp(`127\\.0\\.0\\.1:${port}/hook`));
      for (const hidden of [queryToken, secret, headerSecret, '?']) assert.ok(!message.includes(hidden), `message leaks ${hidden}: ${message}`);
    }
  });

  it('sends one user in order, one at a time, and users in parallel up to concurrency', async () => {
    const hook = await receiver(() => ({ status: 200, delayMs: 40 }));
    const { destination } = destinationFor({ url: hook.url, secret, concurrency: 2 });
    const users = ['u-1', 'u-2', 'u-3'];
    const batch = makeActivityBatch(9, users);
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    assert.equal(hook.maxInFlight, 2);
    for (const user of users) {
      const expected = batch.filter((record) => record.userId === user).map((record) => record.identity);
      const requests = hook.requests.filter((request) => expected.includes(request.headers['idempotency-key'] ?? ''));
      assert.deepEqual(requests.map((request) => request.headers['idempotency-key']), expected, `${user} in batch order`);
      for (let index = 1; index < requests.length; index += 1) {
        const previous = requests[index - 1];
        const current = requests[index];
        assert.ok(previous?.answeredAtMs != null && current !== undefined && current.receivedAtMs >= previous.answeredAtMs, `${user} one at a time`);
      }
    }
  });

  it('holds back the rest of a user after a retryable failure', async () => {
    const batch = makeActivityBatch(4, ['u-1', 'u-2']);
    const first = batch[0];
    const hook = await receiver((request) => ({ status: request.headers['idempotency-key'] === first?.identity ? 503 : 200 }));
    const { destination } = destinationFor({ url: hook.url, secret });
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.detail['heldBack'] === true ? 'held' : outcome.error.code)),
      ['destination_unavailable', 'ok', 'held', 'ok'],
    );
    assert.equal(hook.requests.length, 3);
  });

  it('check() sends a signed Terra healthcheck and accepts any 2xx', async () => {
    const hook = await receiver(() => ({ status: 204 }));
    const { destination } = destinationFor({ url: hook.url, secret });
    await destination.check();
    const [request] = hook.requests;
    assert.ok(request);
    assert.equal(request.verified, true);
    const body: unknown = JSON.parse(request.body.toString('utf8'));
    assert.ok(typeof body === 'object' && body !== null && 'type' in body && body.type === 'healthcheck');
    assert.equal(request.headers['idempotency-key'], undefined);
    const verified = verifyTerraSignature(request.body, request.headers['terra-signature'] ?? '', secret, Date.now() / 1000);
    assert.deepEqual(verified, { ok: true });
  });

  it('check() keeps the meaning of a status: 401 auth_failed, 404 not_found, 503 unavailable', async () => {
    for (const [status, code] of [
      [401, 'destination_auth_failed'],
      [404, 'destination_not_found'],
      [503, 'destination_unavailable'],
    ] as const) {
      const hook = await receiver(() => ({ status }));
      const { destination } = destinationFor({ url: `${hook.url}/x?token=${queryToken}`, secret });
      await assert.rejects(destination.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, code);
        assert.ok(!error.message.includes(queryToken));
        return true;
      });
    }
  });

  it('close() twice is harmless', async () => {
    const { destination } = destinationFor({ url: 'http://127.0.0.1:9/x' });
    await destination.close();
    await destination.close();
  });
});
