import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget } from '../../src/lane/byte-budget.js';

describe('byte budget', () => {
  it('grants while bytes fit and makes later requests wait in order', async () => {
    const budget = new ByteBudget(10);
    assert.equal(budget.tryAcquire(6), true);
    const order: string[] = [];
    const first = budget.acquire(6).then(() => order.push('first'));
    const second = budget.acquire(1).then(() => order.push('second'));
    assert.equal(budget.tryAcquire(1), false, 'no overtaking a waiter');
    budget.release(6);
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(budget.used, 7);
  });

  it('lets one request larger than the whole budget through when nothing else is held', async () => {
    const budget = new ByteBudget(10);
    assert.equal(budget.tryAcquire(50), true);
    assert.equal(budget.tryAcquire(1), false);
    budget.release(50);
    assert.equal(budget.used, 0);
  });

  it('stops waiting when aborted', async () => {
    const budget = new ByteBudget(1);
    budget.tryAcquire(1);
    const controller = new AbortController();
    const waiting = budget.acquire(1, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    budget.release(1);
    assert.equal(budget.used, 0);
  });
});
