import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LARGE_MESSAGE_BYTES, LARGE_RELEASE_BYTES, MIN_INTERVAL_MS, createLargeReleasePolicy } from '../../src/lane/large-release.js';
import { collectGarbage } from '../../src/runtime/collect-garbage.js';

const MiB = 1024 * 1024;

/** A policy on a hand-driven clock and scheduler: `tick()` runs what is due. */
function harness(): { policy: ReturnType<typeof createLargeReleasePolicy>; collections: () => number; advance: (ms: number) => void; tick: () => void; queued: () => number } {
  let nowMs = 1_000_000;
  let collections = 0;
  let queue: Array<{ at: number; run: () => void }> = [];
  const policy = createLargeReleasePolicy({
    collect: () => {
      collections += 1;
    },
    schedule: (run, delayMs) => void queue.push({ at: nowMs + delayMs, run }),
    now: () => nowMs,
  });
  const tick = (): void => {
    const due = queue.filter((entry) => entry.at <= nowMs);
    queue = queue.filter((entry) => entry.at > nowMs);
    for (const entry of due) entry.run();
  };
  return { policy, collections: () => collections, advance: (ms) => void (nowMs += ms), tick, queued: () => queue.length };
}

describe('collections after large releases', () => {
  it('never collects for small messages, however many', () => {
    const { policy, collections, tick, queued } = harness();
    for (let index = 0; index < 10_000; index += 1) policy.released([{ bytes: 64 * 1024 }, { bytes: LARGE_MESSAGE_BYTES - 1 }]);
    tick();
    assert.equal(queued(), 0);
    assert.equal(collections(), 0);
  });

  it('collects once, after the releasing code returned, when large messages worth the threshold were released', () => {
    const { policy, collections, tick } = harness();
    policy.released([{ bytes: LARGE_MESSAGE_BYTES }]);
    tick();
    assert.equal(collections(), 0, 'one 4 MiB message is not enough');
    policy.released([{ bytes: 30 * MiB }]);
    assert.equal(collections(), 0, 'not synchronously: the caller still holds the messages');
    policy.released([{ bytes: 30 * MiB }]);
    tick();
    assert.equal(collections(), 1, 'two releases before the scheduled run: one collection');
  });

  it('collects at most once per interval, and the later release is collected once the interval passed', () => {
    const { policy, collections, advance, tick } = harness();
    policy.released([{ bytes: LARGE_RELEASE_BYTES }]);
    tick();
    assert.equal(collections(), 1);
    advance(10);
    policy.released([{ bytes: LARGE_RELEASE_BYTES }]);
    tick();
    assert.equal(collections(), 1, 'too soon after the last one');
    advance(MIN_INTERVAL_MS);
    tick();
    assert.equal(collections(), 2);
  });

  it('collectGarbage runs a real full collection in this process', async () => {
    const ref = new WeakRef({ samples: Array.from({ length: 1000 }, (_, index) => ({ bpm: index })) });
    // A WeakRef's target is kept until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(collectGarbage(), true);
    assert.equal(ref.deref(), undefined, 'the unreachable object was collected');
  });
});
