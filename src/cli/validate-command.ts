/** `terra-fanout validate`: every problem of the given config files, then optionally every destination's check. */
import { existsSync } from 'node:fs';
import { formatProblem, validatePaths } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import { checkConnections, formatConnectionResult, tenantsOf } from './check-connections.js';
import { CommandError, exitCode, failWithProblems } from './run-action.js';

export async function validateCommand(paths: string[], options: { checkConnections?: boolean }): Promise<void> {
  // A path that is not there is a mistyped argument (could not run), not a verdict on a file.
  const missing = paths.filter((path) => !existsSync(path));
  if (missing.length > 0) throw new CommandError(`${missing.join(', ')}: not found; expected a config file or a folder of them`);
  const result = await validatePaths(paths);
  for (const warning of result.warnings) process.stderr.write(`warning: ${formatProblem(warning)}\n`);
  if (result.problems.length > 0) failWithProblems(result.problems, exitCode.rejected);
  process.stdout.write(`ok: ${result.checked.length} file${result.checked.length === 1 ? '' : 's'} valid\n`);
  if (options.checkConnections !== true) return;
  const { tenants, problems } = await tenantsOf(result.checked);
  if (problems.length > 0) failWithProblems(problems, exitCode.rejected);
  // An SDK client torn down after a failed check can reject a promise nobody holds (seen with
  // Firestore and a missing key file). Every check's own outcome is awaited and printed below, so
  // such a stray rejection is not this command's failure, and must not end it with a stack.
  process.on('unhandledRejection', () => undefined);
  // The result lines say what failed and why; connector logs (with their stacks) would only repeat it.
  const results = await checkConnections(tenants, { logger: createLogger('fatal', process.stderr) });
  for (const line of results.map(formatConnectionResult)) process.stdout.write(`${line}\n`);
  const failed = results.filter((checked) => !checked.ok).length;
  process.stdout.write(`${results.length - failed} of ${results.length} destination${results.length === 1 ? '' : 's'} reachable and writable.\n`);
  // Exit now: an SDK's background timers (reconnects, token refreshes) must not keep a finished command alive.
  process.exit(failed > 0 ? exitCode.rejected : exitCode.ok);
}
