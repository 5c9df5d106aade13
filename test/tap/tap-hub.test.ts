import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTapHub } from '../../src/tap/tap-hub.js';
import { all, event, nextTurn } from '../support/tap-events.js';

describe('tap hub', () => {
  it('wants nothing while nobody listens, and only the lanes a subscriber filters for', () => {
    const hub = createTapHub({ maxSubscribers: 4, queueEvents: 10, maxBodyBytes: 100 });
    assert.equal(hub.wants('acme', 'lake'), false);
    hub.publish(event(), () => assert.fail('no body is built without subscribers'));
    const subscription = hub.subscribe({ ...all, tenant: 'acme', destination: 'app' }, () => undefined);
    assert.equal(hub.wants('acme', 'app'), true);
    assert.equal(hub.wants('acme', 'lake'), false);
    assert.equal(hub.wants('beta', 'app'), false);
    subscription?.close();
    assert.equal(hub.wants('acme', 'app'), false);
  });

  it('delivers matching events to each subscriber, filtered by type, user and outcome, and signals once per turn', async () => {
    const hub = createTapHub({ maxSubscribers: 4, queueEvents: 10, maxBodyBytes: 100 });
    let signals = 0;
    const sleep = hub.subscribe({ ...all, type: 'sleep' }, () => (signals += 1));
    const parked = hub.subscribe({ ...all, userId: 'u-2', outcome: 'parked' }, () => undefined);
    assert.ok(sleep !== null && parked !== null);
    hub.publish(event({ type: 'sleep', identity: 'a' }), () => Buffer.from('{}'));
    hub.publish(event({ type: 'sleep', identity: 'b' }), () => Buffer.from('{}'));
    hub.publish(event({ userId: 'u-2', outcome: 'parked', code: 'destination_rejected', identity: 'c' }), () => Buffer.from('{}'));
    hub.publish(event({ userId: 'u-2', identity: 'd' }), () => Buffer.from('{}'));
    await nextTurn();
    assert.equal(signals, 1);
    assert.deepEqual(sleep.take().events.map((item) => item.identity), ['a', 'b']);
    assert.deepEqual(parked.take().events.map((item) => item.identity), ['c']);
    assert.equal(sleep.take().events.length, 0, 'taking empties the queue');
  });

  it('bounds each queue: a full one drops and counts, without affecting other subscribers', () => {
    const hub = createTapHub({ maxSubscribers: 4, queueEvents: 10, maxBodyBytes: 100 });
    const slow = hub.subscribe(all, () => undefined);
    const fast = hub.subscribe(all, () => undefined);
    assert.ok(slow !== null && fast !== null);
    for (let index = 0; index < 25; index += 1) {
      hub.publish(event({ identity: String(index) }), () => Buffer.from('{}'));
      if (index % 5 === 4) assert.equal(fast.take().events.length, 5);
    }
    const taken = slow.take();
    assert.equal(taken.events.length, 10);
    assert.equal(taken.dropped, 15);
    assert.equal(slow.take().dropped, 0, 'the drop count resets once reported');
  });

  it('gives bodies only to subscribers that asked, built once and cut at maxBodyBytes; never lets a lane event carry its own body through', () => {
    const hub = createTapHub({ maxSubscribers: 4, queueEvents: 10, maxBodyBytes: 8 });
    const withBodies = hub.subscribe({ ...all, bodies: true }, () => undefined);
    const without = hub.subscribe(all, () => undefined);
    assert.ok(withBodies !== null && without !== null);
    let built = 0;
    hub.publish(event({ body: 'must not pass' }), () => {
      built += 1;
      return Buffer.from('0123456789');
    });
    hub.publish(event(), () => {
      built += 1;
      return Buffer.from('short');
    });
    assert.equal(built, 2);
    const [cut, whole] = withBodies.take().events;
    assert.equal(cut?.body, '01234567');
    assert.equal(cut?.bodyTruncated, true);
    assert.equal(whole?.body, 'short');
    assert.equal(whole?.bodyTruncated, undefined);
    assert.ok(without.take().events.every((item) => item.body === undefined));
  });

  it('refuses subscribers beyond the limit and closes every subscription on closeAll', async () => {
    const hub = createTapHub({ maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 8 });
    let told = 0;
    const only = hub.subscribe(all, () => (told += 1));
    assert.ok(only !== null);
    assert.equal(hub.subscribe(all, () => undefined), null);
    hub.closeAll();
    assert.equal(only.closed, true);
    assert.equal(told, 1, 'the reader is told, so it can end its stream');
    assert.equal(hub.subscribers, 0);
  });
});
