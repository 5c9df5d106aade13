import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Deployment } from 'kubernetes-models/apps/v1';
import { loadWorkerWithTenants, type LoadedDeployment } from '../../src/config/load-config.js';
import { laneGroupId } from '../../src/worker/worker.js';
import { alertRules, parseYaml, paths, readRuleFile, repoRoot } from './support/deploy-files.js';
import { execForm, lastOf, parseDockerfile } from './support/dockerfile.js';
import { BASE_IMAGE_USER } from './support/image-build.js';
import { kustomize, missingKubectl, quantity, validateRendered, type Rendered } from './support/kubernetes.js';

const skip = missingKubectl();

/**
 * Memory a worker needs besides its byte budget: the resident set of an idle worker with its
 * SDKs loaded (~155 MiB measured with `terra-fanout dev`), and how much resident memory each
 * budgeted byte costs at peak (README: a 96 MiB budget peaked at 100-140 MiB above the baseline).
 */
const BASELINE_RSS_BYTES = 160 * 2 ** 20;
const PEAK_BYTES_PER_BUDGET_BYTE = 1.5;
/** Time a worker needs after its drain deadline: commit, close the Kafka clients, exit. */
const SHUTDOWN_MARGIN_MS = 10_000;

/** The worker's kafka.sasl.mechanism as KEDA's Kafka scaler names it. */
const KEDA_SASL = { plain: 'plaintext', 'scram-sha-256': 'scram_sha256', 'scram-sha-512': 'scram_sha512' } as const;

const KUSTOMIZATIONS = ['base', 'overlays/development', 'overlays/production'] as const;

interface Rendering {
  name: string;
  rendered: Rendered;
  deployment: Deployment;
  /** The worker and tenant files as the pod sees them, loaded with the worker's own loader. */
  config: LoadedDeployment;
  configTexts: string[];
  env: Map<string, string>;
  /** Secret references of the Deployment that no rendered Secret satisfies (the operator creates them). */
  externalSecrets: Array<{ name: string; key: string }>;
}

function single<T>(items: readonly T[], what: string): T {
  assert.equal(items.length, 1, `exactly one ${what}`);
  const [item] = items;
  assert.ok(item !== undefined);
  return item;
}

/**
 * Lays the ConfigMaps mounted by the Deployment out in a folder as the kubelet would, resolves its
 * env (Secrets that are not rendered get a placeholder value) and loads the worker file.
 */
async function loadPodConfig(rendered: Rendered, deployment: Deployment, configPath: string, root: string): Promise<Omit<Rendering, 'name' | 'rendered' | 'deployment'>> {
  const pod = deployment.spec?.template.spec;
  const container = single(pod?.containers ?? [], 'container');
  const configTexts: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod?.volumes?.find((candidate) => candidate.name === mount.name);
    const configMapName = volume?.configMap?.name;
    if (configMapName === undefined) continue;
    const configMap = rendered.configMaps.find((candidate) => candidate.metadata?.name === configMapName);
    assert.ok(configMap !== undefined, `volume ${mount.name} mounts ConfigMap ${configMapName}, which is rendered`);
    const entries = Object.entries(configMap.data ?? {}).filter(([key]) => mount.subPath === undefined || key === mount.subPath);
    assert.ok(entries.length > 0, `ConfigMap ${configMapName} has the data mounted at ${mount.mountPath}`);
    for (const [key, text] of entries) {
      const path = join(root, mount.subPath === undefined ? posix.join(mount.mountPath, key) : mount.mountPath);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      configTexts.push(text);
    }
  }
  const env = new Map<string, string>();
  const externalSecrets: Array<{ name: string; key: string }> = [];
  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configMapRef = variable.valueFrom?.configMapKeyRef;
    if (variable.value !== undefined) {
      env.set(variable.name, variable.value);
    } else if (secretRef !== undefined) {
      const secret = rendered.secrets.find((candidate) => candidate.metadata?.name === secretRef.name);
      const encoded = secret?.data?.[secretRef.key];
      if (secret === undefined) externalSecrets.push({ name: secretRef.name ?? '', key: secretRef.key });
      else assert.ok(encoded !== undefined, `Secret ${secretRef.name} has key ${secretRef.key}`);
      env.set(variable.name, encoded === undefined ? `placeholder-for-${secretRef.name}-${secretRef.key}` : Buffer.from(encoded, 'base64').toString('utf8'));
    } else if (configMapRef !== undefined) {
      const value = rendered.configMaps.find((candidate) => candidate.metadata?.name === configMapRef.name)?.data?.[configMapRef.key];
      assert.ok(value !== undefined, `ConfigMap ${configMapRef.name} has key ${configMapRef.key}`);
      env.set(variable.name, value);
    } else {
      assert.fail(`env ${variable.name} has a value or a reference`);
    }
  }
  const loaded = await loadWorkerWithTenants(join(root, configPath), Object.fromEntries(env));
  assert.ok(loaded.ok, `the mounted worker and tenant files are valid with the pod's env: ${loaded.ok ? '' : JSON.stringify(loaded.problems, null, 2)}`);
  return { config: loaded.value, configTexts, env, externalSecrets };
}

