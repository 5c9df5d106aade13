import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/config/secret.js';
import type { IngestTenant } from '../../src/ingest/config.js';
import { readEventFacts } from '../../src/ingest/extract-key.js';
import { decideIngest, type IngestDecision, type IngestRules } from '../../src/ingest/handle-request.js';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { invalidFixture, validFixture, validFixtureNames } from '../terra/support/terra-fixtures.js';

const SECRET = 'unit-test-signing-secret';
const NOW_MS = Date.parse('2026-07-02T12:00:00.000Z');
const tenant: IngestTenant = { name: 'acme', topic: 'terra.acme', secret: new Secret(SECRET), toleranceSeconds: 300, rejectInvalid: false };
const rules: IngestRules = { healthcheck: 'answer', bodyLimit: 1024 * 1024 };

function signed(body: Buffer, extra: Record<string, string> = {}, atMs = NOW_MS): Record<string, string> {
  return { 'content-type': 'application/json', 'terra-signature': computeTerraSignature(body, SECRET, atMs / 1000), ...extra };
}

function produced(decision: IngestDecision): Extract<IngestDecision, { action: 'produce' }> {
  assert.equal(decision.action, 'produce', JSON.stringify(decision.action === 'refuse' ? decision.error.message : decision));
  if (decision.action !== 'produce') throw new Error('unreachable');
  return decision;
}

function refused(decision: IngestDecision, status: number, code: string): void {
  assert.equal(decision.action, 'refuse');
  if (decision.action !== 'refuse') return;
  assert.equal(decision.status, status);
  assert.equal(decision.error.code, code, decision.error.message);
}

