import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { deadLetterHeader } from '../../src/lane/dead-letter.js';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { startWorker } from '../../src/worker/worker.js';
import { decodeCorpus, type BadInput } from '../support/bad-input-corpus.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

/**
 * The bad-input corpus through the real worker: one tenant with two lanes (a `file` destination and
 * a `webhook` destination to a local receiver) on the local broker, Terra signatures required.
 * Every bad message is followed, in the same partition (same key), by a good event; every bad
 * kind must be parked by both lanes with its code, and every good event delivered by both.
 * Everything is produced at once and the dead-letter topic read once.
 *
 * The pointer server speaks plain HTTP on 127.0.0.1. The worker keeps the production setting
 * `allowHttp: false` and gets a fetch that reaches that server for `https://127.0.0.1:<port>` URLs,
 * so the scheme rule is exercised as in production (an `http://` pointer is refused).
 */

const kafka = useKafkaBroker();
const secret = 'bad-input-signing-secret';
const validDir = fileURLToPath(new URL('../../../test/fixtures/terra/valid/', import.meta.url));

interface Kind extends BadInput {
  /** Headers as produced; a signed kind gets a valid terra-signature over its value unless set. */
  headers?: Record<string, string>;
  /** Leave the message unsigned (signature kinds set their own header or none). */
  unsigned?: boolean;
  timestampMs?: number;
}

const expiredXml = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';

