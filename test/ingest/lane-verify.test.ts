import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Secret } from '../../src/config/secret.js';
import { decideIngest } from '../../src/ingest/handle-request.js';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { TenantDecoder } from '../../src/pipeline/tenant-decoder.js';
import { computeTerraSignature } from '../../src/terra/signature.js';
import { validFixture } from '../terra/support/terra-fixtures.js';

const SECRET = 'lane-verify-secret';
const ACCEPTED_MS = Date.parse('2026-07-02T12:00:00.000Z');
const HOUR_MS = 3_600_000;

/** The Kafka message the gateway writes for `body` signed at `signedAtMs` and accepted at ACCEPTED_MS. */
function storedByGateway(body: Buffer, signedAtMs: number): InboundMessage {
  const headers = { 'terra-signature': computeTerraSignature(body, SECRET, signedAtMs / 1000) };
  const tenant = { name: 'acme', topic: 'terra.events', secret: new Secret(SECRET), toleranceSeconds: 300, rejectInvalid: false };
  // The gateway checks against its own clock; here it accepts at ACCEPTED_MS only if within tolerance.
  const decision = decideIngest({ tenant, body, headers, nowMs: ACCEPTED_MS }, { healthcheck: 'answer', bodyLimit: 1 << 20 });
  const kept = decision.action === 'produce' ? decision.message.headers : headers;
  const raw = Object.fromEntries(Object.entries(kept).map(([name, value]) => [name, [Buffer.from(String(value))]]));
  return { topic: 'terra.events', partition: 0, offset: '0', timestampMs: ACCEPTED_MS, key: null, value: body, headers: raw, sizeBytes: body.length };
}

function laneDecoder(nowMs: number): TenantDecoder {
  return new TenantDecoder({
    maxMessageBytes: 1 << 20,
    signature: { secret: SECRET, required: true, toleranceSeconds: 300 },
    s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1 << 20, timeoutMs: 1000, maxExpiresInSeconds: 3600 },
    cacheBytes: 1 << 20,
    now: () => nowMs,
  });
}

describe('a lane re-verifies the signature the gateway kept', () => {
  it('accepts it however long after the gateway stored it (a lane whose destination was down for an hour)', () => {
    const body = validFixture('activity');
    const decoded = laneDecoder(ACCEPTED_MS + HOUR_MS).decode(storedByGateway(body, ACCEPTED_MS - 1_000));
    assert.equal(decoded.error, null, decoded.error?.message);
    assert.equal(decoded.type, 'activity');
  });

  it('still refuses a signature that was already outside the tolerance when the message was stored, or made with another secret', () => {
    const body = validFixture('activity');
    const stale = laneDecoder(ACCEPTED_MS).decode(storedByGateway(body, ACCEPTED_MS - 301_000));
    assert.equal(stale.error?.code, 'signature_invalid');
    const stored = storedByGateway(body, ACCEPTED_MS);
    const forged = { ...stored, headers: { 'terra-signature': [Buffer.from(computeTerraSignature(body, 'another-secret', ACCEPTED_MS / 1000))] } };
    assert.equal(laneDecoder(ACCEPTED_MS + HOUR_MS).decode(forged).error?.code, 'signature_invalid');
  });
});
