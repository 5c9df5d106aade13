import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { prometheusRuleFor } from '../../scripts/prometheus-rule.js';
import { alertRules, paths, readAlertTests, readRuleFile } from './support/deploy-files.js';
import { missingPromtool, promtool } from './support/promtool.js';

const skip = missingPromtool();

/** What the operations kit promises to alert on (issue 15), and the rule that does it. */
const REQUIRED_ALERTS = {
  'worker down': 'TerraFanoutWorkerDown',
  'lane stalled: no progress with lag > 0': 'TerraFanoutLaneStalled',
  'lag in seconds above a threshold': 'TerraFanoutLaneLagHigh',
  'dead-letter rate': 'TerraFanoutDeadLetters',
  'destination errors by code': 'TerraFanoutDestinationErrors',
  'lane not ready': 'TerraFanoutLaneNotReady',
  'budget exhausted': 'TerraFanoutBudgetExhausted',
  'pointer expiries': 'TerraFanoutPointerExpired',
} as const;

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('alert rules (deploy/prometheus/alerts.yaml)', () => {
  it('pass promtool check rules', { skip }, async () => {
    const result = await promtool(['check', 'rules', paths.alerts]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests (deploy/prometheus/alerts.test.yaml)', { skip }, async () => {
    const result = await promtool(['test', 'rules', paths.alertTests]);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  it('cover every alert the kit promises, each with a firing and a quiet unit test', async () => {
    const alerts = alertRules(await readRuleFile());
    const names = alerts.map((rule) => rule.alert);
    assert.equal(new Set(names).size, names.length, `alert names are unique: ${names.join(', ')}`);
    for (const [promise, name] of Object.entries(REQUIRED_ALERTS)) assert.ok(names.includes(name), `${promise}: ${name} is in alerts.yaml`);

    const checks = (await readAlertTests()).tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const name of names) {
      const own = checks.filter((check) => check.alertname === name);
      assert.ok(own.some((check) => (check.exp_alerts ?? []).length > 0), `${name} has a unit test where it fires`);
      assert.ok(own.some((check) => (check.exp_alerts ?? []).length === 0), `${name} has a unit test where it stays quiet`);
      for (const check of own) {
        for (const expected of check.exp_alerts ?? []) {
          // promtool compares annotations only when given: every firing case states them all.
          assert.deepEqual(Object.keys(expected.exp_annotations ?? {}).sort(), ['description', 'runbook', 'summary'], `${name} at ${check.eval_time}: expected annotations are complete`);
        }
      }
    }
  });

  it('give every alert a severity, a summary, a description and a runbook paragraph that exists', async () => {
    const runbook = await readFile(paths.runbook, 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')));
    for (const rule of alertRules(await readRuleFile())) {
      assert.ok(['critical', 'warning'].includes(rule.labels?.['severity'] ?? ''), `${rule.alert}: severity is critical or warning`);
      assert.ok((rule.annotations?.['summary'] ?? '').length > 0, `${rule.alert}: summary`);
      assert.ok((rule.annotations?.['description'] ?? '').length > 0, `${rule.alert}: description`);
      const runbookLink = rule.annotations?.['runbook'] ?? '';
      const match = /^docs\/runbook\.md#(.+)$/.exec(runbookLink);
      assert.ok(match?.[1] !== undefined, `${rule.alert}: runbook annotation is docs/runbook.md#<anchor> (got ${runbookLink})`);
      assert.ok(anchors.has(match[1]), `${rule.alert}: docs/runbook.md has a heading with anchor #${match[1]}`);
      assert.equal(match[1], anchorOf(rule.alert), `${rule.alert}: its runbook heading is the alert's name`);
    }
  });

  it('link within the runbook only to sections that exist, and name the dlq and admin commands', async () => {
    const runbook = await readFile(paths.runbook, 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#{1,3} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')));
    for (const [, anchor] of runbook.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(anchors.has(anchor ?? ''), `#${anchor} exists`);
    for (const command of ['terra-fanout dlq inspect --tenant T', 'terra-fanout dlq redrive --tenant T --destination D', 'GET /admin/lanes', 'POST /admin/lanes/{tenant}/{destination}/pause', 'POST /admin/lanes/{tenant}/{destination}/offsets']) {
      assert.ok(runbook.includes(command), `the runbook names ${command}`);
    }
  });

  it('ship the same rules as a PrometheusRule for the Prometheus Operator (npm run deploy:rules)', async () => {
    const committed = await readFile(paths.prometheusRule, 'utf8');
    const generated = prometheusRuleFor(await readFile(paths.alerts, 'utf8'));
    assert.equal(committed, generated, 'deploy/kubernetes/components/prometheus-rule/prometheus-rule.yaml is stale: run `npm run deploy:rules`');
  });
});