async function startPointerServer(routes: Record<string, (response: ServerResponse) => void>): Promise<{ host: string; close: () => Promise<void> }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const route = routes[new URL(request.url ?? '/', 'http://x').pathname];
    if (route === undefined) response.writeHead(404).end();
    else route(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(body: string | Buffer): (response: ServerResponse) => void {
  return (response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

function pointer(url: string, expiresIn: number | string = 600): Buffer {
  return Buffer.from(JSON.stringify({ status: 'success', type: 's3_payload', url, expires_in: expiresIn }));
}

describe('bad input through the worker', () => {
  const cleanups = useCleanups();

  it('parks every kind on every lane with its code, and delivers the good event after each', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const twoHoursAgo = Date.now() - 2 * 3600_000;
    const goodPointerEvent = JSON.stringify(activityEvent('ptr-good', 0));
    const badIdEvent = JSON.stringify(activityEvent('ptr\u202ebad', 0));
    const pointers = await startPointerServer({
      '/good': json(goodPointerEvent),
      '/expired': (response) => response.writeHead(403, { 'content-type': 'application/xml' }).end(expiredXml),
      '/redirect': (response) => response.writeHead(302, { location: 'https://evil.example.com/x' }).end(),
      '/nested': json(pointer('https://storage.googleapis.com/terra-services-p-bkt-payloads/x.json')),
      '/large': json(JSON.stringify(activityEvent('ptr-large', 0, { padding: 'x'.repeat(20 * 1024) }))),
      '/malformed': json('{"type":"activity",'),
      '/bad-id': json(badIdEvent),
    });
    cleanups.push(pointers.close);
    const origin = `https://${pointers.host}`;
    const [, portText = '0'] = pointers.host.split(':');
    const otherPort = Number(portText) === 65535 ? 65534 : Number(portText) + 1;
    const reachPointerServer: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (url.protocol === 'https:' && url.host === pointers.host) url.protocol = 'http:';
      return fetch(url, init);
    };

    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());

    const topic = uniqueName('events');
    const dlq = `${topic}.dlq`;
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      worker: {
        budgets: { maxMessageBytes: '64KiB' },
        s3Payload: { allowedHosts: [pointers.host], allowHttp: false, maxBytes: '16KiB', timeoutMs: 5000, maxExpiresInSeconds: 1800 },
      },
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlq,
          source: { signature: { secret: '${SIGNING_SECRET}', required: true } },
          destinations: [
            { name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}' } },
            { name: 'hook', type: 'webhook', batch: { lingerMs: 20 }, config: { url: receiver.url, timeoutMs: 5000, concurrency: 8 } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, OUT_DIR: out, SIGNING_SECRET: secret });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));

    const good = Buffer.from(JSON.stringify(activityEvent('u-template', 0)));
    const signedGood = JSON.stringify(activityEvent('u-signature', 0));
    const kinds: Kind[] = [
      ...decodeCorpus(good),
      { kind: 'oversized', value: Buffer.from(JSON.stringify(activityEvent('u-big', 0, { padding: 'x'.repeat(70 * 1024) }))), code: 'payload_too_large' },
      // Signatures (the tenant requires them).
      { kind: 'sig-missing', value: Buffer.from(signedGood), code: 'signature_missing', unsigned: true },
      { kind: 'sig-empty-header', value: Buffer.from(signedGood), code: 'signature_missing', headers: { 'terra-signature': ' ' } },
      { kind: 'sig-wrong-secret', value: Buffer.from(signedGood), code: 'signature_invalid', headers: { 'terra-signature': computeTerraSignature(signedGood, 'not-the-secret', nowSeconds) } },
      { kind: 'sig-stale', value: Buffer.from(signedGood), code: 'signature_invalid', headers: { 'x-terra-signature': computeTerraSignature(signedGood, secret, nowSeconds - 3600) } },
      { kind: 'sig-future', value: Buffer.from(signedGood), code: 'signature_invalid', headers: { 'terra-signature': computeTerraSignature(signedGood, secret, nowSeconds + 3600) } },
      { kind: 'sig-garbage-header', value: Buffer.from(signedGood), code: 'signature_invalid', headers: { 'terra-signature': 'garbage' } },
      { kind: 'sig-v0-only', value: Buffer.from(signedGood), code: 'signature_invalid', headers: { 'terra-signature': computeTerraSignature(signedGood, secret, nowSeconds).replace('v1=', 'v0=') } },
      { kind: 'sig-body-changed', value: Buffer.from(signedGood.replace('Morning run', 'Evening run')), code: 'signature_invalid', headers: { 'terra-signature': computeTerraSignature(signedGood, secret, nowSeconds) } },
      // s3_payload pointers.
      { kind: 'ptr-host-not-allowed', value: pointer('https://evil.example.com/payload.json?X-Amz-Signature=abc'), code: 's3_payload_host_not_allowed' },
      { kind: 'ptr-default-port-only', value: pointer(`https://127.0.0.1:${otherPort}/good`), code: 's3_payload_host_not_allowed' },
      { kind: 'ptr-http', value: pointer(`http://${pointers.host}/good`), code: 's3_payload_host_not_allowed' },
      { kind: 'ptr-credentials', value: pointer(`https://user:pass@${pointers.host}/good`), code: 's3_payload_host_not_allowed' },
      { kind: 'ptr-not-a-url', value: pointer('not a url'), code: 's3_payload_host_not_allowed' },
      { kind: 'ptr-file-scheme', value: pointer('file:///etc/passwd'), code: 's3_payload_host_not_allowed' },
      { kind: 'ptr-expired-by-time', value: pointer(`${origin}/good`, 600), code: 's3_payload_expired', timestampMs: twoHoursAgo },
      { kind: 'ptr-expires-in-capped', value: pointer(`${origin}/good`, 100_000_000), code: 's3_payload_expired', timestampMs: twoHoursAgo },
      { kind: 'ptr-expired-403', value: pointer(`${origin}/expired`), code: 's3_payload_expired' },
      { kind: 'ptr-404', value: pointer(`${origin}/missing`), code: 's3_payload_refused' },
      { kind: 'ptr-redirect', value: pointer(`${origin}/redirect`), code: 's3_payload_refused' },
      { kind: 'ptr-nested', value: pointer(`${origin}/nested`), code: 's3_payload_nested' },
      { kind: 'ptr-too-large', value: pointer(`${origin}/large`), code: 's3_payload_too_large' },
      { kind: 'ptr-body-malformed', value: pointer(`${origin}/malformed`), code: 'malformed_json' },
      { kind: 'ptr-body-bad-id', value: pointer(`${origin}/bad-id`), code: 'invalid_identifier' },
      { kind: 'ptr-expires-in-string', value: pointer(`${origin}/good`, '600'), code: 'schema_violation' },
    ];
    assert.ok(kinds.length >= 60, `${kinds.length} kinds`);
    assert.equal(new Set(kinds.map(({ kind }) => kind)).size, kinds.length, 'kinds are unique');

    // Signed when it was produced, as Terra (through the ingest gateway) signs: a lane checks the signature's time against the Kafka timestamp.
    const sign = (value: Buffer | null, atMs = nowSeconds * 1000): Record<string, string> => (value === null ? {} : { 'terra-signature': computeTerraSignature(value, secret, Math.floor(atMs / 1000)) });
    const messages: Message[] = [];
    const goodUsers: string[] = [];
    kinds.forEach((input, index) => {
      messages.push({
        key: input.kind,
        value: input.value,
        headers: input.unsigned === true ? {} : (input.headers ?? sign(input.value, input.timestampMs)),
        ...(input.timestampMs === undefined ? {} : { timestamp: String(input.timestampMs) }),
      });
      // The good event right after it, same key, so same partition: the lane must get past the bad one.
      const user = `good-${index}`;
      goodUsers.push(user);
      const after = Buffer.from(JSON.stringify(activityEvent(user, index)));
      messages.push({ key: input.kind, value: after, headers: sign(after) });
    });
    // Good events of other shapes: a pointer Terra would send, and a lab report.
    const goodPointer = pointer(`${origin}/good`);
    const labReport = readFileSync(join(validDir, 'lab_report.completed.json'));
    messages.push({ key: 'good-pointer', value: goodPointer, headers: sign(goodPointer) });
    messages.push({ key: 'good-lab-report', value: labReport, headers: sign(labReport) });

    const worker = await startWorker(loaded.value, { logger: pino({ level: 'silent' }), httpPort: 0, fetch: reachPointerServer });
    cleanups.push(() => worker.stop());
    await kafka.produce(topic, messages);

    const lanes = ['files', 'hook'];
    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: kinds.length * lanes.length, timeoutMs: 45_000 });
    const codes = new Map<string, string>();
    for (const message of parked) {
      const where = `${message.key ?? ''} @ ${String(message.headers[deadLetterHeader.destination])}`;
      assert.ok(!codes.has(where), `${where} parked twice`);
      codes.set(where, String(message.headers[deadLetterHeader.code]));
    }
    const mismatches: string[] = [];
    for (const { kind, code } of kinds) {
      for (const lane of lanes) {
        const got = codes.get(`${kind} @ ${lane}`);
        if (got !== code) mismatches.push(`${kind} @ ${lane}: expected ${code}, got ${got ?? 'nothing'}`);
      }
    }
    assert.deepEqual(mismatches, []);
    assert.equal(parked.length, kinds.length * lanes.length, 'one dead letter per bad message and lane, none for good ones');

    // Dead letters keep the original bytes and say where they came from.
    const values = new Map(kinds.map(({ kind, value }) => [kind, value === null ? null : value.toString('utf8')]));
    for (const message of parked) {
      assert.equal(message.value, values.get(message.key ?? ''), `${message.key ?? ''}: original value kept`);
      assert.equal(message.headers[deadLetterHeader.tenant], 'acme');
      assert.equal(message.headers[deadLetterHeader.topic], topic);
    }

    // Every good event was delivered by both lanes.
    const expectedUsers = [...goodUsers, 'ptr-good'];
    const fileUsers = async (): Promise<Set<string>> => {
      const files = await listFiles(join(out, '2022-03-16', 'activity'));
      return new Set(files.map((file) => /\/activity\/(.+)-\d{4}-\d{2}-\d{2}T[^/]*\.json$/.exec(file)?.[1] ?? file));
    };
    const hookUsers = (): Set<string> => {
      const users = new Set<string>();
      for (const request of receiver.requests) {
        const match = /"user_id":"([^"]+)"/.exec(request.body.toString('utf8'));
        if (match?.[1] !== undefined) users.add(match[1]);
      }
      return users;
    };
    const allDelivered = async (): Promise<boolean> => {
      const files = await fileUsers();
      const hooks = hookUsers();
      return expectedUsers.every((user) => files.has(user) && hooks.has(user));
    };
    assert.ok(await waitFor(allDelivered, 30_000), `missing: ${expectedUsers.filter((user) => !hookUsers().has(user)).join(', ')}`);
    assert.equal((await fileUsers()).size, expectedUsers.length, 'no file for a bad event');
    assert.ok(await waitFor(async () => (await listFiles(join(out, '2022-03-16', 'lab_report.completed'))).length === 1, 10_000), 'the lab report is a file');
    assert.ok(
      await waitFor(() => receiver.requests.some((request) => request.body.equals(labReport)), 10_000),
      'the lab report is posted as received',
    );
    const badUsers = ['u-template', 'u-signature', 'u-big', 'ptr-large'];
    assert.deepEqual([...hookUsers()].filter((user) => badUsers.includes(user) || user.includes('\u202e')), [], 'nothing bad was posted');

    const metrics = await (await fetch(`${worker.http.url}/metrics`)).text();
    const counted = new RegExp(`terra_fanout_records_dead_lettered_total\\{tenant="acme",destination="hook",connector="webhook",code="invalid_identifier"\\} ${kinds.filter(({ code }) => code === 'invalid_identifier').length}`);
    assert.match(metrics, counted, 'dead letters counted by code');
  });
});
