import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryUnit, SourcePosition, TerraRecord } from '../../src/records/record.js';
import { decodeEvent } from '../../src/terra/decode-event.js';
import { explodeEvent } from '../../src/terra/explode-event.js';
import { decodeOptions, sourceAt, validFixture, validFixtureNames } from './support/terra-fixtures.js';

function explodeBytes(raw: Buffer, unit: DeliveryUnit, source: SourcePosition = sourceAt('42')): TerraRecord[] {
  const decoded = decodeEvent(raw, decodeOptions({ headers: source.headers }));
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
  assert.ok(decoded.kind !== 'pointer');
  return explodeEvent(decoded.event, decoded.kind, decoded.body, source, unit);
}

function explodeFixture(name: string, unit: DeliveryUnit, source?: SourcePosition): TerraRecord[] {
  return explodeBytes(validFixture(name), unit, source);
}

function json(raw: Buffer): Record<string, unknown> {
  return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
}

const expectedRecordCounts: Record<string, number> = {
  activity: 2,
  body: 1,
  daily: 2,
  sleep: 2,
  nutrition: 1,
  menstruation: 1,
  athlete: 1,
  planned_workout: 2,
  hormone: 3,
  health_observation: 1,
  'coach.registered': 1,
  'athlete.registered': 2,
  'athlete.deleted': 1,
  'test.retrieved': 2,
  'activity.retrieved': 1,
};

const fixtures = validFixtureNames().filter((name) => name !== 's3_payload');