describe('Kubernetes manifests (deploy/kubernetes)', { skip }, () => {
  const renderings = new Map<string, Rendering>();
  let scratch = '';
  let cmd: string[] = [];
  let imageWorkdir = '';

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'terra-fanout-k8s-'));
    const dockerfile = parseDockerfile(await readFile(paths.dockerfile, 'utf8'));
    const final = dockerfile.stages.at(-1);
    assert.ok(final !== undefined);
    cmd = execForm(lastOf(final, 'CMD')?.args ?? '[]');
    imageWorkdir = lastOf(final, 'WORKDIR')?.args ?? '';
    const configPath = cmd[cmd.indexOf('--config') + 1] ?? '';
    for (const name of KUSTOMIZATIONS) {
      const rendered = validateRendered(await kustomize(join(paths.kubernetes, name)));
      const deployment = single(rendered.deployments, `Deployment in ${name}`);
      const root = join(scratch, name.replace('/', '-'));
      renderings.set(name, { name, rendered, deployment, ...(await loadPodConfig(rendered, deployment, configPath, root)) });
    }
  });
  after(async () => {
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  const each = (check: (rendering: Rendering) => void | Promise<void>) => async () => {
    assert.equal(renderings.size, KUSTOMIZATIONS.length, 'every kustomization rendered');
    for (const rendering of renderings.values()) {
      try {
        await check(rendering);
      } catch (error) {
        throw new Error(`${rendering.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
  };

  it('render with kubectl kustomize and validate against the Kubernetes, KEDA and Prometheus Operator schemas', each(({ rendered }) => {
    assert.ok(rendered.objects.length >= 7, `objects rendered: ${rendered.objects.length}`);
    single(rendered.services, 'Service');
    single(rendered.disruptionBudgets, 'PodDisruptionBudget');
    single(rendered.serviceMonitors, 'ServiceMonitor');
    assert.equal(rendered.configMaps.length, 2, 'a ConfigMap for the worker file and one for the tenant files');
  }));

  it('run the image\'s command as its non-root user with a read-only root file system', each(({ deployment }) => {
    const pod = deployment.spec?.template.spec;
    const container = single(pod?.containers ?? [], 'container');
    assert.ok(container.args === undefined || JSON.stringify(container.args) === JSON.stringify(cmd), `args are the image's CMD (${cmd.join(' ')})`);
    assert.equal(container.command, undefined, 'the image\'s ENTRYPOINT is kept');
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(pod?.securityContext?.runAsUser, BASE_IMAGE_USER.uid, 'the image\'s user');
    assert.equal(pod?.automountServiceAccountToken, false, 'no Kubernetes API token: the worker never calls the API');
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
    // Where the process may write: the image's working folder and /tmp, each an emptyDir.
    for (const writable of [imageWorkdir, '/tmp']) {
      const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === writable);
      assert.ok(mount !== undefined && mount.readOnly !== true, `${writable} is mounted writable`);
      assert.ok(pod?.volumes?.find((volume) => volume.name === mount.name)?.emptyDir !== undefined, `${writable} is an emptyDir`);
    }
  }));

  it('probe /healthz and /readyz, and expose /metrics, on the port the worker file configures', each(({ rendered, deployment, config }) => {
    const container = single(deployment.spec?.template.spec?.containers ?? [], 'container');
    const port = single(container.ports ?? [], 'container port');
    assert.equal(port.containerPort, config.worker.http.port, 'containerPort is http.port of the mounted worker file');
    assert.equal(config.worker.http.host, '0.0.0.0', 'the worker listens on every interface, so the kubelet and Prometheus reach it');
    assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(container.livenessProbe?.httpGet?.port, port.name);
    assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(container.readinessProbe?.httpGet?.port, port.name);

    const labels = deployment.spec?.template.metadata?.labels ?? {};
    const matches = (selector: Record<string, string> | undefined): boolean => selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
    assert.ok(matches(deployment.spec?.selector.matchLabels), 'the Deployment selects its own pods');
    const service = single(rendered.services, 'Service');
    assert.ok(matches(service.spec?.selector), 'the Service selects the worker pods');
    assert.equal(service.spec?.publishNotReadyAddresses, true, 'not-ready pods are still scraped');
    const servicePort = single(service.spec?.ports ?? [], 'Service port');
    assert.equal(servicePort.targetPort, port.name);
    const monitor = single(rendered.serviceMonitors, 'ServiceMonitor');
    const endpoint = single(monitor.spec.endpoints ?? [], 'ServiceMonitor endpoint');
    assert.equal(endpoint.port, servicePort.name);
    assert.equal(endpoint.path, '/metrics');
    assert.ok(Object.entries(monitor.spec.selector.matchLabels ?? {}).every(([key, value]) => service.metadata?.labels?.[key] === value), 'the ServiceMonitor selects the Service');
    assert.ok(matches(single(rendered.disruptionBudgets, 'PodDisruptionBudget').spec?.selector?.matchLabels), 'the PodDisruptionBudget selects the worker pods');
  }));

  it('scrape under the job the alert rules select', each(async ({ rendered }) => {
    const monitor = single(rendered.serviceMonitors, 'ServiceMonitor');
    const service = single(rendered.services, 'Service');
    const jobLabel = monitor.spec.jobLabel;
    assert.ok(jobLabel !== undefined, 'jobLabel is set, so name prefixes do not change the job');
    const job = service.metadata?.labels?.[jobLabel];
    for (const rule of alertRules(await readRuleFile())) {
      for (const match of rule.expr.matchAll(/job="([^"]*)"/g)) assert.equal(match[1], job, `${rule.alert} selects job="${job}"`);
    }
  }));

  it('drain within the grace period: preStop plus shutdown.drainTimeoutMs fit in terminationGracePeriodSeconds', each(({ deployment, config }) => {
    const pod = deployment.spec?.template.spec;
    const container = single(pod?.containers ?? [], 'container');
    const preStopSeconds = container.lifecycle?.preStop?.sleep?.seconds;
    assert.ok(preStopSeconds !== undefined && preStopSeconds > 0, 'a preStop sleep lets endpoints and scrapes settle before SIGTERM');
    const grace = pod?.terminationGracePeriodSeconds ?? 30;
    const needed = preStopSeconds * 1000 + config.worker.shutdown.drainTimeoutMs + SHUTDOWN_MARGIN_MS;
    assert.ok(grace * 1000 >= needed, `terminationGracePeriodSeconds ${grace} s covers preStop ${preStopSeconds} s + drain ${config.worker.shutdown.drainTimeoutMs} ms + ${SHUTDOWN_MARGIN_MS} ms`);
  }));

  it('request resources sized from the benchmark figures and the byte budget', each(({ deployment, config }) => {
    const container = single(deployment.spec?.template.spec?.containers ?? [], 'container');
    const requests = container.resources?.requests ?? {};
    const limits = container.resources?.limits ?? {};
    assert.ok(quantity(requests['cpu']) >= 0.25, `cpu request ${String(requests['cpu'])}: at least a quarter core (~5,000 records/s of decoding)`);
    assert.equal(limits['cpu'], undefined, 'no CPU limit: throttling a consumer only makes it fall behind');
    const memoryRequest = quantity(requests['memory']);
    const memoryLimit = quantity(limits['memory']);
    assert.ok(memoryLimit >= memoryRequest, 'memory limit >= request');
    const needed = BASELINE_RSS_BYTES + PEAK_BYTES_PER_BUDGET_BYTE * config.worker.budgets.processInFlightBytes;
    assert.ok(memoryRequest >= needed, `memory request ${String(requests['memory'])} holds the baseline and 1.5 x processInFlightBytes (${Math.ceil(needed / 2 ** 20)} MiB)`);
  }));

  it('give the worker every variable its files reference, and nothing else', each(({ configTexts, env }) => {
    const referenced = new Map<string, boolean>();
    // ${VAR} is resolved in string values only (comments may mention it freely).
    const strings = (value: unknown): string[] =>
      typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(strings) : typeof value === 'object' && value !== null ? Object.values(value).flatMap(strings) : [];
    for (const text of configTexts.flatMap((configText) => strings(parseYaml(configText)))) {
      for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
        const name = match[1] ?? '';
        referenced.set(name, (referenced.get(name) ?? false) || match[2] === undefined);
      }
    }
    for (const [name, required] of referenced) if (required) assert.ok(env.has(name), `${name} (referenced without a default) is in the Deployment's env`);
    for (const name of env.keys()) assert.ok(referenced.has(name), `env ${name} is referenced by the worker or a tenant file`);
  }));

  it('take credentials from Secrets the operations guide tells you to create', each(async ({ externalSecrets }) => {
    const guide = await readFile(join(repoRoot, 'docs/operations.md'), 'utf8');
    for (const { name, key } of externalSecrets) {
      assert.ok(guide.includes(`\`${name}\``), `docs/operations.md names Secret ${name}`);
      assert.match(guide, new RegExp(`\`${name}\`[^\\n]*\`${key}\``), `docs/operations.md lists key ${key} of Secret ${name}`);
    }
  }));

  it('scale with KEDA on the lag of every lane\'s consumer group, up to the partition count', each(({ rendered, deployment, config, env }) => {
    if (rendered.scaledObjects.length === 0) {
      assert.ok((deployment.spec?.replicas ?? 0) >= 1, 'without a ScaledObject the Deployment sets its replicas');
      return;
    }
    const scaled = single(rendered.scaledObjects, 'ScaledObject');
    assert.equal(deployment.spec?.replicas, undefined, 'the Deployment leaves replicas to KEDA');
    assert.equal(scaled.spec.scaleTargetRef.name, deployment.metadata?.name);
    const partitions = Number(scaled.metadata?.annotations?.['terra-fanout.io/topic-partitions']);
    assert.ok(Number.isInteger(partitions) && partitions > 0, 'the partition count is annotated');
    assert.equal(scaled.spec.maxReplicaCount, partitions, 'no more replicas than partitions: extra consumers would sit idle');
    assert.ok((scaled.spec.minReplicaCount ?? 0) >= 1 && (scaled.spec.minReplicaCount ?? 0) <= partitions);

    const lanes = config.tenants.flatMap((tenant) => tenant.destinations.map((destination) => ({ tenant, group: laneGroupId(config.worker.kafka.groupPrefix, tenant.tenant, destination.name) })));
    const triggers = scaled.spec.triggers.filter((trigger) => trigger.type === 'kafka');
    assert.equal(triggers.length, scaled.spec.triggers.length, 'every trigger is a Kafka lag trigger');
    assert.deepEqual(triggers.map((trigger) => trigger.metadata['consumerGroup']).sort(), lanes.map((lane) => lane.group).sort(), 'one trigger per lane, on its consumer group');
    const sasl = config.worker.kafka.sasl;
    for (const trigger of triggers) {
      const { metadata } = trigger;
      const lane = lanes.find((candidate) => candidate.group === metadata['consumerGroup']);
      assert.ok(lane !== undefined);
      if (lane.tenant.topics.length === 1) assert.equal(metadata['topic'], lane.tenant.topics[0], `${lane.group} reads the lag of its tenant's topic`);
      else assert.equal(metadata['topic'], undefined, `${lane.group} reads the lag of all its group's topics`);
      assert.equal(metadata['bootstrapServers'], env.get('KAFKA_BROKERS'), `${lane.group}: the scaler reads the brokers the worker reads`);
      assert.equal(metadata['offsetResetPolicy'], config.worker.kafka.fromBeginning ? 'earliest' : 'latest', 'a new group\'s lag counts from where the lane starts');
      assert.equal(metadata['allowIdleConsumers'], 'false');
      assert.ok(Number(metadata['lagThreshold']) > 0, 'lagThreshold is set');
      // The scaler authenticates like the worker.
      assert.equal(metadata['tls'] === 'enable', config.worker.kafka.ssl !== false, `${lane.group}: tls as the worker`);
      if (sasl === undefined) {
        assert.equal(metadata['sasl'], undefined);
      } else {
        assert.equal(metadata['sasl'], KEDA_SASL[sasl.mechanism], `${lane.group}: SASL mechanism as the worker`);
        const authentication = rendered.triggerAuthentications.find((candidate) => candidate.metadata?.name === trigger.authenticationRef?.name);
        assert.ok(authentication !== undefined, `${lane.group}: its TriggerAuthentication is rendered`);
        const parameters = (authentication.spec?.secretTargetRef ?? []).map((reference) => reference.parameter).sort();
        assert.deepEqual(parameters, ['password', 'username']);
      }
    }
  }));

  it('ship the image of this version, and the alert rules unchanged (production)', async () => {
    const manifest: unknown = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
    const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? String(manifest.version) : '';
    for (const rendering of renderings.values()) {
      const container = single(rendering.deployment.spec?.template.spec?.containers ?? [], 'container');
      assert.match(container.image ?? '', new RegExp(`:${version.replace(/\./g, '\\.')}$`), `${rendering.name}: image tag is the package version ${version}`);
    }
    const production = renderings.get('overlays/production');
    assert.ok(production !== undefined);
    const rule = single(production.rendered.prometheusRules, 'PrometheusRule in production');
    const alerts = parseYaml(await readFile(paths.alerts, 'utf8'));
    assert.ok(typeof alerts === 'object' && alerts !== null && 'groups' in alerts);
    assert.deepEqual(rule.spec.groups, alerts.groups, 'the PrometheusRule carries alerts.yaml as it is');
  });
});