describe('decideIngest', () => {
  it('produces the received buffer itself, keyed by user.user_id, with Terra\'s headers and nothing else', () => {
    const body = validFixture('activity');
    const headers = signed(body, { 'terra-reference': 'ref-1', 'x-terra-trace-id': 'trace-1', 'x-terra-ordering-timestamp': '1782993600000', 'user-agent': 'curl/8', 'x-forwarded-for': '10.0.0.1' });
    const decision = produced(decideIngest({ tenant, body, headers, nowMs: NOW_MS }, rules));
    assert.equal(decision.topic, 'terra.acme');
    assert.equal(decision.message.value, body, 'the very Buffer received, not a copy or a re-serialization');
    assert.equal(decision.message.key?.toString(), '40f7b0e1-89e2-43ac-a5b8-1e29c8d47cad');
    assert.deepEqual(decision.message.headers, {
      'terra-signature': headers['terra-signature'],
      'terra-reference': 'ref-1',
      'x-terra-trace-id': 'trace-1',
      'x-terra-ordering-timestamp': '1782993600000',
    });
  });

  it('keys user_reauth by new_user.user_id, and events without a user by nothing', () => {
    const reauth = validFixture('user_reauth');
    const expected = (JSON.parse(reauth.toString()) as { new_user: { user_id: string } }).new_user.user_id;
    assert.equal(produced(decideIngest({ tenant, body: reauth, headers: signed(reauth), nowMs: NOW_MS }, rules)).message.key?.toString(), expected);
    for (const name of ['coach.registered', 'auth_cancelled']) {
      const body = validFixture(name);
      assert.equal(produced(decideIngest({ tenant, body, headers: signed(body), nowMs: NOW_MS }, rules)).message.key, null, name);
    }
  });

  it('finds a user id for every data and user event fixture that has one', () => {
    for (const name of validFixtureNames()) {
      const parsed = JSON.parse(validFixture(name).toString()) as { user?: { user_id?: string }; new_user?: { user_id?: string } };
      const expected = parsed.new_user?.user_id ?? parsed.user?.user_id ?? null;
      assert.equal(readEventFacts(validFixture(name)).userId, expected, name);
    }
  });

  it('refuses a missing, wrong, stale or future signature with 401 and the decoder\'s code', () => {
    const body = validFixture('daily');
    refused(decideIngest({ tenant, body, headers: {}, nowMs: NOW_MS }, rules), 401, 'signature_missing');
    refused(decideIngest({ tenant, body, headers: { 'terra-signature': computeTerraSignature(body, 'another-secret', NOW_MS / 1000) }, nowMs: NOW_MS }, rules), 401, 'signature_invalid');
    refused(decideIngest({ tenant, body: Buffer.concat([body, Buffer.from(' ')]), headers: signed(body), nowMs: NOW_MS }, rules), 401, 'signature_invalid');
    refused(decideIngest({ tenant, body, headers: signed(body, {}, NOW_MS - 301_000), nowMs: NOW_MS }, rules), 401, 'signature_invalid');
    refused(decideIngest({ tenant, body, headers: signed(body, {}, NOW_MS + 301_000), nowMs: NOW_MS }, rules), 401, 'signature_invalid');
    // Within the tenant's tolerance either way, and Terra's current header name works too.
    produced(decideIngest({ tenant, body, headers: signed(body, {}, NOW_MS - 299_000), nowMs: NOW_MS }, rules));
    const xHeader = { 'x-terra-signature': computeTerraSignature(body, SECRET, NOW_MS / 1000) };
    assert.deepEqual(produced(decideIngest({ tenant, body, headers: xHeader, nowMs: NOW_MS }, rules)).message.headers, xHeader);
  });

  it('answers a healthcheck without producing it, unless told to produce it', () => {
    const body = validFixture('healthcheck');
    assert.deepEqual(decideIngest({ tenant, body, headers: signed(body), nowMs: NOW_MS }, rules), { action: 'healthcheck' });
    assert.equal(produced(decideIngest({ tenant, body, headers: signed(body), nowMs: NOW_MS }, { ...rules, healthcheck: 'produce' })).message.key, null);
    // The signature is checked first: an unsigned healthcheck is refused like anything else.
    refused(decideIngest({ tenant, body, headers: {}, nowMs: NOW_MS }, rules), 401, 'signature_missing');
  });

  it('produces malformed JSON and unknown types unkeyed by default, and refuses them with 400 under rejectInvalid', () => {
    const strict = { ...tenant, rejectInvalid: true };
    const cases: Array<[Buffer, string]> = [
      [invalidFixture('malformed.json'), 'malformed_json'],
      [invalidFixture('unknown-type.json'), 'unknown_event_type'],
      [invalidFixture('activity-missing-summary-id.json'), 'schema_violation'],
      [invalidFixture('not-utf8.json'), 'malformed_json'],
    ];
    for (const [body, code] of cases) {
      const loose = produced(decideIngest({ tenant, body, headers: signed(body), nowMs: NOW_MS }, rules));
      assert.equal(loose.message.value, body);
      refused(decideIngest({ tenant: strict, body, headers: signed(body), nowMs: NOW_MS }, rules), 400, code);
    }
    const good = validFixture('sleep');
    assert.equal(produced(decideIngest({ tenant: strict, body: good, headers: signed(good), nowMs: NOW_MS }, rules)).message.value, good);
  });

  it('checks a large event under rejectInvalid as the lanes do (decoded in parts), and refuses a fault deep in its samples', () => {
    const strict = { ...tenant, rejectInvalid: true };
    const large = { healthcheck: 'answer' as const, bodyLimit: 8 * 1024 * 1024 };
    const samples = Array.from({ length: 30_000 }, (_, i) => ({ timestamp: new Date(NOW_MS - 3_600_000 + i * 100).toISOString(), bpm: 60 + (i % 90) }));
    const event = JSON.parse(validFixture('activity').toString('utf8')) as { data: Array<Record<string, unknown>> };
    for (const item of event.data) item['heart_rate_data'] = { detailed: { hr_samples: samples } };
    const body = Buffer.from(JSON.stringify(event));
    assert.ok(body.length > 1024 * 1024);
    const decision = produced(decideIngest({ tenant: strict, body, headers: signed(body), nowMs: NOW_MS }, large));
    assert.equal(decision.message.value, body);
    assert.ok(decision.message.key !== null && decision.message.key.length > 0, 'keyed by the user id');
    const damaged = Buffer.from(body.toString('utf8').replace('"bpm":61}', '"bpm":61,}'));
    refused(decideIngest({ tenant: strict, body: damaged, headers: signed(damaged), nowMs: NOW_MS }, large), 400, 'malformed_json');
    // Without rejectInvalid the facts come from the same split read: keyed when the JSON is valid, unkeyed when not.
    assert.deepEqual(readEventFacts(body), { type: 'activity', userId: JSON.parse(body.toString('utf8')).user.user_id });
    assert.deepEqual(readEventFacts(damaged), { type: null, userId: null });
    assert.equal(produced(decideIngest({ tenant, body: damaged, headers: signed(damaged), nowMs: NOW_MS }, large)).message.key, null);
  });
});
