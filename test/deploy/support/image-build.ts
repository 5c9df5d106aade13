/**
 * Runs the Dockerfile's build steps without a container engine: each stage gets a folder standing
 * for its file system, COPY copies from the build context (filtered by .dockerignore) or from
 * another stage's folder, RUN runs its command with the stage's WORKDIR and ENV, and stages that
 * do not depend on each other run at the same time, as BuildKit runs them.
 *
 * What the base image brings (Node, npm, the `node` user) is this machine's: the tests check that
 * the image pins the Node version running them. A RUN that names an absolute path would act on
 * this machine instead of on a stage, so it is refused, as is any instruction not understood.
 */
import { spawn } from 'node:child_process';
import { chmod, chown, cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { dockerignoreFilter, parseDockerfile, type Stage } from './dockerfile.js';

/** What the official node image provides that the Dockerfile relies on (its own Dockerfile creates the user with --create-home). */
export const BASE_IMAGE_USER = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' } as const;

export interface BuiltImage {
  /** Folder of each stage's file system, by stage name. */
  stageRoots: Map<string, string>;
  /** The last stage: the image. */
  final: Stage;
  finalRoot: string;
  /** Working folder and environment the image's process starts with. */
  workdir: string;
  env: Record<string, string>;
  /** Each RUN with the time it took, for the test's diagnostics. */
  log: string[];
}

/** Context-relative paths of every file the build context holds. */
export async function contextFiles(contextDir: string, dockerignore: string): Promise<string[]> {
  const included = dockerignoreFilter(dockerignore);
  const reincluded = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/^\/+|\/+$/g, ''));
  const files: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(contextDir, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        // An excluded folder is only entered when a `!` pattern could re-include something in it.
        if (included(path) || reincluded.some((pattern) => pattern.startsWith(`${path}/`) || pattern.includes('*'))) await walk(path);
      } else if (included(path)) {
        files.push(path);
      }
    }
  };
  await walk('');
  return files;
}

function run(command: string, cwd: string, env: Record<string, string>, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`RUN ${command} failed (${signal ?? `exit ${code}`}):\n${output}`))));
  });
}

/**
 * Builds every stage of the Dockerfile in `contextDir` into `outDir`. `hostEnv` is the environment
 * RUN commands see besides the Dockerfile's ENV (PATH to node and npm, npm cache settings).
 */
export async function emulateImageBuild(options: { contextDir: string; outDir: string; hostEnv: Record<string, string>; runTimeoutMs?: number }): Promise<BuiltImage> {
  const dockerfile = parseDockerfile(await readFile(join(options.contextDir, 'Dockerfile'), 'utf8'));
  const context = await contextFiles(options.contextDir, await readFile(join(options.contextDir, '.dockerignore'), 'utf8').catch(() => ''));
  const stageRoots = new Map<string, string>();
  const done = new Map<string, Promise<{ workdir: string; env: Record<string, string> }>>();
  const log: string[] = [];

  const buildStage = async (stage: Stage, index: number): Promise<{ workdir: string; env: Record<string, string> }> => {
    const root = join(options.outDir, `stage-${index}-${stage.name}`);
    stageRoots.set(stage.name, root);
    await mkdir(root, { recursive: true });
    // The base image's user and home folder.
    await mkdir(join(root, BASE_IMAGE_USER.home), { recursive: true });
    if (process.getuid?.() === 0) await chown(join(root, BASE_IMAGE_USER.home), BASE_IMAGE_USER.uid, BASE_IMAGE_USER.gid);
    let workdir = '/';
    const env: Record<string, string> = {};
    const inStage = (path: string): string => join(root, posix.resolve(workdir, path));
    for (const instruction of stage.instructions) {
      switch (instruction.keyword) {
        case 'WORKDIR':
          workdir = posix.resolve(workdir, instruction.args);
          await mkdir(inStage('.'), { recursive: true });
          break;
        case 'ENV': {
          const [name, ...value] = instruction.args.split('=');
          env[(name ?? '').trim()] = value.join('=').trim();
          break;
        }
        case 'COPY': {
          const words = instruction.args.split(/\s+/);
          const dest = words.pop() ?? '';
          const from = instruction.flags.get('from');
          const toDir = dest.endsWith('/') || words.length > 1;
          for (const source of words) {
            const target = toDir ? join(inStage(dest), posix.basename(source)) : inStage(dest);
            if (from !== undefined) {
              const other = done.get(from);
              if (other === undefined) throw new Error(`line ${instruction.line}: COPY --from=${from} names no earlier stage`);
              await other;
              await cp(join(stageRoots.get(from) ?? '', source), target, { recursive: true });
            } else {
              const clean = posix.normalize(source).replace(/\/$/, '');
              const matching = context.filter((file) => file === clean || file.startsWith(`${clean}/`));
              if (matching.length === 0) throw new Error(`line ${instruction.line}: COPY ${source}: nothing in the build context (.dockerignore excludes it, or it does not exist)`);
              for (const file of matching) {
                const path = file === clean ? target : join(target, file.slice(clean.length + 1));
                await mkdir(dirname(path), { recursive: true });
                await cp(join(options.contextDir, file), path);
              }
            }
          }
          break;
        }
        case 'RUN': {
          if (/(^|[\s=;&|])\//.test(instruction.args)) throw new Error(`line ${instruction.line}: RUN ${instruction.args} names an absolute path; it cannot be run outside a container`);
          const started = Date.now();
          await run(instruction.args, inStage('.'), { ...options.hostEnv, ...env }, options.runTimeoutMs ?? 600_000);
          log.push(`${stage.name}: RUN ${instruction.args} (${Date.now() - started} ms)`);
          break;
        }
        case 'USER':
        case 'EXPOSE':
        case 'HEALTHCHECK':
        case 'ENTRYPOINT':
        case 'CMD':
        case 'LABEL':
        case 'ARG':
          break; // metadata: checked by the tests, nothing to build
        default:
          throw new Error(`line ${instruction.line}: ${instruction.keyword} cannot be emulated`);
      }
    }
    return { workdir, env };
  };

  // Every stage starts at once; a COPY --from waits for the stage it names.
  dockerfile.stages.forEach((stage, index) => done.set(stage.name, buildStage(stage, index)));
  // Settle every stage before reporting a failure, so no RUN is left writing into a removed folder.
  const settled = await Promise.allSettled([...done.values()]);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const results = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const final = dockerfile.stages.at(-1);
  const last = results.at(-1);
  if (final === undefined || last === undefined) throw new Error('the Dockerfile has no stage');
  const finalRoot = stageRoots.get(final.name) ?? '';
  // Other users must be able to reach the image's files, as they can inside an image.
  await chmod(options.outDir, 0o755);
  for (const root of stageRoots.values()) await chmod(root, 0o755);
  return { stageRoots, final, finalRoot, workdir: last.workdir, env: last.env, log };
}
