import { parse, stringify } from 'yaml';

/**
 * The Prometheus Operator's form of deploy/prometheus/alerts.yaml: a PrometheusRule whose spec
 * is the rule file's groups, unchanged. Pure, so a test can check that the committed file is
 * what `npm run deploy:rules` would write.
 */
export function prometheusRuleFor(alertsYaml: string): string {
  const rules: unknown = parse(alertsYaml, { version: '1.2', schema: 'core', customTags: [], uniqueKeys: true });
  if (typeof rules !== 'object' || rules === null || !('groups' in rules) || !Array.isArray(rules.groups)) {
    throw new Error('alerts.yaml has no `groups` list');
  }
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'terra-fanout', labels: { 'app.kubernetes.io/name': 'terra-fanout', 'app.kubernetes.io/component': 'alerts' } },
    spec: { groups: rules.groups },
  };
  const header = [
    '# Generated from deploy/prometheus/alerts.yaml by `npm run deploy:rules`; edit that file, not this one.',
    '# A test fails when this file is stale. Add the label your Prometheus\'s ruleSelector expects in an overlay.',
  ].join('\n');
  return `${header}\n${stringify(resource, { lineWidth: 0 })}`;
}
