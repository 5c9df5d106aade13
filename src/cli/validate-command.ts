/** `terra-fanout validate`: every problem of the given config files, then optionally every destination's check. */
import { validatePaths } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import { checkConnections, formatConnectionResult, tenantsOf } from './check-connections.js';
import { exitCode, failWithProblems } from './run-action.js';

export async function validateCommand(paths: string[], options: { checkConnections?: boolean }): Promise<void> {
  const result = await validatePaths(paths);
  if (result.problems.length > 0) failWithProblems(result.problems, exitCode.rejected);
  process.stdout.write(`ok: ${result.checked.length} file${result.checked.length === 1 ? '' : 's'} valid\n`);
  if (options.checkConnections !== true) return;
  const { tenants, problems } = await tenantsOf(result.checked);
  if (problems.length > 0) failWithProblems(problems, exitCode.rejected);
  const results = await checkConnections(tenants, { logger: createLogger('warn', process.stderr) });
  for (const line of results.map(formatConnectionResult)) process.stdout.write(`${line}\n`);
  const failed = results.filter((checked) => !checked.ok).length;
  process.stdout.write(`${results.length - failed} of ${results.length} destination${results.length === 1 ? '' : 's'} reachable and writable.\n`);
  if (failed > 0) process.exitCode = exitCode.rejected;
}
