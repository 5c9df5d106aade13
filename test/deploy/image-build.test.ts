import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { defaultKafkaMockBinary } from '../../src/dev/local-broker.js';
import { startKafkaTestBroker, uniqueName, type KafkaTestBroker } from '../support/kafka.js';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { activityEvent, listFiles, waitFor } from '../support/worker-files.js';
import { execForm, healthcheckCommand, lastOf } from './support/dockerfile.js';
import { repoRoot } from './support/deploy-files.js';
import { BASE_IMAGE_USER, emulateImageBuild, type BuiltImage } from './support/image-build.js';

/**
 * No container engine runs here, so the image's build steps run in a temporary folder
 * (support/image-build.ts) and the result is run the way the image runs it: its ENTRYPOINT and
 * CMD, as its user, in its working folder, with its HEALTHCHECK. Absolute paths of the image
 * (/app, /etc/terra-fanout, /home/node) are mapped into the built tree.
 */

const asRoot = process.getuid?.() === 0;
const imageUser = asRoot ? { uid: BASE_IMAGE_USER.uid, gid: BASE_IMAGE_USER.gid } : undefined;
const missingBroker = existsSync(defaultKafkaMockBinary()) ? false : `kafka-mock not built at ${defaultKafkaMockBinary()}: run bash scripts/build-kafka-mock.sh`;

interface Manifest {
  version: string;
  dependencies: Record<string, string>;
}

async function readManifest(): Promise<Manifest> {
  const parsed: unknown = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
  const record = (value: unknown): Record<string, string> => (typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)])) : {});
  if (typeof parsed !== 'object' || parsed === null) throw new Error('package.json is not an object');
  return {
    version: 'version' in parsed ? String(parsed.version) : '',
    dependencies: record('dependencies' in parsed ? parsed.dependencies : {}),
  };
}

