import { readFile } from 'node:fs/promises';
import { type Document, LineCounter, isMap, isNode, isScalar, parseDocument, visit } from 'yaml';
import { type ConfigProblem, formatPath } from './config-problem.js';
import { interpolateDocument } from './interpolate.js';

/**
 * One config file read safely: YAML 1.2 core schema only (no custom or YAML 1.1 tags, so nothing
 * in the file can construct objects or run code), unique keys, a small alias budget against
 * "billion laughs" bombs, and `${VAR}` resolved in string values. Knows where each value came
 * from, so later problems can name a line.
 */
export interface YamlSource {
  file: string;
  /**
   * Whether `data` can be validated: false when the file could not be read or parsed. It stays
   * true when only some `${VAR}` references failed, so one run reports those and everything else.
   */
  usable: boolean;
  /** The plain data, interpolated. A value whose reference failed is left as written. */
  data: unknown;
  /** Problems reading, parsing or interpolating the file. */
  problems: ConfigProblem[];
  /** Paths of the values whose references failed; schema problems at or under them are noise. */
  unresolved: (string | number)[][];
  /** Paths of the values that came from `${VAR}` references (always strings). */
  interpolated: (string | number)[][];
  /** Line and column (1-based) of the value at `path`, else of its nearest existing parent. */
  locate(path: readonly (string | number)[]): { line: number; column: number } | null;
  /** Line and column of the key `key` in the mapping at `mapPath`, else of the mapping. */
  locateKey(mapPath: readonly (string | number)[], key: string): { line: number; column: number } | null;
  /** Removes values that came from the environment from a message. */
  redact(message: string): string;
}

/** Most alias expansions allowed while building the data; enough for shared blocks, too few for a bomb. */
export const MAX_ALIAS_COUNT = 50;

/** Environment values shorter than this are not redacted from messages (they would mangle ordinary words). */
const MIN_REDACTED_LENGTH = 4;

export async function readYamlSource(file: string, env: NodeJS.ProcessEnv): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return unreadable(file, error);
  }
  return parseYamlSource(file, text, env);
}

/** Parses YAML text that was read from `file` (exported for tests). */
export function parseYamlSource(file: string, text: string, env: NodeJS.ProcessEnv): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    customTags: [],
    resolveKnownTags: false,
    merge: true,
    uniqueKeys: true,
    prettyErrors: false,
    keepSourceTokens: false,
    lineCounter,
  });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const locate = (path: readonly (string | number)[]) => locateIn(document, path, position);
  const locateKey = (mapPath: readonly (string | number)[], key: string) => {
    const map = mapPath.length === 0 ? document.contents : document.getIn(mapPath, true);
    if (isMap(map)) {
      const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
      const start = isNode(pair?.key) ? pair.key.range?.[0] : undefined;
      if (start !== undefined) return position(start);
    }
    return locate(mapPath);
  };

  const problems: ConfigProblem[] = [];
  for (const error of [...document.errors, ...document.warnings]) {
    const { line, column } = position(error.pos[0]);
    problems.push({ file, line, column, path: '', message: describeYamlError(error.code, error.message) });
  }
  if (problems.length > 0) return { file, usable: false, data: undefined, problems, unresolved: [], interpolated: [], locate, locateKey, redact: (message) => message };

  const { failures, resolved, substituted } = interpolateDocument(document, env);
  const secrets = [...new Set(substituted)].filter((value) => value.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
  const redact = (message: string) => secrets.reduce((text, value) => text.split(value).join('[redacted]'), message);
  for (const failure of failures) {
    const at = failure.offset === null ? locate(failure.path) : position(failure.offset);
    problems.push({ file, line: at?.line ?? null, column: at?.column ?? null, path: formatPath(failure.path), message: failure.message });
  }
  const unresolved = failures.map((failure) => failure.path);

  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const at = firstAlias(document, position);
    problems.push({
      file,
      line: at?.line ?? null,
      column: at?.column ?? null,
      path: '',
      message: `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} expansions, as in a YAML bomb); expected fewer or smaller aliases`,
    });
    return { file, usable: false, data: undefined, problems, unresolved, interpolated: resolved, locate, locateKey, redact };
  }
  return { file, usable: true, data, problems, unresolved, interpolated: resolved, locate, locateKey, redact };
}

function locateIn(document: Document, path: readonly (string | number)[], position: (offset: number) => { line: number; column: number }) {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return position(node.range[0]);
  }
  return null;
}

function firstAlias(document: Document, position: (offset: number) => { line: number; column: number }) {
  const offsets: number[] = [];
  visit(document, {
    Alias(_key, node) {
      if (node.range) offsets.push(node.range[0]);
      return visit.BREAK;
    },
  });
  const [offset] = offsets;
  return offset === undefined ? null : position(offset);
}

/** YAML's own messages, without any quoted source text (it could be a literal credential). */
function describeYamlError(code: string, message: string): string {
  if (code === 'TAG_RESOLVE_FAILED') return 'unsupported YAML tag; config files allow only plain YAML values (no !tags)';
  if (code === 'DUPLICATE_KEY') return 'duplicate key; each key may appear once in a mapping';
  const firstLine = message.split('\n')[0] ?? message;
  return `YAML syntax error: ${firstLine.replace(/:\s*".*$/, '').replace(/ at line \d+, column \d+$/, '')}`;
}

function unreadable(file: string, error: unknown): YamlSource {
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  const reason = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder, expected a file' : 'cannot be read';
  return {
    file,
    usable: false,
    data: undefined,
    problems: [{ file, line: null, column: null, path: '', message: reason }],
    unresolved: [],
    interpolated: [],
    locate: () => null,
    locateKey: () => null,
    redact: (message) => message,
  };
}
