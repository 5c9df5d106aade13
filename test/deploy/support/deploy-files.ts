/**
 * The operations kit under deploy/ and the docs it answers to, read and typed for the tests:
 * the alert rules, the Grafana dashboard's queries, and the metric names docs/metrics.md allows.
 * Tests run from dist/, so every path is resolved against the repository root.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

/** dist/test/deploy/support -> the repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export const paths = {
  alerts: join(repoRoot, 'deploy/prometheus/alerts.yaml'),
  alertTests: join(repoRoot, 'deploy/prometheus/alerts.test.yaml'),
  dashboard: join(repoRoot, 'deploy/grafana/terra-fanout.json'),
  prometheusRule: join(repoRoot, 'deploy/kubernetes/components/prometheus-rule/prometheus-rule.yaml'),
  metricsDoc: join(repoRoot, 'docs/metrics.md'),
  runbook: join(repoRoot, 'docs/runbook.md'),
  kubernetes: join(repoRoot, 'deploy/kubernetes'),
  dockerfile: join(repoRoot, 'Dockerfile'),
  dockerignore: join(repoRoot, '.dockerignore'),
} as const;

/** Parses YAML text with the core schema only (no custom tags), as the worker parses its config. */
export function parseYaml(text: string): unknown {
  return parse(text, { version: '1.2', schema: 'core', customTags: [], uniqueKeys: true });
}

// Strict objects: a misspelt key (`anotations`) fails here instead of being ignored by Prometheus.
const stringMap = z.record(z.string(), z.string());
export const ruleSchema = z
  .object({
    alert: z.string().optional(),
    record: z.string().optional(),
    expr: z.string(),
    for: z.string().optional(),
    keep_firing_for: z.string().optional(),
    labels: stringMap.optional(),
    annotations: stringMap.optional(),
  })
  .strict();
export const ruleFileSchema = z
  .object({
    groups: z.array(z.object({ name: z.string(), interval: z.string().optional(), rules: z.array(ruleSchema) }).strict()),
  })
  .strict();
export type Rule = z.infer<typeof ruleSchema>;
export type RuleFile = z.infer<typeof ruleFileSchema>;
/** An alerting rule: one with `alert` set. */
export type AlertRule = Rule & { alert: string };

export async function readRuleFile(path: string = paths.alerts): Promise<RuleFile> {
  return ruleFileSchema.parse(parseYaml(await readFile(path, 'utf8')));
}

export function alertRules(file: RuleFile): AlertRule[] {
  return file.groups.flatMap((group) => group.rules).filter((rule): rule is AlertRule => rule.alert !== undefined);
}

const alertTestFileSchema = z.object({
  tests: z.array(
    z.object({
      name: z.string(),
      alert_rule_test: z
        .array(z.object({ alertname: z.string(), eval_time: z.string(), exp_alerts: z.array(z.object({ exp_labels: stringMap.optional(), exp_annotations: stringMap.optional() })).nullish() }))
        .optional(),
    }),
  ),
});
export type AlertTestFile = z.infer<typeof alertTestFileSchema>;

export async function readAlertTests(): Promise<AlertTestFile> {
  return alertTestFileSchema.parse(parseYaml(await readFile(paths.alertTests, 'utf8')));
}

// The dashboard: panels (rows may nest panels) with Prometheus targets, and query variables.
interface DataSourceRef {
  type?: string | undefined;
  uid?: string | undefined;
}
interface Panel {
  id?: number | undefined;
  type: string;
  title: string;
  datasource?: DataSourceRef | undefined;
  targets?: Array<{ expr: string; refId: string; datasource?: DataSourceRef | undefined }> | undefined;
  panels?: Panel[] | undefined;
}
const dataSourceRefSchema = z.object({ type: z.string().optional(), uid: z.string().optional() });
const panelSchema: z.ZodType<Panel> = z.lazy(() =>
  z.object({
    id: z.number().optional(),
    type: z.string(),
    title: z.string(),
    datasource: dataSourceRefSchema.optional(),
    targets: z.array(z.object({ expr: z.string(), refId: z.string(), datasource: dataSourceRefSchema.optional() })).optional(),
    panels: z.array(panelSchema).optional(),
  }),
);
const dashboardSchema = z.object({
  uid: z.string(),
  title: z.string(),
  panels: z.array(panelSchema),
  templating: z.object({
    list: z.array(z.object({ name: z.string(), type: z.string(), query: z.union([z.string(), z.object({ query: z.string() })]).optional() })),
  }),
});
export type Dashboard = z.infer<typeof dashboardSchema>;

export async function readDashboard(): Promise<Dashboard> {
  return dashboardSchema.parse(JSON.parse(await readFile(paths.dashboard, 'utf8')));
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  const visit = (panel: Panel): void => {
    out.push(panel);
    for (const child of panel.panels ?? []) visit(child);
  };
  for (const panel of dashboard.panels) visit(panel);
  return out;
}

/** A PromQL expression found in the dashboard, with where it came from (for messages). */
export interface DashboardQuery {
  where: string;
  expr: string;
}

/**
 * The PromQL of every panel target, and of every query variable: Grafana's
 * `label_values(<selector>, <label>)` contributes its selector.
 */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) queries.push({ where: `panel "${panel.title}" target ${target.refId}`, expr: target.expr });
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query' || variable.query === undefined) continue;
    const text = typeof variable.query === 'string' ? variable.query : variable.query.query;
    const labelValues = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(text.trim());
    queries.push({ where: `variable $${variable.name}`, expr: labelValues?.[1] ?? text });
  }
  return queries;
}

/**
 * Grafana variables replaced by values that keep the query valid PromQL: interval variables by a
 * duration, the dashboard's own variables by a regex matching everything (they only appear in
 * `=~` matchers).
 */
export function withGrafanaVariablesReplaced(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, '.*');
}

/** The metrics docs/metrics.md lists, with their types (counter, gauge, histogram). */
export async function documentedMetrics(): Promise<Map<string, string>> {
  const text = await readFile(paths.metricsDoc, 'utf8');
  const metrics = new Map<string, string>();
  for (const match of text.matchAll(/^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*([a-z]+)\s*\|/gm)) {
    const [, name, type] = match;
    if (name !== undefined && type !== undefined) metrics.set(name, type);
  }
  return metrics;
}

/**
 * Whether a series name may appear in a rule or the dashboard: a metric of docs/metrics.md (a
 * histogram through its _bucket, _sum and _count series), a standard Node.js or process metric
 * of prom-client (docs/metrics.md keeps their standard names), or Prometheus's own `up`.
 */
export function isAllowedSeries(name: string, documented: ReadonlyMap<string, string>): boolean {
  if (documented.has(name) || name === 'up' || /^(process|nodejs)_/.test(name)) return true;
  const histogram = /^(.+)_(bucket|sum|count)$/.exec(name);
  return histogram?.[1] !== undefined && documented.get(histogram[1]) === 'histogram';
}
