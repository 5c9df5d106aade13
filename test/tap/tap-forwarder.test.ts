import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTapForwarder, type TapBatch } from '../../src/tap/tap-forwarder.js';
import { createTapHub, type TapSubscriptionFilter } from '../../src/tap/tap-hub.js';
import { all, event, nextTurn } from '../support/tap-events.js';

/** A forwarder whose channel keeps what it was handed; `written` is released by the test. */
function forwarder(queueEvents = 5, maxBodyBytes = 8) {
  const sent: Array<{ batch: TapBatch; written: () => void }> = [];
  const tap = createTapForwarder({ queueEvents, maxBodyBytes, send: (batch, written) => (sent.push({ batch, written }), true) });
  return { tap, sent };
}

describe('tap forwarder (a worker process of run --processes N)', () => {
  it('wants nothing and builds nothing until the primary sends filters, then forwards only what they select, once per turn', async () => {
    const { tap, sent } = forwarder();
    assert.equal(tap.wants('acme', 'lake'), false);
    tap.publish(event(), () => assert.fail('no body without readers'));
    tap.setSubscriptions([{ id: 1, filter: { ...all, destination: 'lake', type: 'sleep' } }]);
    assert.equal(tap.wants('acme', 'lake'), true);
    assert.equal(tap.wants('acme', 'app'), false);
    tap.publish(event({ identity: 'a' }), () => assert.fail('nobody asked for bodies'));
    tap.publish(event({ identity: 'b', type: 'sleep' }), () => assert.fail('nobody asked for bodies'));
    tap.publish(event({ identity: 'c', type: 'sleep', body: 'never from a lane' }), () => Buffer.from('{}'));
    await nextTurn();
    assert.equal(sent.length, 1, 'one batch per turn');
    assert.deepEqual(sent[0]?.batch.events.map((item) => [item.identity, item.body]), [['b', undefined], ['c', undefined]]);
    tap.setSubscriptions([]);
    assert.equal(tap.wants('acme', 'lake'), false);
  });

  it('sends bodies when a reader asked, cut one byte past maxBodyBytes so the primary hub marks them cut', async () => {
    const { tap, sent } = forwarder(5, 8);
    tap.setSubscriptions([{ id: 1, filter: all }, { id: 2, filter: { ...all, bodies: true } }]);
    tap.publish(event({ identity: 'long' }), () => Buffer.from('0123456789'));
    tap.publish(event({ identity: 'short' }), () => Buffer.from('short'));
    await nextTurn();
    assert.deepEqual(sent[0]?.batch.events.map((item) => item.body), ['012345678', 'short']);

    const hub = createTapHub({ maxSubscribers: 2, queueEvents: 10, maxBodyBytes: 8 });
    const reader = hub.subscribe({ ...all, bodies: true }, () => undefined);
    for (const { body, ...bare } of sent[0]?.batch.events ?? []) hub.publish(bare, () => Buffer.from(body ?? '', 'utf8'));
    const [cut, whole] = reader?.take().events ?? [];
    assert.deepEqual([cut?.body, cut?.bodyTruncated, whole?.body, whole?.bodyTruncated], ['01234567', true, 'short', undefined]);
  });

  it('holds at most queueEvents on their way; beyond, drops and counts per reader, and never blocks the lane', async () => {
    const { tap, sent } = forwarder(5);
    tap.setSubscriptions([{ id: 7, filter: all }, { id: 8, filter: { ...all, type: 'sleep' } }]);
    for (let index = 0; index < 8; index += 1) tap.publish(event({ identity: String(index) }), () => Buffer.from('{}'));
    await nextTurn();
    assert.deepEqual(sent.map(({ batch }) => batch.events.length), [5]);
    assert.deepEqual(sent[0]?.batch.dropped, [{ subscription: 7, count: 3 }], 'counted only for the reader that wanted them');
    // Nothing was written out yet: still full.
    tap.publish(event({ identity: 'still full' }), () => Buffer.from('{}'));
    await nextTurn();
    assert.deepEqual(sent[1]?.batch, { events: [], dropped: [{ subscription: 7, count: 1 }] });
    sent[0]?.written();
    sent[0]?.written();
    tap.publish(event({ identity: 'room again' }), () => Buffer.from('{}'));
    await nextTurn();
    assert.deepEqual(sent[2]?.batch.events.map((item) => item.identity), ['room again'], 'room once the channel wrote the batch (counted once)');
  });

  it('forgets a batch the channel could not take', async () => {
    let attempts = 0;
    const tap = createTapForwarder({ queueEvents: 2, maxBodyBytes: 8, send: () => ((attempts += 1), false) });
    tap.setSubscriptions([{ id: 1, filter: all }]);
    for (let round = 0; round < 3; round += 1) {
      tap.publish(event(), () => Buffer.from('{}'));
      tap.publish(event(), () => Buffer.from('{}'));
      await nextTurn();
    }
    assert.equal(attempts, 3, 'each batch tried, none kept counting against the bound');
  });
});

describe('tap hub, as the primary of run --processes N uses it', () => {
  it('reports every subscriber filter when one comes or goes, and tells a reader what a worker process dropped for it', async () => {
    const changes: Array<readonly TapSubscriptionFilter[]> = [];
    const hub = createTapHub({ maxSubscribers: 4, queueEvents: 10, maxBodyBytes: 8, onSubscriptionsChange: (subscriptions) => changes.push(subscriptions) });
    let signals = 0;
    const first = hub.subscribe({ ...all, tenant: 'acme' }, () => (signals += 1));
    const second = hub.subscribe(all, () => undefined);
    assert.deepEqual(changes.map((list) => list.map(({ id }) => id)), [[1], [1, 2]]);
    assert.equal(changes[1]?.[0]?.filter.tenant, 'acme');
    hub.lose(1, 4);
    hub.lose(99, 1);
    await nextTurn();
    assert.equal(signals, 1, 'the reader is woken to report the loss');
    assert.deepEqual(first?.take(), { events: [], dropped: 4 });
    assert.deepEqual(second?.take(), { events: [], dropped: 0 });
    first?.close();
    second?.close();
    assert.deepEqual(changes.at(-1), []);
  });
});
