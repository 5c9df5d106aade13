import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { aggregateMetrics, labelProcess } from '../../src/observability/aggregate-metrics.js';
import { metricsAsJson } from '../../src/worker/process-group-messages.js';

/** One process's registry with a counter, a per-process gauge, a summed gauge and Node's default metrics. */
async function processMetrics(delivered: number, ready: number, bytes: number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Counter({ name: 'terra_fanout_records_delivered_total', help: 'h', labelNames: ['tenant'], registers: [registry] }).inc({ tenant: 'acme' }, delivered);
  new Gauge({ name: 'terra_fanout_lane_ready', help: 'h', labelNames: ['tenant'], registers: [registry] }).set({ tenant: 'acme' }, ready);
  new Gauge({ name: 'terra_fanout_lane_in_flight_bytes', help: 'h', labelNames: ['tenant'], registers: [registry] }).set({ tenant: 'acme' }, bytes);
  return metricsAsJson(registry);
}

describe('aggregateMetrics', () => {
  it('sums counters and summable gauges, labels per-process gauges, and keeps prom-client\'s rules for Node metrics', async () => {
    const text = await aggregateMetrics([labelProcess(await processMetrics(5, 1, 100), '1'), labelProcess(await processMetrics(7, 0, 50), '2')]).metrics();
    assert.match(text, /^terra_fanout_records_delivered_total\{tenant="acme"\} 12$/m);
    assert.match(text, /^terra_fanout_lane_in_flight_bytes\{tenant="acme"\} 150$/m);
    assert.match(text, /^terra_fanout_lane_ready\{tenant="acme",process="1"\} 1$/m);
    assert.match(text, /^terra_fanout_lane_ready\{tenant="acme",process="2"\} 0$/m);
    assert.doesNotMatch(text, /^terra_fanout_lane_ready\{tenant="acme"\}/m);
    assert.match(text, /^nodejs_version_info\{[^}]*\} 1$/m, 'taken once, not summed');
    assert.doesNotMatch(text, /^process_start_time_seconds/m, 'omitted, as prom-client does for clusters');
  });
});
