/**
 * promtool and prometheus from Debian's `prometheus` package (scripts/install-system-deps.sh
 * installs it). Tests that need them skip with this message when they are missing, so a machine
 * without the package says why instead of failing obscurely.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PROMTOOL = process.env['PROMTOOL'] ?? '/usr/bin/promtool';
export const PROMETHEUS = process.env['PROMETHEUS'] ?? '/usr/bin/prometheus';

/** A reason to skip, or false when promtool is there. */
export function missingPromtool(): string | false {
  return existsSync(PROMTOOL) ? false : `promtool not found at ${PROMTOOL}: run scripts/install-system-deps.sh as root (Debian package prometheus), or set PROMTOOL`;
}

/** A reason to skip, or false when prometheus is there. */
export function missingPrometheus(): string | false {
  return existsSync(PROMETHEUS) ? false : `prometheus not found at ${PROMETHEUS}: run scripts/install-system-deps.sh as root (Debian package prometheus), or set PROMETHEUS`;
}

export interface ToolResult {
  code: number;
  output: string;
}

/** Runs promtool with a deadline; resolves with its exit code and combined output. */
export function promtool(args: readonly string[], timeoutMs = 60_000): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
