import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { sendInKeyOrder } from '../../../connectors/shared/ordered-send.js';
import type { RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';

interface Item {
  key: string;
  name: string;
  fail?: FanoutError;
}

const ok: RecordOutcome = { ok: true };

describe('sendInKeyOrder', () => {
  it('keeps batch order within a key, runs keys in parallel up to the limit, reports in batch order', async () => {
    const items: Item[] = ['a1', 'b1', 'a2', 'c1', 'b2', 'a3'].map((name) => ({ key: name.slice(0, 1), name }));
    const started: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const outcomes = await sendInKeyOrder(items, { keyOf: (item) => item.key, concurrency: 2, signal: new AbortController().signal }, async (item) => {
      started.push(item.name);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(5);
      inFlight -= 1;
      return ok;
    });
    assert.equal(outcomes.length, items.length);
    assert.ok(outcomes.every((outcome) => outcome.ok));
    assert.equal(maxInFlight, 2);
    for (const key of ['a', 'b', 'c']) {
      assert.deepEqual(
        started.filter((name) => name.startsWith(key)),
        items.filter((item) => item.key === key).map((item) => item.name),
      );
    }
  });

  it('holds back later items of a key after a retryable failure, but not after a permanent one', async () => {
    const unavailable = new FanoutError('destination_throttled', 'slow down', { retryAfterMs: 500 });
    const rejected = new FanoutError('destination_rejected', 'no');
    const items: Item[] = [
      { key: 'a', name: 'a1', fail: unavailable },
      { key: 'a', name: 'a2' },
      { key: 'b', name: 'b1', fail: rejected },
      { key: 'b', name: 'b2' },
    ];
    const sent: string[] = [];
    const outcomes = await sendInKeyOrder(items, { keyOf: (item) => item.key, concurrency: 4, signal: new AbortController().signal }, async (item) => {
      sent.push(item.name);
      return item.fail === undefined ? ok : { ok: false, error: item.fail };
    });
    assert.deepEqual(sent.sort(), ['a1', 'b1', 'b2']);
    const held = outcomes[1];
    assert.ok(held && !held.ok);
    assert.equal(held.error.code, 'destination_throttled');
    assert.equal(held.error.retryable, true);
    assert.equal(held.error.retryAfterMs, 500);
    assert.equal(held.error.detail['heldBack'], true);
    assert.deepEqual(outcomes[3], ok);
  });

  it('turns a throw into that item outcome', async () => {
    const outcomes = await sendInKeyOrder([1, 2], { keyOf: String, concurrency: 1, signal: new AbortController().signal }, async (item) => {
      if (item === 1) throw new Error('boom');
      return ok;
    });
    assert.equal(outcomes[0]?.ok === false && outcomes[0].error.code, 'internal_error');
    assert.deepEqual(outcomes[1], ok);
  });

  it('does not start items after the signal aborts', async () => {
    const controller = new AbortController();
    const sent: number[] = [];
    const outcomes = await sendInKeyOrder([1, 2, 3], { keyOf: () => 'same', concurrency: 1, signal: controller.signal }, async (item) => {
      sent.push(item);
      controller.abort();
      return ok;
    });
    assert.deepEqual(sent, [1]);
    assert.equal(outcomes[1]?.ok === false && outcomes[1].error.code, 'destination_unavailable');
    assert.equal(outcomes[2]?.ok === false && outcomes[2].error.retryable, true);
  });

  it('handles an empty batch', async () => {
    assert.deepEqual(await sendInKeyOrder([], { keyOf: String, concurrency: 3, signal: new AbortController().signal }, async () => ok), []);
  });
});
