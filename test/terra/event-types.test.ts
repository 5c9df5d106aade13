import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventKind, eventTypeKinds, eventTypes, isKnownEventType } from '../../src/terra/event-types.js';

describe('event types', () => {
  it('lists each type once, with a kind', () => {
    assert.equal(new Set(eventTypes).size, eventTypes.length);
    assert.deepEqual([...eventTypes].sort(), Object.keys(eventTypeKinds).sort());
    const asStrings: readonly string[] = eventTypes;
    assert.ok(asStrings.includes('activity'));
  });

  it('classifies types', () => {
    assert.equal(eventKind('activity'), 'data');
    assert.equal(eventKind('athlete'), 'data');
    assert.equal(eventKind('user_reauth'), 'user');
    assert.equal(eventKind('test.retrieved'), 'teams');
    assert.equal(eventKind('s3_payload'), 'pointer');
    assert.equal(eventKind('processing'), undefined);
    assert.equal(eventKind('constructor'), undefined);
    assert.equal(eventKind('__proto__'), undefined);
    assert.equal(isKnownEventType('toString'), false);
  });
});
