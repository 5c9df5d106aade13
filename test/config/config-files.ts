import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConfigProblem, formatProblem } from '../../src/config/load-config.js';

/** The repository root (tests run from dist/test/config/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const created: string[] = [];

/** YAML text from lines, so a test can name line numbers: line N is `lines[N - 1]`. */
export function yamlLines(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** Writes files (relative path -> text) into a fresh temporary folder and returns the folder. */
export async function writeConfigFiles(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-config-'));
  created.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** Removes every folder `writeConfigFiles` made; register with `after(removeConfigFiles)`. */
export async function removeConfigFiles(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Problems as `file:line:col: path: message` with the folder left out, for exact comparison. */
export function formatted(problems: readonly ConfigProblem[], dir: string): string[] {
  return problems.map((problem) => (dir === '' ? formatProblem(problem) : formatProblem(problem).replaceAll(`${dir}/`, '')));
}

/** A minimal valid tenant file body after the given destination lines. */
export function tenantWith(...destinationLines: string[]): string {
  return yamlLines('tenant: acme', 'topics: [terra.events]', 'deadLetterTopic: terra.events.dlq.acme', 'destinations:', ...destinationLines);
}
