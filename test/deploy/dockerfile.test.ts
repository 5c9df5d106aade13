import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadWorkerFile } from '../../src/config/load-config.js';
import { workerConfigSchema } from '../../src/config/worker-schema.js';
import { paths, repoRoot } from './support/deploy-files.js';
import { execForm, healthcheckCommand, lastOf, parseDockerfile, type Dockerfile, type Stage } from './support/dockerfile.js';
import { BASE_IMAGE_USER, contextFiles } from './support/image-build.js';

async function readDockerfile(): Promise<Dockerfile> {
  return parseDockerfile(await readFile(paths.dockerfile, 'utf8'));
}

function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  assert.ok(stage !== undefined, 'the Dockerfile has a stage');
  return stage;
}

/** The worker file's HTTP port when the file leaves it out: the schema's default. */
const defaultPort = workerConfigSchema.parse({ kafka: { brokers: ['kafka:9092'] } }).http.port;

/** `docker run ...` examples (continued lines joined) in a text, with comment markers removed. */
function dockerRunExamples(text: string): string[] {
  const lines = text.split('\n').map((line) => line.replace(/^#\s?/, '').trim());
  const examples: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    if (!/^(\$\s+)?docker run\b/.test(lines[index] ?? '')) continue;
    let example = '';
    for (; index < lines.length; index += 1) {
      const line = lines[index] ?? '';
      example += ` ${line.replace(/\\$/, '')}`;
      if (!line.endsWith('\\')) break;
    }
    examples.push(example.trim());
  }
  return examples;
}

const LOOPBACK = /^(127\.|localhost\b|\[?::1\]?)/;

describe('Dockerfile', () => {
  it('pins its base by version and digest, on a current LTS line that package.json allows', async () => {
    const dockerfile = await readDockerfile();
    const base = dockerfile.globalArgs.get('NODE_IMAGE') ?? '';
    const pinned = /^node:((\d+)\.\d+\.\d+)-[a-z]+-slim@sha256:[0-9a-f]{64}$/.exec(base);
    assert.ok(pinned !== null, `NODE_IMAGE is node:<x.y.z>-<debian>-slim@sha256:<digest> (got ${base})`);
    const major = Number(pinned[2]);
    assert.equal(major % 2, 0, 'an LTS line (even major)');
    assert.ok(major >= 24, `Node ${major}: a line still in LTS (24 or later as of late 2026), not the end-of-life 20 the test machine runs`);
    const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { engines?: { node?: string } };
    const minimum = Number(/>=\s*(\d+)/.exec(manifest.engines?.node ?? '')?.[1]);
    assert.ok(major >= minimum, `package.json engines.node (${manifest.engines?.node}) allows Node ${major}`);
    for (const stage of dockerfile.stages) assert.equal(stage.from, base, `stage ${stage.name} starts from the pinned base`);
  });

  it('installs from the lockfile, production packages only in the final stage, and builds nothing there', async () => {
    const dockerfile = await readDockerfile();
    const runs = dockerfile.stages.flatMap((stage) => stage.instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => ({ stage, command: instruction.args })));
    assert.ok(runs.every(({ command }) => !/\bnpm (install|i)\b/.test(command)), 'npm ci, never npm install');
    const production = runs.find(({ command }) => /\bnpm ci\b/.test(command) && /--omit=dev\b/.test(command));
    assert.ok(production !== undefined, 'a stage runs npm ci --omit=dev');
    const final = finalStage(dockerfile);
    assert.deepEqual(final.instructions.filter((instruction) => instruction.keyword === 'RUN'), [], 'the final stage runs nothing (no compilers, no package manager steps)');
    const modules = final.instructions.find((instruction) => instruction.keyword === 'COPY' && /node_modules/.test(instruction.args));
    assert.equal(modules?.flags.get('from'), production.stage.name, 'node_modules comes from the --omit=dev stage');
  });

  it('runs as a non-root user in a working folder that user can write', async () => {
    const final = finalStage(await readDockerfile());
    const user = lastOf(final, 'USER');
    assert.ok(user !== undefined, 'the final stage sets USER');
    assert.ok(!['root', '0', '0:0'].includes(user.args), 'the user is not root');
    assert.equal(user.args, BASE_IMAGE_USER.name, 'the official image\'s node user (uid 1000)');
    const workdirs = final.instructions.filter((instruction) => instruction.keyword === 'WORKDIR');
    const workdir = workdirs.at(-1);
    assert.ok(workdir !== undefined && workdir.line > user.line, 'WORKDIR is set after USER');
    // Writable: the user's home (created and owned by it in the base image) or a folder COPY --chown gives it.
    const chowned = final.instructions.filter((instruction) => instruction.keyword === 'COPY' && instruction.flags.get('chown')?.split(':')[0] === user.args).map((instruction) => instruction.args.split(/\s+/).at(-1));
    assert.ok(workdir.args === BASE_IMAGE_USER.home || chowned.includes(workdir.args), `WORKDIR ${workdir.args} is writable by ${user.args}`);
    // The application itself stays out of the user's reach.
    assert.ok(final.instructions.filter((instruction) => instruction.keyword === 'COPY').every((instruction) => !instruction.args.split(/\s+/).at(-1)?.startsWith(workdir.args)), 'no application file is copied into the writable folder');
  });

  it('health-checks the port its worker file configures, and exposes the default one', async () => {
    const final = finalStage(await readDockerfile());
    const healthcheck = lastOf(final, 'HEALTHCHECK');
    assert.ok(healthcheck !== undefined, 'the image has a HEALTHCHECK');
    const command = healthcheckCommand(healthcheck);
    assert.deepEqual(command.slice(0, 2), ['node', '/app/dist/src/cli/healthcheck.js'], 'it runs the health check that reads the worker file');
    assert.ok(existsSync(join(repoRoot, 'src/cli/healthcheck.ts')), 'whose source exists');
    const cmd = execForm(lastOf(final, 'CMD')?.args ?? '[]');
    const config = cmd[cmd.indexOf('--config') + 1];
    assert.ok(cmd.includes('--config') && config !== undefined, 'CMD runs with --config');
    assert.deepEqual(command.slice(2), [config], 'the health check reads the same worker file as CMD');
    assert.ok(!command.some((arg) => /:\d+|\b9464\b/.test(arg)), 'no port is written into the health check');
    assert.deepEqual(execForm(lastOf(final, 'ENTRYPOINT')?.args ?? '[]'), ['node', '/app/dist/src/cli/main.js']);
    assert.equal(lastOf(final, 'EXPOSE')?.args, String(defaultPort), 'EXPOSE names the default http.port');
    const sample = await loadWorkerFile(join(repoRoot, 'config/worker.yaml'), {});
    assert.ok(sample.ok, JSON.stringify(sample));
    assert.equal(sample.value.http.port, defaultPort, 'config/worker.yaml uses the default port too');
  });

  it('its docker run examples (Dockerfile and README) point the broker at a reachable host, not the container itself', async () => {
    const examples = [...dockerRunExamples(await readFile(paths.dockerfile, 'utf8')), ...dockerRunExamples(await readFile(join(repoRoot, 'README.md'), 'utf8'))];
    assert.ok(examples.length >= 2, `examples found in the Dockerfile and the README: ${examples.length}`);
    const worker = await readFile(join(repoRoot, 'config/worker.yaml'), 'utf8');
    assert.match(worker, /brokers: \["\$\{KAFKA_BROKERS(:-[^}]*)?\}"\]/, 'config/worker.yaml takes its brokers from KAFKA_BROKERS');
    for (const example of examples) {
      const brokers = /-e KAFKA_BROKERS=(\S+)/.exec(example)?.[1];
      assert.ok(brokers !== undefined, `the example sets KAFKA_BROKERS: ${example}`);
      for (const broker of brokers.split(',')) assert.ok(!LOOPBACK.test(broker), `${broker} is not the container's own loopback: ${example}`);
      assert.match(example, /-v \S+:\/etc\/terra-fanout\/worker\.yaml:ro/, `the example mounts the worker file where CMD reads it: ${example}`);
    }
  });

  it('sends the builder only what it COPYs (.dockerignore is an allowlist)', async () => {
    const files = await contextFiles(repoRoot, await readFile(paths.dockerignore, 'utf8'));
    const allowed = /^(package\.json|package-lock\.json|tsconfig\.json|src\/.+|connectors\/.+)$/;
    assert.deepEqual(files.filter((file) => !allowed.test(file)), [], 'nothing else is in the build context');
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli/main.ts', 'connectors/registry.ts']) assert.ok(files.includes(needed), `${needed} is in the build context`);
  });
});
