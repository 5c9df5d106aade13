import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileKeyTemplate,
  defaultObjectKey,
  joinKeyPrefix,
  keyPrefixSchema,
  keyTemplateSchema,
  objectKeyFor,
  sanitizeKeyValue,
  type RenderKey,
} from '../../../connectors/shared/object-key.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { makeAthleteRecord, makeDailyRecord, makeRecord, makeTeamsRecord, makeUserEventRecord } from '../../support/records.js';

function compiled(template: string): RenderKey {
  const result = compileKeyTemplate(template);
  assert.ok(result.ok, result.ok ? '' : result.problems.join(' '));
  return result.render;
}

function problemsOf(template: string): string[] {
  const result = compileKeyTemplate(template);
  assert.equal(result.ok, false, `${template} should be rejected`);
  return result.ok ? [] : result.problems;
}

describe('defaultObjectKey (Terra bucket layout)', () => {
  it('keys a data item by user and UTC start time without fraction', () => {
    assert.equal(defaultObjectKey(makeRecord()), '2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
    assert.equal(defaultObjectKey(makeDailyRecord()), '2022-03-16/daily/user-1-2026-06-30T23:00:00Z.json');
  });

  it('keeps a local start time (no offset) as sent, without fraction', () => {
    assert.equal(defaultObjectKey(makeRecord({ startTime: '2026-07-01T07:04:11.123456' })), '2022-03-16/activity/user-1-2026-07-01T07:04:11.json');
  });

  it('uses the version folder of the event, 2022-03-16 when it has none', () => {
    assert.equal(defaultObjectKey(makeRecord({ version: '2025-01-01' })), '2025-01-01/activity/user-1-2026-07-01T06:04:11Z.json');
    assert.equal(defaultObjectKey(makeRecord({ version: null })), '2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
  });

  it('keys athlete per user', () => {
    assert.equal(defaultObjectKey(makeAthleteRecord()), '2022-03-16/athlete/user-1.json');
  });

  it('keys user events by event time under 2022-03-16', () => {
    assert.equal(defaultObjectKey(makeUserEventRecord({ version: '2025-01-01' })), '2022-03-16/auth/user-1-2026-07-01T08:00:00Z.json');
  });

  it('keys a user event without a user by its identity', () => {
    const record = makeUserEventRecord({ type: 'auth_cancelled', userId: null });
    assert.equal(defaultObjectKey(record), `2022-03-16/auth_cancelled/${record.identity}-2026-07-01T08:00:00Z.json`);
  });

  it('keys Teams events by identity under teams/', () => {
    const record = makeTeamsRecord();
    assert.equal(defaultObjectKey(record), `teams/test.retrieved/${record.identity}.json`);
  });

  it('keys whole events (unit event) by user and identity', () => {
    const record = makeRecord({ unit: 'event', itemIndex: null });
    assert.equal(defaultObjectKey(record), `2022-03-16/activity/user-1-${record.identity}.json`);
  });

  it('cannot be escaped by a hostile user id or type', () => {
    const key = defaultObjectKey(makeRecord({ userId: '../../etc/passwd', type: 'a/../b' }));
    assert.equal(key, '2022-03-16/a___b/____etc_passwd-2026-07-01T06:04:11Z.json');
    assert.ok(!key.split('/').includes('..'));
  });
});

describe('sanitizeKeyValue', () => {
  it('replaces separators, control characters and ..', () => {
    assert.equal(sanitizeKeyValue('a/b\\c'), 'a_b_c');
    assert.equal(sanitizeKeyValue('x\u0000y\ny\u007f'), 'x_y_y_');
    assert.equal(sanitizeKeyValue('..'), '_');
    assert.equal(sanitizeKeyValue('...'), '_.');
    assert.equal(sanitizeKeyValue('.'), '_');
    assert.equal(sanitizeKeyValue(''), 'none');
    assert.equal(sanitizeKeyValue('2026-07-01T06:04:11Z'), '2026-07-01T06:04:11Z');
  });

  it('replaces bidirectional marks, overrides and isolates, BOM, zero-width, C1 controls and lone surrogates', () => {
    assert.equal(sanitizeKeyValue('user\u202egnp.exe'), 'user_gnp.exe');
    assert.equal(sanitizeKeyValue('\u2066a\u2069\u200e\u200f\u061c'), '_a____');
    assert.equal(sanitizeKeyValue('\ufeffid\u200b\u0085'), '_id__');
    assert.equal(sanitizeKeyValue('a\ud800b\udc00'), 'a_b_');
    assert.equal(sanitizeKeyValue('a\u2028b'), 'a_b');
    assert.equal(sanitizeKeyValue('\ud83d\ude00 café 用户'), '\ud83d\ude00 café 用户', 'emoji and letters stay');
  });

  it('leaves plain values as they are and cleans the rest exactly as the patterns do (generated values)', () => {
    const reference = (value: string): string => {
      const cleaned = value.replace(/[/\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, '_').replace(/\.\./g, '_');
      return cleaned === '' ? 'none' : cleaned === '.' ? '_' : cleaned;
    };
    const pieces = ['a', 'Z', '0', '-', ':', '.', '..', '/', '\\', ' ', '~', '\u0000', '\u001f', '\u007f', '\u0085', '\u00e9', '\u200b', '\u202e', '\ufeff', '\ud800', '\udc00', '\ud83d\ude00', '用'];
    let seed = 5;
    for (let round = 0; round < 5_000; round += 1) {
      let value = '';
      for (let length = round % 9; length > 0; length -= 1) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        value += pieces[(seed >>> 8) % pieces.length] ?? '';
      }
      assert.equal(sanitizeKeyValue(value), reference(value), JSON.stringify(value));
    }
  });

  it('keys never carry them, whatever the template', () => {
    const compiled = compileKeyTemplate('{natural_key}/{user_id}.json');
    assert.ok(compiled.ok);
    const key = compiled.render(makeRecord({ userId: 'a\u202eb', naturalKey: 'trace_id=\u2067x' }));
    assert.doesNotMatch(key, /[\u202a-\u202e\u2066-\u2069]/);
  });
});

describe('compileKeyTemplate', () => {
  it('renders every field', () => {
    const render = compiled('{tenant}/{version}/{type}/{provider}/{user_id}/{reference_id}/{summary_id}/{yyyy}/{mm}/{dd}/{start_time}/{event_time}/{natural_key}/{identity}.json');
    const record = makeRecord();
    assert.equal(
      render(record, { tenant: 'acme' }),
      `acme/2022-03-16/activity/GARMIN/user-1/ref-1/summary-1/2026/07/01/2026-07-01T06:04:11Z/2026-07-01T08:00:00Z/summary_id=summary-1/${record.identity}.json`,
    );
  });

  it('takes the date of the UTC start time, or of the event time when there is no start', () => {
    const render = compiled('{yyyy}/{mm}/{dd}/{start_time}');
    assert.equal(render(makeDailyRecord()), '2026/06/30/2026-06-30T23:00:00Z');
    assert.equal(render(makeUserEventRecord()), '2026/07/01/2026-07-01T08:00:00Z');
  });

  it('renders missing values as none and an unknown tenant as the placeholder', () => {
    const render = compiled('{tenant}/{summary_id}/{reference_id}');
    assert.equal(render(makeDailyRecord({ referenceId: null })), '{tenant}/none/none');
  });

  it('sanitizes substituted values so they cannot add or climb segments', () => {
    const render = compiled('{provider}/{user_id}/x.json');
    assert.equal(render(makeRecord({ provider: '..', userId: '../../../etc' })), '_/______etc/x.json');
    assert.equal(render(makeRecord({ provider: '.', userId: 'a/b' })), '_/a_b/x.json');
    const joined = compiled('{provider}{user_id}/x');
    assert.equal(joined(makeRecord({ provider: '.', userId: '.' })), '__/x');
  });

  it('rejects unknown fields, naming the known ones', () => {
    const [problem] = problemsOf('{version}/{userid}.json');
    assert.match(problem ?? '', /unknown field \{userid\}/);
    assert.match(problem ?? '', /\{user_id\}/);
  });

  it('rejects unsafe shapes and reports every problem at once', () => {
    assert.equal(problemsOf('/{type}/../{identity}//x/').length, 3);
    assert.equal(problemsOf('').length, 1);
    assert.equal(problemsOf('./{identity}').length, 1);
    assert.equal(problemsOf('a\\{identity}').length, 1);
    assert.equal(problemsOf('{identity').length, 1);
    assert.equal(problemsOf('identity}').length, 1);
  });
});

describe('prefix', () => {
  it('joins with exactly one slash', () => {
    assert.equal(joinKeyPrefix('raw/', 'a.json'), 'raw/a.json');
    assert.equal(joinKeyPrefix('raw/x', 'a.json'), 'raw/x/a.json');
    assert.equal(joinKeyPrefix(undefined, 'a.json'), 'a.json');
  });

  it('is validated like a template, without fields', () => {
    assert.ok(keyPrefixSchema.safeParse('terra/').success);
    for (const bad of ['', '/abs', 'a/../b', 'a//b', '{tenant}/x', 'a\u0000b']) assert.equal(keyPrefixSchema.safeParse(bad).success, false, bad);
  });
});

describe('keyTemplateSchema', () => {
  it('accepts a valid template and reports every problem of a bad one', () => {
    assert.ok(keyTemplateSchema.safeParse('{version}/{type}/{user_id}/{summary_id}.json').success);
    const result = keyTemplateSchema.safeParse('/{nope}/../x');
    assert.equal(result.success, false);
    assert.equal(result.error?.issues.length, 3);
  });
});

describe('objectKeyFor', () => {
  it('uses the template and prefix, or Terra layout without a template', () => {
    const record = makeRecord();
    assert.equal(objectKeyFor(record, {}), '2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
    assert.equal(objectKeyFor(record, { prefix: 'raw/' }), 'raw/2022-03-16/activity/user-1-2026-07-01T06:04:11Z.json');
    assert.equal(objectKeyFor(record, { keyTemplate: '{tenant}/{summary_id}.json' }, { tenant: 'acme' }), 'acme/summary-1.json');
  });

  it('throws destination_misconfigured for a template the schema would reject', () => {
    assert.throws(
      () => objectKeyFor(makeRecord(), { keyTemplate: '../{identity}' }),
      (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured',
    );
    assert.throws(() => objectKeyFor(makeRecord(), { prefix: '/abs' }), FanoutError);
  });
});