describe('explodeEvent: counts and shape', () => {
  for (const name of fixtures) {
    it(`${name}: record unit gives ${expectedRecordCounts[name] ?? 1}, event unit gives 1`, () => {
      const records = explodeFixture(name, 'record');
      assert.equal(records.length, expectedRecordCounts[name] ?? 1);
      for (const record of records) {
        assert.match(record.identity, /^[0-9a-f]{32}$/);
        assert.equal(record.unit, 'record');
        assert.equal(record.type, json(validFixture(name))['type']);
        assert.deepEqual(JSON.parse(record.body.toString('utf8')), record.event, 'body is the record event');
      }
      assert.equal(new Set(records.map((r) => r.identity)).size, records.length, 'identities distinct within an event');
      assert.equal(new Set(records.map((r) => r.traceId)).size, records.length, 'trace ids distinct within an event');
      const whole = explodeFixture(name, 'event');
      assert.equal(whole.length, 1);
      assert.equal(whole[0]?.unit, 'event');
      assert.equal(whole[0]?.body.equals(validFixture(name)), true, 'event unit keeps the original bytes');
      assert.equal(whole[0]?.itemIndex, null);
    });
  }

  it('every record is stable across replays of the same message', () => {
    for (const name of fixtures) {
      for (const unit of ['record', 'event'] as const) {
        const first = explodeFixture(name, unit, sourceAt('7'));
        const again = explodeFixture(name, unit, sourceAt('7'));
        assert.deepEqual(
          first.map((r) => [r.identity, r.traceId, r.naturalKey, r.eventTime, r.body.toString('base64')]),
          again.map((r) => [r.identity, r.traceId, r.naturalKey, r.eventTime, r.body.toString('base64')]),
          `${name} ${unit}`,
        );
      }
    }
  });

  it('per-item records are valid events with the envelope keys in their original order', () => {
    const raw = validFixture('activity');
    const original = json(raw);
    const records = explodeBytes(raw, 'record');
    records.forEach((record, index) => {
      assert.deepEqual(Object.keys(record.event), Object.keys(original));
      assert.equal(record.event['type'], 'activity');
      assert.deepEqual(record.event['user'], original['user']);
      assert.equal(record.event['version'], '2022-03-16');
      const data = record.event['data'];
      assert.ok(Array.isArray(data) && data.length === 1);
      assert.equal(data[0], record.item, 'the item is the decoded object itself');
      assert.equal(record.itemIndex, index);
      assert.ok(!record.body.equals(raw));
    });
    const first = records[0];
    assert.ok(first?.item);
    assert.ok('MET_data' in first.item && 'TSS_data' in first.item);
    assert.ok(first.body.toString('utf8').includes('"MET_data"'));
    assert.deepEqual(first.item['vendor_extension_field'], { note: 'unknown fields must pass untouched' });
  });

  it("per-item bodies are cut from Terra's bytes: big integers, trailing zeros, -0.0, escapes and spacing survive", () => {
    const original = json(validFixture('activity'));
    const items = original['data'] as Array<Record<string, unknown>>;
    const itemTexts = items.map((item, index) =>
      JSON.stringify(item).replace(/^\{/, `{ "big": 12345678901234567890, "ratio" : 1000.0, "neg": -0.0, "name": "caf\\u00e9 \\ud83d\\ude00", "n${index}":1e2,`),
    );
    const envelope = `{\n  "type":"activity",  "user" : ${JSON.stringify(original['user'])},\n  "data": [\n    ${itemTexts.join(' ,\n    ')}\n  ],\t"version": "2022-03-16"\n}\n`;
    const records = explodeBytes(Buffer.from(envelope), 'record');
    assert.equal(records.length, items.length);
    records.forEach((record, index) => {
      const expected = `{\n  "type":"activity",  "user" : ${JSON.stringify(original['user'])},\n  "data": [${itemTexts[index]}],\t"version": "2022-03-16"\n}\n`;
      assert.equal(record.body.toString('utf8'), expected, `record ${index}: the envelope and item bytes exactly as sent`);
      assert.match(record.body.toString('utf8'), /"big": 12345678901234567890, "ratio" : 1000\.0, "neg": -0\.0, "name": "caf\\u00e9/);
    });
  });

  it('a single-item event keeps its original bytes and object in the record unit', () => {
    const raw = validFixture('body');
    const [record] = explodeBytes(raw, 'record');
    assert.ok(record);
    assert.equal(record.body, raw);
    assert.equal(record.itemIndex, 0);
    assert.deepEqual(record.event, json(raw));
  });

  it('athlete: one record, the profile as item, keyed by user', () => {
    const [record] = explodeFixture('athlete', 'record');
    assert.ok(record);
    assert.equal(record.kind, 'data');
    assert.equal(record.item?.['first_name'], 'Ana');
    assert.equal(record.naturalKey, 'user=40f7b0e1-89e2-43ac-a5b8-1e29c8d47cad');
    assert.equal(record.itemIndex, null);
  });

  it('user events: one record, no item', () => {
    for (const name of ['auth', 'deauth', 'permission_change', 'healthcheck', 'auth_cancelled']) {
      const [record] = explodeFixture(name, 'record');
      assert.ok(record);
      assert.equal(record.kind, 'user');
      assert.equal(record.item, null);
      assert.equal(record.body.equals(validFixture(name)), true);
    }
  });

  it('a data event with empty data[] gives no records in either unit', () => {
    const event = json(validFixture('daily'));
    event['data'] = [];
    const raw = Buffer.from(JSON.stringify(event));
    assert.equal(explodeBytes(raw, 'record').length, 0);
    assert.equal(explodeBytes(raw, 'event').length, 0);
  });
});

describe('explodeEvent: fields', () => {
  it('activity: user, provider, reference, summary id, raw times, natural key', () => {
    const [first, second] = explodeFixture('activity', 'record');
    assert.ok(first && second);
    assert.equal(first.userId, '40f7b0e1-89e2-43ac-a5b8-1e29c8d47cad');
    assert.equal(first.provider, 'GARMIN');
    assert.equal(first.referenceId, 'your-user-123');
    assert.equal(first.summaryId, '19382734591');
    assert.equal(first.startTime, '2026-07-01T06:12:03.000000+01:00');
    assert.equal(first.endTime, '2026-07-01T07:05:42.000000+01:00');
    assert.equal(first.naturalKey, 'summary_id=19382734591');
    assert.equal(first.version, '2022-03-16');
    assert.equal(first.kind, 'data');
    assert.equal(second.summaryId, '19382790012');
  });

  it('daily: keyed by the date part of start_time, before any timezone conversion', () => {
    const event = json(validFixture('daily')) as { data: { metadata: Record<string, unknown> }[] };
    const first = event.data[0];
    assert.ok(first);
    first.metadata['start_time'] = '2026-07-01T00:30:00.000000+02:00'; // 2026-06-30 in UTC
    const [record] = explodeBytes(Buffer.from(JSON.stringify(event)), 'record');
    assert.equal(record?.naturalKey, 'date=2026-07-01');
  });

  it('sleep: summary_id, else start and end', () => {
    const [withId, nap] = explodeFixture('sleep', 'record');
    assert.equal(withId?.naturalKey, 'summary_id=3f6e0c1a-4c1b-4e0f-9a50-8b2d4f1e7c32');
    assert.equal(nap?.naturalKey, 'start_time=2026-07-02T14:05:00.000000-04:00,end_time=2026-07-02T14:41:00.000000-04:00');
    assert.equal(nap?.summaryId, null);
  });

  it('hormone, planned_workout, health_observation natural keys', () => {
    assert.deepEqual(
      explodeFixture('hormone', 'record').map((r) => r.naturalKey),
      ['timestamp=2026-07-01T07:02:00.000000+00:00', 'timestamp=2026-07-02T07:05:00.000000+00:00', 'timestamp=2026-07-03T06:58:00.000000+00:00'],
    );
    assert.deepEqual(
      explodeFixture('planned_workout', 'record').map((r) => r.naturalKey),
      ['planned_workout_id=pw_01J2Z8Y6K3T7V9R2M4N6P8Q0S1', 'metadata.id=tp-workout-55120'],
    );
    assert.deepEqual(explodeFixture('health_observation', 'record').map((r) => r.naturalKey), ['summary_id=obs-6c1f3a9e']);
  });

  it('user_reauth belongs to the new user', () => {
    const [record] = explodeFixture('user_reauth', 'record');
    assert.equal(record?.userId, '9d3f6a21-0b7c-4e58-a1d4-6c2e8f0b3a95');
  });

  it('auth_cancelled and healthcheck have no user', () => {
    assert.equal(explodeFixture('auth_cancelled', 'record')[0]?.userId, null);
    assert.equal(explodeFixture('auth_cancelled', 'record')[0]?.referenceId, 'patient-0051');
    assert.equal(explodeFixture('healthcheck', 'record')[0]?.userId, null);
  });

  it('Teams: ids, owners and microsecond times', () => {
    const [coach] = explodeFixture('coach.registered', 'record');
    assert.equal(coach?.kind, 'teams');
    assert.equal(coach?.userId, '7f2d9a4e-1c3b-4f6a-9d8e-2b5c7a1f4e90');
    assert.equal(coach?.naturalKey, 'coach_id=7f2d9a4e-1c3b-4f6a-9d8e-2b5c7a1f4e90');
    const athletes = explodeFixture('athlete.registered', 'record');
    assert.deepEqual(athletes.map((r) => r.userId), ['b91c4d2f-7e5a-4c1b-8f3d-6a2e9c4b7d15', 'b91c4d2f-7e5a-4c1b-8f3d-6a2e9c4b7d16']);
    assert.equal(athletes[0]?.naturalKey, 'athlete_id=b91c4d2f-7e5a-4c1b-8f3d-6a2e9c4b7d15');
    const tests = explodeFixture('test.retrieved', 'record');
    assert.equal(tests[0]?.userId, '7f2d9a4e-1c3b-4f6a-9d8e-2b5c7a1f4e90');
    assert.equal(tests[0]?.naturalKey, 'test_id=vald-test-90211');
    assert.equal(tests[0]?.startTime, new Date(1782897600000).toISOString());
    const [activity] = explodeFixture('activity.retrieved', 'record');
    assert.equal(activity?.naturalKey, 'activity_id=catapult-act-5520');
    assert.equal(activity?.provider, 'Catapult');
    assert.equal(activity?.endTime, new Date(1782815400000).toISOString());
  });
});

describe('explodeEvent: headers, trace ids and identity', () => {
  it('uses X-Terra-Trace-Id, X-Terra-Ordering-Timestamp and terra-reference', () => {
    const headers = { 'x-terra-trace-id': 'trace-9f1', 'x-terra-ordering-timestamp': '1782900000123', 'terra-reference': 'ref-77' };
    const records = explodeFixture('activity', 'record', sourceAt('42', headers));
    assert.deepEqual(records.map((r) => r.traceId), ['trace-9f1:item:0', 'trace-9f1:item:1']);
    assert.equal(records[0]?.orderingTimestampMs, 1782900000123);
    assert.equal(records[0]?.eventTime, new Date(1782900000123).toISOString());
    assert.equal(records[0]?.terraReference, 'ref-77');
    const [whole] = explodeFixture('activity', 'event', sourceAt('42', headers));
    assert.equal(whole?.traceId, 'trace-9f1');
  });

  it('header names are matched case-insensitively', () => {
    const [record] = explodeFixture('deauth', 'record', sourceAt('42', { 'X-Terra-Trace-Id': 'T-1' }));
    assert.equal(record?.traceId, 'T-1');
  });

  it('without headers: trace id from the Kafka position, time from the Kafka timestamp', () => {
    const source = sourceAt('1001', {}, 1782899999000);
    const records = explodeFixture('daily', 'record', source);
    assert.deepEqual(records.map((r) => r.traceId), ['kafka:terra.events:3:1001:item:0', 'kafka:terra.events:3:1001:item:1']);
    assert.equal(records[0]?.orderingTimestampMs, 1782899999000);
    assert.equal(records[0]?.terraReference, null);
    const bad = explodeFixture('daily', 'record', sourceAt('1001', { 'x-terra-ordering-timestamp': 'soon' }, 1782899999000));
    assert.equal(bad[0]?.orderingTimestampMs, 1782899999000);
  });

  it('data identities do not depend on the Kafka position or headers (Terra resends overwrite)', () => {
    const a = explodeFixture('activity', 'record', sourceAt('1', {}, 1));
    const b = explodeFixture('activity', 'record', sourceAt('99', { 'x-terra-trace-id': 'other' }, 2));
    assert.deepEqual(a.map((r) => r.identity), b.map((r) => r.identity));
  });

  it('identity includes the type and the user (summary_id is unique per user only)', () => {
    const event = json(validFixture('activity')) as { user: Record<string, unknown> };
    const base = explodeBytes(validFixture('activity'), 'record').map((r) => r.identity);
    event.user['user_id'] = 'someone-else';
    const other = explodeBytes(Buffer.from(JSON.stringify(event)), 'record').map((r) => r.identity);
    assert.notDeepEqual(base, other);
    const hObs = json(validFixture('health_observation')) as { data: { metadata: Record<string, unknown> }[]; user: unknown };
    hObs.user = json(validFixture('activity'))['user'];
    const first = hObs.data[0];
    assert.ok(first);
    first.metadata['summary_id'] = '19382734591';
    const [asObservation] = explodeBytes(Buffer.from(JSON.stringify(hObs)), 'record');
    assert.equal(asObservation?.naturalKey, 'summary_id=19382734591');
    assert.notEqual(asObservation?.identity, base[0]);
  });

  it('user events: identity from the trace id when present, else the event time', () => {
    const withTrace = explodeFixture('deauth', 'record', sourceAt('1', { 'x-terra-trace-id': 'abc' }, 1000));
    const sameTrace = explodeFixture('deauth', 'record', sourceAt('2', { 'x-terra-trace-id': 'abc' }, 2000));
    assert.equal(withTrace[0]?.identity, sameTrace[0]?.identity);
    assert.equal(withTrace[0]?.naturalKey, 'trace_id=abc');
    const t1 = explodeFixture('deauth', 'record', sourceAt('1', {}, 1000));
    const t2 = explodeFixture('deauth', 'record', sourceAt('1', {}, 2000));
    assert.notEqual(t1[0]?.identity, t2[0]?.identity);
    assert.equal(t1[0]?.naturalKey, 'event_time_ms=1000');
  });

  it('event unit: identity from the sorted item identities, whatever the item order', () => {
    const event = json(validFixture('activity')) as { data: unknown[] };
    const [whole] = explodeBytes(validFixture('activity'), 'event');
    event.data.reverse();
    const [reversed] = explodeBytes(Buffer.from(JSON.stringify(event)), 'event');
    assert.equal(whole?.identity, reversed?.identity);
    const perItem = explodeBytes(validFixture('activity'), 'record').map((r) => r.identity);
    assert.ok(whole && !perItem.includes(whole.identity));
    assert.equal(whole.userId, '40f7b0e1-89e2-43ac-a5b8-1e29c8d47cad');
    assert.equal(whole.startTime, '2026-07-01T06:12:03.000000+01:00');
    assert.equal(whole.summaryId, null, 'no single summary id for a multi-item event');
    const [user] = explodeFixture('deauth', 'event');
    assert.equal(user?.identity, explodeFixture('deauth', 'record')[0]?.identity, 'a one-record event has one identity');
  });
});
