import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instantMs, keyTimeOf, maxYear, minYear, parseTerraTime, terraTimeGrammar, terraTimeProblem, type TerraTime } from '../../src/terra/terra-time.js';

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

  it('reads exactly what the grammar pattern reads, with the same values and reasons (12,000 generated strings)', () => {
    // The oracle: the pattern and the field rules written the plain way.
    const oracle = (raw: string): { ok: true; time: TerraTime } | { ok: false; reason: string } => {
      const match = raw.length <= 64 ? terraTimeGrammar.exec(raw) : null;
      if (match === null) return { ok: false, reason: 'not an ISO-8601 date or date-time (YYYY-MM-DDTHH:MM:SS with an optional fraction and zone)' };
      const [, yearText = '', monthText = '', dayText = '', hourText, minuteText, secondText, fraction = '', zone] = match;
      const [year, month, day] = [Number(yearText), Number(monthText), Number(dayText)];
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
      if (year < minYear || year > maxYear) return { ok: false, reason: `year ${yearText} is outside ${minYear}-${maxYear}` };
      if (month < 1 || month > 12) return { ok: false, reason: `month ${monthText} does not exist` };
      if (day < 1 || day > days) return { ok: false, reason: `day ${dayText} does not exist in ${yearText}-${monthText}` };
      const [hour, minute, second] = [Number(hourText ?? '0'), Number(minuteText ?? '0'), Number(secondText ?? '0')];
      if (hour > 23) return { ok: false, reason: `hour ${hourText ?? ''} does not exist` };
      if (minute > 59) return { ok: false, reason: `minute ${minuteText ?? ''} does not exist` };
      if (second > 59) return { ok: false, reason: `second ${secondText ?? ''} does not exist` };
      let offsetMinutes: number | null = null;
      if (zone === 'Z' || zone === 'z') offsetMinutes = 0;
      else if (zone !== undefined) {
        const digits = zone.slice(1).replace(':', '');
        const [offsetHours, offsetRest] = [Number(digits.slice(0, 2)), digits.length > 2 ? Number(digits.slice(2, 4)) : 0];
        if (offsetHours > 23 || offsetRest > 59) return { ok: false, reason: `zone offset ${zone} does not exist` };
        offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetRest);
      }
      const time: TerraTime = { year, month, day, hasTime: hourText !== undefined, hour, minute, second, millisecond: Number(fraction.slice(0, 3).padEnd(3, '0')), offsetMinutes };
      const utcYear = new Date(instantMs(time)).getUTCFullYear();
      if (utcYear < minYear || utcYear > maxYear) return { ok: false, reason: `the UTC instant falls outside years ${minYear}-${maxYear}` };
      return { ok: true, time };
    };
    // Deterministic generator: real shapes, then characters replaced, inserted, deleted and cut.
    let seed = 7;
    const random = (below: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed >>> 8) % below;
    };
    const alphabet = '0123456789-:T t.,Zz+-Ã€\u0660x';
    const digits = (count: number): string => Array.from({ length: count }, () => String(random(10))).join('');
    const shapes = [
      () => `${digits(4)}-${digits(2)}-${digits(2)}`,
      () => `${random(3) === 0 ? digits(4) : 2000 + random(40)}-${String(1 + random(12)).padStart(2, '0')}-${String(1 + random(31)).padStart(2, '0')}${'Tt '[random(3)]}${digits(2)}:${digits(2)}${random(4) === 0 ? '' : `:${digits(2)}${random(2) === 0 ? '' : `${'.,'[random(2)]}${digits(1 + random(8))}`}`}${['', 'Z', 'z', `+${digits(2)}`, `-${digits(2)}:${digits(2)}`, `+${digits(4)}`][random(6)]}`,
      () => `${['1000', '9999', '0999', '2024'][random(4)]}-${['01', '12', '02'][random(3)]}-${['01', '31', '29'][random(3)]}T${['00', '23', '24'][random(3)]}:${['00', '59'][random(2)]}:${['00', '59', '60'][random(3)]}${['Z', '+23:59', '-23:59', '+01', '-05:00', ''][random(6)]}`,
      () => (random(2) === 0 ? `1000-01-01T0${random(10)}:00:00+${['01', '12', '00'][random(3)]}:00` : `9999-12-31T2${random(4)}:59:59-0${random(10)}:00`),
    ];
    let accepted = 0;
    const reasons = new Set<string>();
    for (let index = 0; index < 12_000; index += 1) {
      let raw = shapes[random(shapes.length)]?.() ?? '';
      for (let edits = random(3); edits > 0; edits -= 1) {
        const at = random(raw.length + 1);
        const char = alphabet[random(alphabet.length)] ?? 'x';
        const edit = random(4);
        if (edit === 0) raw = raw.slice(0, at) + char + raw.slice(at + 1);
        else if (edit === 1) raw = raw.slice(0, at) + char + raw.slice(at);
        else if (edit === 2) raw = raw.slice(0, at) + raw.slice(at + 1);
        else raw = raw.slice(0, at);
      }
      const expected = oracle(raw);
      assert.deepEqual(parseTerraTime(raw), expected, JSON.stringify(raw));
      if (expected.ok) accepted += 1;
      else reasons.add(expected.reason.split(' ')[0] ?? '');
    }
    assert.ok(accepted > 300, `the generator reached the accepting paths (${accepted})`);
    assert.deepEqual([...reasons].sort(), ['day', 'hour', 'minute', 'month', 'not', 'second', 'the', 'year', 'zone'], 'every refusal was reached');
  });
});
