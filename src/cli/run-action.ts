/**
 * How every command ends: its exit code, and what an expected failure prints (one line on stderr,
 * never a stack trace). Each command's action is wrapped in `commandAction`, so a command only
 * throws `CommandError` (or lets a Node system error such as ENOENT or EADDRINUSE through) and
 * this module turns it into a message and an exit code.
 */
import { formatProblem, type ConfigProblem } from '../config/config-problem.js';

/**
 * The exit codes of every command, the same meaning everywhere:
 * - 0: done, and the answer is yes (events accepted, files valid, destinations reachable; the
 *   worker drained and stopped on SIGTERM/SIGINT);
 * - 1: done, and the answer is no (an event was rejected, a config problem or a failed destination
 *   check was found), or the worker stopped on a failure after it had started (a lane failed for
 *   good; restart it);
 * - 2: could not run (bad arguments, an input file missing or unreadable, a config invalid for a
 *   command that needs it, a port in use).
 */
export const exitCode = { ok: 0, rejected: 1, cannotRun: 2 } as const;
export type ExitCode = (typeof exitCode)[keyof typeof exitCode];

/** `Exit codes:` for a command's --help, with what 0, 1 (and 2, when it differs) mean for that command. */
export function exitCodesHelp(rejected: string, ok = 'success', cannotRun = 'bad arguments, a missing or unreadable file, invalid config, a port in use'): string {
  return ['', 'Exit codes:', `  0  ${ok}`, `  1  ${rejected}`, `  2  could not run: ${cannotRun}`].join('\n');
}

/** An expected condition that ends a command: its message is printed as is, without a stack. */
export class CommandError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, code: ExitCode = exitCode.cannotRun) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = code;
  }
}

/** Prints every problem, one per line, and a count, on stderr. */
export function printProblems(problems: readonly ConfigProblem[]): void {
  for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} found.\n`);
}

/** Prints the problems and ends the command with `code`. */
export function failWithProblems(problems: readonly ConfigProblem[], code: ExitCode = exitCode.cannotRun): never {
  printProblems(problems);
  process.exit(code);
}

interface SystemError extends Error {
  code: string;
  path?: string;
  address?: string;
  port?: number;
}

function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && /^E[A-Z]+$/.test(error.code);
}

/**
 * One line for a Node system error the user can act on (a missing file, a port in use), or null
 * when the error is not one of those. Names the path or address, never file contents.
 */
export function describeSystemError(error: unknown): string | null {
  if (!isSystemError(error)) return null;
  const path = error.path === undefined ? '' : `${error.path}: `;
  const address = error.port === undefined ? (error.address ?? '') : `${error.address ?? ''}:${error.port}`;
  switch (error.code) {
    case 'ENOENT':
      return `${path}file not found`;
    case 'EACCES':
    case 'EPERM':
      return address !== '' && path === '' ? `not allowed to listen on ${address} (a port below 1024 needs privileges)` : `${path}permission denied`;
    case 'EISDIR':
      return `${path}is a folder, expected a file`;
    case 'ENOTDIR':
      return `${path}a part of the path is not a folder`;
    case 'EADDRINUSE':
      return `${address} is already in use (another process listens there); choose another port`;
    case 'EADDRNOTAVAIL':
      return `${address} is not an address of this machine`;
    default:
      return null;
  }
}

/** Prints how the command ended and exits with its code. Unexpected errors (bugs) keep their stack. */
export function exitOnError(error: unknown): never {
  if (error instanceof CommandError) {
    process.stderr.write(`terra-fanout: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  const system = describeSystemError(error);
  if (system !== null) {
    process.stderr.write(`terra-fanout: ${system}\n`);
    process.exit(exitCode.cannotRun);
  }
  process.stderr.write(`terra-fanout: unexpected error; this is a bug in terra-fanout, please report it with what follows.\n`);
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(exitCode.cannotRun);
}

/** Wraps a commander action so that whatever it throws ends the command as `exitOnError` says. */
export function commandAction<Args extends unknown[]>(action: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await action(...args);
    } catch (error) {
      exitOnError(error);
    }
  };
}

/**
 * A reader that went away (`check-event ... | head -1`) is not an error: stop quietly with the
 * exit code decided so far. Without this, the EPIPE on stdout would surface as an uncaught error
 * with a stack. Errors writing to stderr are ignored: there is nowhere left to report them.
 */
export function exitQuietlyWhenOutputCloses(): void {
  process.stdout.on('error', () => process.exit(typeof process.exitCode === 'number' ? process.exitCode : exitCode.ok));
  process.stderr.on('error', () => undefined);
}
