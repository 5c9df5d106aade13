import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instantMs, keyTimeOf, parseTerraTime, terraTimeProblem } from '../../src/terra/terra-time.js';

describe('parseTerraTime', () => {
  const real: readonly string[] = [
    '2022-10-28T10:00:00.000000+01:00',
    '2026-07-01T06:12:03Z',
    '2026-07-01t06:12:03z',
    '2022-10-28 10:00:00,5',
    '2022-10-28T10:00',
    '2022-10-28',
    '2024-02-29T00:00:00Z',
    '2000-02-29T00:00:00Z',
    '1000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999Z',
    '2026-07-01T00:15:00+0530',
    '2026-07-01T00:15:00-03',
    '2026-07-01T23:59:59+23:59',
  ];
  for (const raw of real) it(`accepts ${raw}`, () => assert.equal(terraTimeProblem(raw), undefined));

  const unreal: readonly [string, RegExp][] = [
    ['2022-02-30T00:00:00Z', /day 30 does not exist in 2022-02/],
    ['2023-02-29', /day 29 does not exist/],
    ['1900-02-29', /day 29 does not exist/],
    ['2022-04-31', /day 31/],
    ['2022-00-10', /month 00/],
    ['2022-13-01', /month 13/],
    ['2022-01-00', /day 00/],
    ['0000-01-01T00:00:00Z', /year 0000 is outside 1000-9999/],
    ['0099-01-01T00:00:00Z', /year 0099/],
    ['0999-12-31T23:59:59Z', /year 0999/],
    ['2022-10-28T24:00:00Z', /hour 24/],
    ['2022-10-28T10:60:00Z', /minute 60/],
    ['2022-10-28T10:00:60Z', /second 60/],
    ['2022-10-28T10:00:00+24:00', /zone offset/],
    ['2022-10-28T10:00:00+01:60', /zone offset/],
    ['1000-01-01T00:30:00+01:00', /UTC instant/],
    ['9999-12-31T23:00:00-05:00', /UTC instant/],
    ['2022-10-28garbage', /not an ISO-8601/],
    ['2022-10-28T10:00:00 +01:00', /not an ISO-8601/],
    ['20221028T100000Z', /not an ISO-8601/],
    ['+012022-10-28T10:00:00Z', /not an ISO-8601/],
    ['', /not an ISO-8601/],
    [`2022-10-28T10:00:00.${'1'.repeat(80)}Z`, /not an ISO-8601/],
  ];
  for (const [raw, reason] of unreal) it(`refuses ${raw.slice(0, 40)}`, () => assert.match(terraTimeProblem(raw) ?? '', reason));

  it('reads the instant, a local time as UTC', () => {
    const parsed = parseTerraTime('2022-10-28T10:00:00.123456+01:00');
    assert.ok(parsed.ok);
    assert.equal(instantMs(parsed.time), Date.parse('2022-10-28T09:00:00.123Z'));
    const local = parseTerraTime('1099-03-01T00:00:00');
    assert.ok(local.ok);
    assert.equal(new Date(instantMs(local.time)).toISOString(), '1099-03-01T00:00:00.000Z', 'no two-digit-year rolling');
  });

  it('formats key times', () => {
    const key = (raw: string): string => {
      const parsed = parseTerraTime(raw);
      assert.ok(parsed.ok, raw);
      return keyTimeOf(parsed.time);
    };
    assert.equal(key('2022-10-28T10:00:00.000000+01:00'), '2022-10-28T09:00:00Z');
    assert.equal(key('2022-10-28T10:00:00.000000'), '2022-10-28T10:00:00');
    assert.equal(key('2022-10-28'), '2022-10-28');
    assert.equal(key('1000-01-01T10:00'), '1000-01-01T10:00:00');
  });
});
