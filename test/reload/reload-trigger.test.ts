import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/observability/logger.js';
import { createOperationsMetrics } from '../../src/observability/metrics.js';
import { createReloadTrigger } from '../../src/reload/reload-trigger.js';
import type { ReloadResult } from '../../src/worker/worker-control.js';

const quiet = createLogger('fatal');
const ok = (started: string[] = []): ReloadResult => ({ ok: true, problems: [], started, restarted: [], stopped: [], unchanged: ['acme/lake'] });

describe('reload trigger', () => {
  it('runs one reload at a time; requests meanwhile share one queued reload', async () => {
    const calls: string[] = [];
    const releases: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const control = {
      reload: async (reason: string): Promise<ReloadResult> => {
        calls.push(reason);
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return ok();
      },
    };
    const trigger = createReloadTrigger({ control, metrics: createOperationsMetrics(new Registry()), logger: quiet });
    const first = trigger.reload('watch');
    const second = trigger.reload('SIGHUP');
    const third = trigger.reload('POST /admin/reload');
    assert.equal(calls.length, 1);
    releases.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(calls, ['watch', 'SIGHUP; POST /admin/reload'], 'the two waiting requests became one reload');
    releases.shift()?.();
    assert.deepEqual(await second, await third);
    assert.equal(most, 1, 'never two at once');
  });

  it('counts outcomes and problems: applied, unchanged, invalid (problems kept until valid again), failed', async () => {
    const registry = new Registry();
    const answers: Array<ReloadResult | Error> = [ok(['acme/new']), ok(), { ...ok(), ok: false, problems: ['a.yaml:1:1: x', 'a.yaml:2:1: y', 'b.yaml:3:1: z'] }, new Error('boom'), ok()];
    const control = {
      reload: async (): Promise<ReloadResult> => {
        const answer = answers.shift();
        if (answer === undefined || answer instanceof Error) throw answer ?? new Error('no answer');
        return answer;
      },
    };
    const trigger = createReloadTrigger({ control, metrics: createOperationsMetrics(registry), logger: quiet });
    await trigger.reload('one');
    await trigger.reload('two');
    assert.equal((await trigger.reload('three')).problems.length, 3);
    assert.match(await registry.metrics(), /terra_fanout_config_problems 3/);
    await assert.rejects(trigger.reload('four'), /boom/);
    await trigger.reload('five');
    const text = await registry.metrics();
    for (const [outcome, count] of [['applied', 1], ['unchanged', 2], ['invalid', 1], ['failed', 1]] as const) {
      assert.match(text, new RegExp(`terra_fanout_config_reloads_total\\{outcome="${outcome}"\\} ${count}`));
    }
    assert.match(text, /terra_fanout_config_problems 0/);
  });
});
