/**
 * One thing wrong with a config file, located as precisely as the YAML allows.
 * Messages say what is wrong and what is expected; they never repeat a configured value.
 */
export interface ConfigProblem {
  file: string;
  /** 1-based line of the offending node, or null when the file itself is at fault (unreadable, empty dir). */
  line: number | null;
  /** 1-based column, null when `line` is null. */
  column: number | null;
  /** Where in the document, e.g. `destinations[0].config.url`; empty for the whole file. */
  path: string;
  message: string;
}

/** The outcome of loading config: a typed value, or every problem found. */
export type Loaded<T> = { ok: true; value: T } | { ok: false; problems: ConfigProblem[] };

/** `file:line:col: path: message`, leaving out the parts that are unknown. */
export function formatProblem(problem: ConfigProblem): string {
  let location = problem.file;
  if (problem.line !== null) {
    location += `:${problem.line}`;
    if (problem.column !== null) location += `:${problem.column}`;
  }
  return problem.path === '' ? `${location}: ${problem.message}` : `${location}: ${problem.path}: ${problem.message}`;
}

export { formatPath } from '../json/json-value.js';
