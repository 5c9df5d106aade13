import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorCatalogue } from '../../src/errors/catalogue.js';
import { decodeEvent } from '../../src/terra/decode-event.js';
import { eventTypes } from '../../src/terra/event-types.js';
import { decodeCorpus, schemaViolationByType } from '../support/bad-input-corpus.js';
import { activityEvent } from '../support/worker-files.js';
import { decodeOptions } from './support/terra-fixtures.js';

const good = Buffer.from(JSON.stringify(activityEvent('u-good', 0)));
const corpus = decodeCorpus(good);

describe('the bad-input corpus, decoded', () => {
  it('has a schema violation for every event type and unique kinds', () => {
    for (const type of eventTypes) assert.ok(Object.hasOwn(schemaViolationByType, type), type);
    assert.equal(new Set(corpus.map(({ kind }) => kind)).size, corpus.length);
    assert.ok(corpus.length >= 100, `${corpus.length} kinds`);
    assert.ok(decodeEvent(good, decodeOptions()).ok, 'the good event decodes');
  });

  for (const { kind, value, code } of corpus) {
    it(`${kind} -> ${code}`, () => {
      const result = decodeEvent(value, decodeOptions());
      assert.equal(result.ok, false, `${kind} was accepted`);
      if (result.ok) return;
      assert.equal(result.error.code, code, result.error.message);
      assert.ok(Object.hasOwn(errorCatalogue, result.error.code));
    });
  }

  it('names the path and the rule, never the value', () => {
    const byKind = new Map(corpus.map((input) => [input.kind, input]));
    const message = (kind: string): string => {
      const result = decodeEvent(byKind.get(kind)?.value ?? null, decodeOptions());
      assert.ok(!result.ok);
      return result.error.message;
    };
    assert.equal(message('user-id-bidi-override'), 'The activity event has an invalid identifier at user.user_id: an identifier contains U+202E (a bidirectional control character) at character 4.');
    assert.equal(message('user-id-lone-surrogate'), 'The activity event has an invalid identifier at user.user_id: an identifier contains U+D800 (a lone surrogate) at character 4.');
    assert.match(message('user-id-nul'), /at user\.user_id: an identifier contains U\+0000 \(NUL\)/);
    assert.match(message('user-id-bom'), /U\+FEFF \(a byte order mark\) at character 0/);
    assert.match(message('lab-event-id-bidi'), /^The lab_report\.completed event has an invalid identifier at event_id:/);
    assert.equal(message('date-february-30'), 'The activity event has an invalid timestamp at data[0].metadata.start_time: not a real date-time: day 30 does not exist in 2022-02.');
    assert.match(message('date-month-13'), /data\[0\]\.metadata\.start_time: not a real date-time: month 13 does not exist/);
    assert.match(message('date-year-0099'), /year 0099 is outside 1000-9999/);
    assert.match(message('lab-occurred-at-local-time'), /at occurred_at: not an instant/);
    assert.match(message('utf8-bom'), /byte order mark/);
    for (const kind of ['user-id-bidi-override', 'date-february-30', 'provider-bidi']) assert.doesNotMatch(message(kind), /gnp|GAR|2022-02-30/);
  });
});
