/**
 * Rendering deploy/kubernetes with `kubectl kustomize` and validating every object against the
 * schemas of kubernetes-models (Kubernetes 1.3x), @kubernetes-models/keda and
 * @kubernetes-models/prometheus-operator. The models' `is` guards give typed objects without casts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

/** kubectl from KUBECTL or PATH; the machine image ships kubectl 1.32 with kustomize 5.5. */
export function findKubectl(): string | null {
  const configured = process.env['KUBECTL'];
  if (configured !== undefined && configured !== '') return configured;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  }
  return null;
}

export function missingKubectl(): string | false {
  return findKubectl() === null
    ? 'kubectl not found (KUBECTL or PATH): these tests render deploy/kubernetes with `kubectl kustomize` (kubectl >= 1.27 bundles kustomize 5; the project\'s machine image has kubectl 1.32). Install kubectl to run them.'
    : false;
}

/** Renders a kustomization folder; rejects with kubectl's message when it fails. */
export function kustomize(dir: string): Promise<string> {
  const kubectl = findKubectl();
  if (kubectl === null) return Promise.reject(new Error('kubectl not found'));
  return new Promise((resolve, reject) => {
    execFile(kubectl, ['kustomize', dir], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`kubectl kustomize ${dir} failed: ${stderr || error.message}`));
    });
  });
}

/** Every kind the manifests may contain, each with the model that validates it. */
const MODELS = [ServiceAccount, ConfigMap, Secret, Service, Deployment, PodDisruptionBudget, ServiceMonitor, PrometheusRule, ScaledObject, TriggerAuthentication] as const;

export interface Rendered {
  objects: unknown[];
  deployments: Deployment[];
  configMaps: ConfigMap[];
  secrets: Secret[];
  services: Service[];
  serviceAccounts: ServiceAccount[];
  disruptionBudgets: PodDisruptionBudget[];
  serviceMonitors: ServiceMonitor[];
  prometheusRules: PrometheusRule[];
  scaledObjects: ScaledObject[];
  triggerAuthentications: TriggerAuthentication[];
}

/**
 * Parses kustomize's output and validates each object with its model. Throws, naming the object,
 * when an object is of a kind no model covers or does not validate.
 */
export function validateRendered(yamlText: string): Rendered {
  const objects: unknown[] = [];
  for (const document of parseAllDocuments(yamlText, { version: '1.2', schema: 'core', uniqueKeys: true })) {
    if (document.errors.length > 0) throw new Error(`kustomize output does not parse: ${document.errors.map((error) => error.message).join('; ')}`);
    objects.push(document.toJS());
  }
  const describe = (object: unknown): string =>
    typeof object === 'object' && object !== null ? `${String(Reflect.get(object, 'apiVersion'))} ${String(Reflect.get(object, 'kind'))} ${String(Reflect.get(Reflect.get(object, 'metadata') ?? {}, 'name'))}` : String(object);
  for (const object of objects) {
    const model = MODELS.find((candidate) => candidate.is(object));
    if (model === undefined) throw new Error(`${describe(object)}: no schema covers this kind (expected one of ${MODELS.map((candidate) => `${candidate.apiVersion} ${candidate.kind}`).join(', ')})`);
    try {
      // The guard above proved apiVersion and kind; validate() checks the rest against the schema.
      if (Deployment.is(object)) new Deployment(object).validate();
      else if (ConfigMap.is(object)) new ConfigMap(object).validate();
      else if (Secret.is(object)) new Secret(object).validate();
      else if (Service.is(object)) new Service(object).validate();
      else if (ServiceAccount.is(object)) new ServiceAccount(object).validate();
      else if (PodDisruptionBudget.is(object)) new PodDisruptionBudget(object).validate();
      else if (ServiceMonitor.is(object)) new ServiceMonitor(object).validate();
      else if (PrometheusRule.is(object)) new PrometheusRule(object).validate();
      else if (ScaledObject.is(object)) new ScaledObject(object).validate();
      else if (TriggerAuthentication.is(object)) new TriggerAuthentication(object).validate();
    } catch (error) {
      throw new Error(`${describe(object)} is invalid: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return {
    objects,
    deployments: objects.filter(Deployment.is).map((object) => new Deployment(object)),
    configMaps: objects.filter(ConfigMap.is).map((object) => new ConfigMap(object)),
    secrets: objects.filter(Secret.is).map((object) => new Secret(object)),
    services: objects.filter(Service.is).map((object) => new Service(object)),
    serviceAccounts: objects.filter(ServiceAccount.is).map((object) => new ServiceAccount(object)),
    disruptionBudgets: objects.filter(PodDisruptionBudget.is).map((object) => new PodDisruptionBudget(object)),
    serviceMonitors: objects.filter(ServiceMonitor.is).map((object) => new ServiceMonitor(object)),
    prometheusRules: objects.filter(PrometheusRule.is).map((object) => new PrometheusRule(object)),
    scaledObjects: objects.filter(ScaledObject.is).map((object) => new ScaledObject(object)),
    triggerAuthentications: objects.filter(TriggerAuthentication.is).map((object) => new TriggerAuthentication(object)),
  };
}

/** Kubernetes quantities (`500m`, `512Mi`, `1Gi`, `2`) as numbers: cores or bytes. */
export function quantity(value: string | number | undefined): number {
  if (value === undefined) return Number.NaN;
  if (typeof value === 'number') return value;
  const match = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (match === null) return Number.NaN;
  const factors: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * (match[2] === undefined ? 1 : (factors[match[2]] ?? Number.NaN));
}
