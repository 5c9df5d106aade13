import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { prometheusRuleFor } from './prometheus-rule.js';

/** Writes the PrometheusRule of deploy/kubernetes from deploy/prometheus/alerts.yaml. Run with `npm run deploy:rules`. */

const alerts = fileURLToPath(new URL('../../deploy/prometheus/alerts.yaml', import.meta.url));
const target = fileURLToPath(new URL('../../deploy/kubernetes/components/prometheus-rule/prometheus-rule.yaml', import.meta.url));
await writeFile(target, prometheusRuleFor(await readFile(alerts, 'utf8')));
console.log(`wrote ${target}`);
