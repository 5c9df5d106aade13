import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { connectorRegistry } from '../../connectors/registry.js';
import { destinationFormatWarnings } from '../formats/destination-format.js';
import { formatPath, isPlainObject } from '../json/json-value.js';
import { coerceInterpolated } from './coerce-interpolated.js';
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
  return (await readDeployment(workerPath, env)).loaded;
}

/** loadWorkerWithTenants, and every file it found in the tenants folder (valid or not). */
async function readDeployment(workerPath: string, env: NodeJS.ProcessEnv): Promise<{ loaded: Loaded<LoadedDeployment>; listed: string[] }> {
  const { loaded: worker, source, tenantsDir } = await readWorker(workerPath, env);
  const problems: ConfigProblem[] = worker.ok ? [] : [...worker.problems];
  const tenants: TenantConfig[] = [];
  const tenantFiles: string[] = [];
  const listed: string[] = [];

  if (tenantsDir !== null) {
    const dirAt = source.locate(['tenants', 'dir']);
    const dirProblem = (message: string): ConfigProblem => ({ file: workerPath, line: dirAt?.line ?? null, column: dirAt?.column ?? null, path: 'tenants.dir', message });
    try {
      const names = await listTenantFiles(tenantsDir);
      if (names.length === 0) problems.push(dirProblem('the tenants folder has no tenant files; expected at least one *.yaml or *.yml file'));
      listed.push(...names.map((name) => join(tenantsDir, name)));
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : '';
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)' : code === 'ENOTDIR' ? 'is not a folder' : 'cannot be read';
      problems.push(dirProblem(`the tenants folder ${why}; expected a readable folder of tenant files (relative paths start at the worker file)`));
    }

    const owners = new Map<string, string>();
    for (const file of listed) {
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

  if (!worker.ok || problems.length > 0) return { loaded: { ok: false, problems }, listed };
  return { loaded: { ok: true, value: { worker: worker.value, tenants, workerPath, tenantFiles } }, listed };
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
 * A worker file brings its tenants folder along, checked as `run` checks it (the folder must be
 * readable and hold tenant files; tenant names must be unique), so `validate worker.yaml` says
 * everything `run --config worker.yaml` would refuse. A problem found twice is reported once.
 */
export async function validatePaths(paths: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ checked: string[]; problems: ConfigProblem[]; warnings: ConfigProblem[] }> {
  const checked: string[] = [];
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const reported = new Set<string>();
  const report = (found: readonly ConfigProblem[]): void => {
    for (const problem of found) {
      const key = JSON.stringify([resolve(problem.file), problem.line, problem.column, problem.path, problem.message]);
      if (reported.has(key)) continue;
      reported.add(key);
      problems.push(problem);
    }
  };
  const seen = new Set<string>();
  const check = (file: string): boolean => {
    if (seen.has(resolve(file))) return false;
    seen.add(resolve(file));
    checked.push(file);
    return true;
  };
  for (const path of paths) {
    const files = await expand(path, problems);
    for (const file of files) {
      if (!check(file)) continue;
      const source = await readYamlSource(file, env);
      if (!source.usable) {
        report(source.problems);
        continue;
      }
      const kind = kindOf(source.data);
      if (kind === null) {
        report([{ file, line: 1, column: 1, path: '', message: 'not a terra-fanout config file; expected a worker file (with `kafka`) or a tenant file (with `tenant` and `destinations`)' }]);
      } else if (kind === 'tenant') {
        const loaded = validate(source, tenantConfigSchema);
        if (loaded.ok) warnings.push(...tenantWarnings(loaded.value, source));
        else report(loaded.problems);
      } else {
        const { loaded, listed } = await readDeployment(file, env);
        if (!loaded.ok) report(loaded.problems);
        for (const tenantFile of listed) check(tenantFile);
      }
    }
  }
  return { checked, problems, warnings };
}

/**
 * Settings that are valid but lose data quietly (a destination whose `events:` include types its
 * `format:` cannot encode). `validate` prints them and still succeeds.
 */
export function tenantWarnings(tenant: TenantConfig, source: Pick<YamlSource, 'file' | 'locate'>): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  tenant.destinations.forEach((destination, index) => {
    const connector = connectorRegistry.find((candidate) => candidate.type === destination.type);
    if (connector === undefined) return;
    for (const warning of destinationFormatWarnings(destination, connector)) {
      const path = ['destinations', index, ...warning.path];
      const at = source.locate(path) ?? source.locate(['destinations', index]);
      warnings.push({ file: source.file, line: at?.line ?? null, column: at?.column ?? null, path: formatPath(path), message: warning.message });
    }
  });
  return warnings;
}

function validate<Schema extends z.ZodType>(source: YamlSource, schema: Schema): Loaded<z.output<Schema>> {
  if (!source.usable) return { ok: false, problems: source.problems };
  let data = source.data;
  let parsed: z.ZodSafeParseResult<z.output<Schema>>;
  try {
    parsed = schema.safeParse(data);
    // `${VAR}` values where a number or boolean is wanted: read them as such and check again.
    // A second round covers a union that only reports its inner fields once the outer type fits.
    for (let round = 0; round < 2 && !parsed.success; round += 1) {
      const coerced = coerceInterpolated(data, parsed.error.issues, source.interpolated);
      if (coerced === null) break;
      data = coerced;
      parsed = schema.safeParse(data);
    }
  } catch (error) {
    // A validator threw instead of reporting an issue: a bug in a schema. Its message may hold
    // a configured value, so only the error's name is reported.
    const name = error instanceof Error ? error.name : typeof error;
    return { ok: false, problems: [...source.problems, { file: source.file, line: null, column: null, path: '', message: `a validator failed unexpectedly (${name}); this is a bug in terra-fanout, please report it` }] };
  }
  const problems = parsed.success ? source.problems : [...source.problems, ...problemsFromIssues(parsed.error.issues, { ...source, data })];
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

