/** Runs the built command line (dist/src/cli/main.js) as a child process, the way a user does. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/cli/support/). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const cliPath = join(repoRoot, 'dist/src/cli/main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin (stdin is closed either way). */
  input?: string;
  /** node options before the script, e.g. ['--import', hook]. */
  nodeArgs?: string[];
  /** Killed after this long (default 120 s), so a hung command fails its test. */
  timeoutMs?: number;
}

export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), cliPath, ...args],
      { cwd: repoRoot, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input);
  });
}

/** Whether the text holds a JavaScript stack trace (`    at fn (file:line:col)` lines). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[:(]/m.test(text);
}
