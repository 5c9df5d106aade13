import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { isPlainObject } from '../json/json-value.js';
import { type ConfigProblem, type Loaded } from './config-problem.js';
import { byPosition, problemsFromIssues } from './issue-problems.js';
import { type TenantConfig, tenantConfigSchema } from './tenant-schema.js';
import { type WorkerConfig, workerConfigSchema } from './worker-schema.js';
import { type YamlSource, readYamlSource } from './yaml-source.js';

export { type ConfigProblem, type Loaded, formatProblem } from './config-problem.js';

/**
 * Reads and validates config files. This is the only place YAML becomes typed config; every
 * problem of every file is reported together, each with its file, line and path.
 */

export interface LoadedDeployment {
  worker: WorkerConfig;
  tenants: TenantConfig[];
  workerPath: string;
  /** The tenant files, in the order their tenants are listed. */
  tenantFiles: string[];
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml']);

/** Loads a worker file. `tenants.dir` comes back as an absolute path (relative ones are resolved against the worker file's folder). */
export async function loadWorkerFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Loaded<WorkerConfig>> {
  return (await readWorker(path, env)).loaded;
}

export async function loadTenantFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Loaded<TenantConfig>> {
  return validate(await readYamlSource(path, env), tenantConfigSchema);
}

/**
 * Loads the worker file and every *.yaml / *.yml file in its tenants folder. Tenants are
 * loaded even when the worker file has problems, so one run shows everything to fix.
 */
export async function loadWorkerWithTenants(workerPath: string, env: NodeJS.ProcessEnv = process.env): Promise<Loaded<LoadedDeployment>> {
  const { loaded: worker, source, tenantsDir } = await readWorker(workerPath, env);
  const problems: ConfigProblem[] = worker.ok ? [] : [...worker.problems];
  const tenants: TenantConfig[] = [];
  const tenantFiles: string[] = [];

  if (tenantsDir !== null) {
    const dirAt = source.locate(['tenants', 'dir']);
    const dirProblem = (message: string): ConfigProblem => ({ file: workerPath, line: dirAt?.line ?? null, column: dirAt?.column ?? null, path: 'tenants.dir', message });
    let names: string[] = [];
    try {
      names = await listTenantFiles(tenantsDir);
      if (names.length === 0) problems.push(dirProblem('the tenants folder has no tenant files; expected at least one *.yaml or *.yml file'));
    } catch {
      problems.push(dirProblem('the tenants folder cannot be read; expected an existing folder (relative paths start at the worker file)'));
    }

    const owners = new Map<string, string>();
    for (const name of names) {
      const file = join(tenantsDir, name);
      const source = await readYamlSource(file, env);
      const tenant = validate(source, tenantConfigSchema);
      if (!tenant.ok) {
        problems.push(...tenant.problems);
        continue;
      }
      const owner = owners.get(tenant.value.tenant);
      if (owner !== undefined) {
        const at = source.locate(['tenant']);
        problems.push({ file, line: at?.line ?? null, column: at?.column ?? null, path: 'tenant', message: `tenant name already used by ${relative(tenantsDir, owner)}; expected one file per tenant` });
        continue;
      }
      owners.set(tenant.value.tenant, file);
      tenants.push(tenant.value);
      tenantFiles.push(file);
    }
  }

  if (!worker.ok || problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { worker: worker.value, tenants, workerPath, tenantFiles } };
}

/**
 * The tenant file names (*.yaml, *.yml) in a tenants folder, sorted. A symbolic link to a file
 * counts: a Kubernetes ConfigMap volume holds its files as links into a hidden `..data` folder.
 * Throws when the folder cannot be read.
 */
export async function listTenantFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!YAML_EXTENSIONS.has(extname(entry.name))) continue;
    if (entry.isFile()) names.push(entry.name);
    else if (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).then((info) => info.isFile(), () => false))) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Validates files and folders (searched recursively for *.yaml / *.yml). Each file is a worker
 * file when it has a top-level `kafka` key, a tenant file when it has `tenant` or `destinations`.
 */
export async function validatePaths(paths: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ checked: string[]; problems: ConfigProblem[] }> {
  const checked: string[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    const files = await expand(path, problems);
    for (const file of files) {
      if (seen.has(resolve(file))) continue;
      seen.add(resolve(file));
      checked.push(file);
      const source = await readYamlSource(file, env);
      if (!source.usable) {
        problems.push(...source.problems);
        continue;
      }
      const kind = kindOf(source.data);
      if (kind === null) {
        problems.push({ file, line: 1, column: 1, path: '', message: 'not a terra-fanout config file; expected a worker file (with `kafka`) or a tenant file (with `tenant` and `destinations`)' });
        continue;
      }
      const loaded = kind === 'worker' ? validate(source, workerConfigSchema) : validate(source, tenantConfigSchema);
      if (!loaded.ok) problems.push(...loaded.problems);
    }
  }
  return { checked, problems };
}

function validate<Schema extends z.ZodType>(source: YamlSource, schema: Schema): Loaded<z.output<Schema>> {
  if (!source.usable) return { ok: false, problems: source.problems };
  let parsed: z.ZodSafeParseResult<z.output<Schema>>;
  try {
    parsed = schema.safeParse(source.data);
  } catch (error) {
    // A validator threw instead of reporting an issue: a bug in a schema. Its message may hold
    // a configured value, so only the error's name is reported.
    const name = error instanceof Error ? error.name : typeof error;
    return { ok: false, problems: [...source.problems, { file: source.file, line: null, column: null, path: '', message: `a validator failed unexpectedly (${name}); this is a bug in terra-fanout, please report it` }] };
  }
  const problems = parsed.success ? source.problems : [...source.problems, ...problemsFromIssues(parsed.error.issues, source)];
  if (parsed.success && problems.length === 0) return { ok: true, value: parsed.data };
  return { ok: false, problems: problems.sort(byPosition) };
}

async function readWorker(path: string, env: NodeJS.ProcessEnv): Promise<{ loaded: Loaded<WorkerConfig>; source: YamlSource; tenantsDir: string | null }> {
  const source = await readYamlSource(path, env);
  const base = dirname(resolve(path));
  const loaded = validate(source, workerConfigSchema);
  if (loaded.ok) {
    const dir = resolve(base, loaded.value.tenants.dir);
    return { loaded: { ok: true, value: { ...loaded.value, tenants: { ...loaded.value.tenants, dir } } }, source, tenantsDir: dir };
  }
  // The worker file has problems; still find its tenants folder if that part is readable.
  const dir = rawTenantsDir(source.data);
  return { loaded, source, tenantsDir: dir === null ? null : resolve(base, dir) };
}

function rawTenantsDir(data: unknown): string | null {
  if (!isPlainObject(data)) return null;
  const tenants = data['tenants'];
  if (tenants === undefined) return 'tenants';
  if (!isPlainObject(tenants)) return null;
  const dir = tenants['dir'];
  if (dir === undefined) return 'tenants';
  return typeof dir === 'string' && dir !== '' ? dir : null;
}

function kindOf(data: unknown): 'worker' | 'tenant' | null {
  if (!isPlainObject(data)) return null;
  if ('kafka' in data) return 'worker';
  if ('tenant' in data || 'destinations' in data) return 'tenant';
  return null;
}

async function expand(path: string, problems: ConfigProblem[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    problems.push({ file: path, line: null, column: null, path: '', message: 'not found; expected a config file or a folder of them' });
    return [];
  }
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) files.push(...(await expand(child, problems)));
    else if (entry.isFile() && YAML_EXTENSIONS.has(extname(entry.name))) files.push(child);
  }
  return files;
}

