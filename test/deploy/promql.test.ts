import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  allPanels,
  dashboardQueries,
  documentedMetrics,
  isAllowedSeries,
  readDashboard,
  readRuleFile,
  withGrafanaVariablesReplaced,
} from './support/deploy-files.js';
import { metricNames, syntaxErrors, withDurations } from './support/promql.js';
import { missingPromtool, promtool } from './support/promtool.js';

/** Every PromQL expression of the rules and the dashboard, Grafana variables replaced. */
async function allExpressions(): Promise<Array<{ where: string; expr: string }>> {
  const rules = (await readRuleFile()).groups.flatMap((group) => group.rules.map((rule) => ({ where: `rule ${rule.alert ?? rule.record ?? '?'}`, expr: rule.expr })));
  const dashboard = dashboardQueries(await readDashboard()).map((query) => ({ where: `dashboard ${query.where}`, expr: withGrafanaVariablesReplaced(query.expr) }));
  return [...rules, ...dashboard];
}

describe('PromQL of the alert rules and the Grafana dashboard', () => {
  it('the checks used below reject what they must (so they cannot pass vacuously)', async () => {
    const documented = await documentedMetrics();
    assert.ok(documented.size >= 20, `docs/metrics.md lists the metrics (${documented.size} found)`);
    assert.equal(isAllowedSeries('terra_fanout_records_failed_total', documented), false, 'an old, undocumented name is refused');
    assert.equal(isAllowedSeries('terra_fanout_lane_ready_bucket', documented), false, 'a gauge has no _bucket series');
    assert.equal(isAllowedSeries('terra_fanout_send_duration_seconds_bucket', documented), true);
    assert.notDeepEqual(syntaxErrors('sum(rate(x[5m])'), [], 'an unbalanced parenthesis is a syntax error');
    assert.deepEqual([...metricNames('a{x="1"} / on(x) group_left b and {__name__="c"}')].sort(), ['a', 'b', '{__name__...}']);
    assert.equal(withDurations('rate(a[5m]) + max_over_time(b[1h:1m]) > 300 unless c offset 10m', '30s'), 'rate(a[30s]) + max_over_time(b[30s:30s]) > 300 unless c offset 30s');
  });

  it('name only metrics that docs/metrics.md lists (plus standard process_/nodejs_ metrics and up)', async () => {
    const documented = await documentedMetrics();
    const problems: string[] = [];
    for (const { where, expr } of await allExpressions()) {
      const errors = syntaxErrors(expr);
      if (errors.length > 0) problems.push(`${where}: syntax error ${errors.join(', ')}`);
      const names = metricNames(expr);
      if (names.size === 0 && !/^\s*vector\(/.test(expr)) problems.push(`${where}: names no metric`);
      for (const name of names) if (!isAllowedSeries(name, documented)) problems.push(`${where}: ${name} is not in docs/metrics.md`);
    }
    assert.deepEqual(problems, []);
  });

  it('parse with promtool (every dashboard query checked as a recording rule)', { skip: missingPromtool() }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-promql-'));
    try {
      const expressions = await allExpressions();
      const rules = expressions.map((expression, index) => ({ record: `terra_fanout_check:expression_${index}`, expr: expression.expr }));
      const file = join(dir, 'expressions.yaml');
      await writeFile(file, stringify({ groups: [{ name: 'dashboard-and-rules', rules }] }));
      const result = await promtool(['check', 'rules', file]);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the dashboard shows what an operator needs, every panel on the chosen data source', async () => {
    const dashboard = await readDashboard();
    const panels = allPanels(dashboard);
    const ids = panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const used = new Set(dashboardQueries(dashboard).flatMap((query) => [...metricNames(withGrafanaVariablesReplaced(query.expr))]));
    const needs = {
      'throughput per tenant and destination': 'terra_fanout_records_delivered_total',
      'lag in messages': 'terra_fanout_lane_lag_messages',
      'lag in seconds': 'terra_fanout_lane_lag_seconds',
      'dead letters by code': 'terra_fanout_records_dead_lettered_total',
      'delivery failures by code': 'terra_fanout_delivery_failures_total',
      'send latency histogram': 'terra_fanout_send_duration_seconds_bucket',
      'batch sizes': 'terra_fanout_batch_size_records_bucket',
      'in-flight bytes per lane': 'terra_fanout_lane_in_flight_bytes',
      'in-flight bytes per process': 'terra_fanout_process_in_flight_bytes',
      'lanes paused': 'terra_fanout_lane_paused',
      'lanes stalled': 'terra_fanout_lane_stalled',
      'process memory': 'process_resident_memory_bytes',
      'event-loop lag': 'nodejs_eventloop_lag_p99_seconds',
      'versions': 'terra_fanout_build_info',
    };
    for (const [need, metric] of Object.entries(needs)) assert.ok(used.has(metric), `the dashboard shows ${need} (${metric})`);
    // Every query runs on the data source the viewer picks, never on one fixed uid.
    for (const panel of panels.filter((candidate) => (candidate.targets ?? []).length > 0)) {
      for (const source of [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)]) {
        assert.deepEqual(source, { type: 'prometheus', uid: '${datasource}' }, `panel "${panel.title}" uses the $datasource variable`);
      }
    }
  });
});