function execFileResult(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { ...options, ...imageUser, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Every file below `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

describe('the container image, built from the Dockerfile\'s steps in a temporary folder', { timeout: 900_000 }, () => {
  let outDir = '';
  let image: BuiltImage | undefined;
  const built = (): BuiltImage => {
    if (image === undefined) throw new Error('the image was not built');
    return image;
  };
  /** An absolute path of the image, inside the built tree. */
  const inImage = (path: string): string => join(built().finalRoot, path);
  /** A command of the image (exec form) as this machine runs it: `node` is this Node, image paths are mapped. */
  const hostCommand = (command: readonly string[]): { file: string; args: string[] } => {
    const [file, ...args] = command;
    return { file: file === 'node' ? process.execPath : inImage(file ?? ''), args: args.map((arg) => (arg.startsWith('/') ? inImage(arg) : arg)) };
  };
  const imageEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'] ?? '', HOME: BASE_IMAGE_USER.home, ...built().env });

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'terra-fanout-image-'));
    image = await emulateImageBuild({
      contextDir: repoRoot,
      outDir,
      // npm reads its cache policy from the environment; the commands run exactly as written.
      hostEnv: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
    });
  });
  after(async () => {
    if (outDir !== '') await rm(outDir, { recursive: true, force: true });
  });

  it('the final stage holds compiled JavaScript and production packages only', async (t) => {
    t.diagnostic(built().log.join('\n'));
    const manifest = await readManifest();
    const app = inImage('/app');
    assert.ok(existsSync(join(app, 'dist/src/cli/main.js')), 'the CLI is compiled');
    assert.ok(existsSync(join(app, 'dist/src/cli/healthcheck.js')), 'the health check is compiled');
    const own = (await filesUnder(app)).filter((file) => !file.startsWith('node_modules/'));
    assert.deepEqual(own.filter((file) => file.endsWith('.ts')), [], 'no TypeScript sources in the image');
    assert.deepEqual(own.filter((file) => !file.startsWith('dist/src/') && !file.startsWith('dist/connectors/') && file !== 'package.json'), [], 'only dist/src, dist/connectors and package.json');
    for (const name of Object.keys(manifest.dependencies)) assert.ok(existsSync(join(app, 'node_modules', name, 'package.json')), `production package ${name} is installed`);
    // A dev dependency may also be a production package's dependency (@types/node is one); the
    // lockfile marks what only development needs.
    const lock: unknown = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8'));
    const lockPackages = typeof lock === 'object' && lock !== null && 'packages' in lock && typeof lock.packages === 'object' && lock.packages !== null ? lock.packages : {};
    const devOnly = Object.entries(lockPackages).filter(([, info]) => typeof info === 'object' && info !== null && 'dev' in info && info.dev === true).map(([path]) => path);
    assert.ok(devOnly.includes('node_modules/typescript'), 'the lockfile marks the dev-only packages');
    assert.deepEqual(devOnly.filter((path) => existsSync(join(app, path))), [], 'no dev-only package is in the image');
    assert.ok(!existsSync(join(app, 'node_modules/typescript')), 'no TypeScript');
    assert.ok(!existsSync(join(app, 'node_modules/.bin/tsc')), 'no TypeScript compiler');
    // npm records what it installed; nothing of it is a dev package.
    const installed: unknown = JSON.parse(await readFile(join(app, 'node_modules/.package-lock.json'), 'utf8'));
    const packages = typeof installed === 'object' && installed !== null && 'packages' in installed && typeof installed.packages === 'object' && installed.packages !== null ? Object.entries(installed.packages) : [];
    assert.ok(packages.length > 50, `npm's record lists the installed packages (${packages.length})`);
    assert.deepEqual(packages.filter(([, info]) => typeof info === 'object' && info !== null && 'dev' in info && info.dev === true).map(([path]) => path), []);
  });

  it('answers --version and --help as the image user, from its working folder', async (t) => {
    if (!asRoot) t.diagnostic('not running as root: the commands run as the current user instead of uid 1000');
    const entrypoint = lastOf(built().final, 'ENTRYPOINT');
    assert.ok(entrypoint !== undefined, 'the image has an ENTRYPOINT');
    const { file, args } = hostCommand(execForm(entrypoint.args));
    const cwd = inImage(built().workdir);
    const version = await execFileResult(file, [...args, '--version'], { cwd, env: imageEnv() });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), (await readManifest()).version);
    const help = await execFileResult(file, [...args, '--help'], { cwd, env: imageEnv() });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^\s+run\b/m);
    assert.match(help.stdout, /^\s+validate\b/m);
  });

  it('runs the worker as CMD says: healthy on the configured port, writing into its working folder', { skip: missingBroker }, async (t) => {
    let kafka: KafkaTestBroker | undefined;
    let worker: ServerProcess | undefined;
    t.after(async () => {
      await worker?.stop();
      await kafka?.stop();
    });
    kafka = await startKafkaTestBroker({ brokers: 1 });
    const topic = uniqueName('image-events');

    // The config where CMD and HEALTHCHECK expect it, on a port that is not the default: the
    // health check must read it from the file.
    const cmd = execForm(lastOf(built().final, 'CMD')?.args ?? '[]');
    const configPath = cmd[cmd.indexOf('--config') + 1] ?? '';
    assert.ok(configPath.startsWith('/'), `CMD names the worker file (${cmd.join(' ')})`);
    let port = await freePort();
    while (port === 9464) port = await freePort();
    await mkdir(inImage(join(configPath, '../tenants')), { recursive: true });
    await writeFile(
      inImage(configPath),
      stringify({
        kafka: { brokers: ['${KAFKA_BROKERS}'], librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
        http: { host: '127.0.0.1', port },
        shutdown: { drainTimeoutMs: 5000 },
        log: { level: 'warn' },
      }),
    );
    await writeFile(
      inImage(join(configPath, '../tenants/image.yaml')),
      stringify({ tenant: 'image', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: 'out', fsync: false } }] }),
    );

    const entrypoint = execForm(lastOf(built().final, 'ENTRYPOINT')?.args ?? '[]');
    const run = hostCommand([...entrypoint, ...cmd]);
    const health = hostCommand(healthcheckCommand(lastOf(built().final, 'HEALTHCHECK') ?? assert.fail('the image has a HEALTHCHECK')));
    const cwd = inImage(built().workdir);
    const env = { ...imageEnv(), KAFKA_BROKERS: kafka.brokers.join(',') };
    const healthy = async (): Promise<boolean> => (await execFileResult(health.file, health.args, { cwd, env })).code === 0;

    assert.equal(await healthy(), false, 'unhealthy before the worker runs');
    worker = await startServerProcess({ name: 'worker (image tree)', command: run.file, args: run.args, cwd, env, ...(imageUser === undefined ? {} : { user: imageUser }), ready: healthy });
    assert.ok(await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000), `lanes ready\n${worker.output()}`);

    await kafka.produce(topic, [{ key: 'u-1', value: JSON.stringify(activityEvent('u-1', 0)) }]);
    const out = join(cwd, 'out');
    assert.ok(await waitFor(async () => (await listFiles(out)).length === 1, 30_000), `the record is written under the working folder\n${worker.output()}`);
    if (imageUser !== undefined) {
      const [file] = await listFiles(out);
      assert.equal((await stat(file ?? '')).uid, BASE_IMAGE_USER.uid, 'written by the image user');
    }

    await worker.stop();
    const after = await execFileResult(health.file, health.args, { cwd, env });
    assert.equal(after.code, 1, 'unhealthy once the worker stopped');
    assert.match(after.stderr, new RegExp(`unhealthy: http://127\\.0\\.0\\.1:${port}/healthz did not answer`));
  });
});
