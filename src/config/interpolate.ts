import { type Document, type Node, type Pair, isPair, isScalar, isSeq, visit } from 'yaml';

/**
 * `${VAR}` and `${VAR:-default}` in YAML string values, resolved after parsing, so a variable
 * can never inject YAML structure. `$${` writes a literal `${`. `:-` uses the default when the
 * variable is unset or empty, as in the shell. Values are inserted as they are (never expanded
 * again) and the result is a string; where the schema wants a number or boolean, load-config
 * reads that string as one (coerce-interpolated.ts).
 */

export type Interpolated = { ok: true; value: string; substituted: string[] } | { ok: false; message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REFERENCE_RULE = 'expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)';

/** Resolves the references in one string. `substituted` holds the values taken from `env`. */
export function interpolateString(text: string, env: NodeJS.ProcessEnv): Interpolated {
  let value = '';
  const substituted: string[] = [];
  let index = 0;
  while (index < text.length) {
    const start = text.indexOf('$', index);
    if (start < 0) {
      value += text.slice(index);
      break;
    }
    value += text.slice(index, start);
    if (text.startsWith('$${', start)) {
      value += '${';
      index = start + 3;
      continue;
    }
    if (!text.startsWith('${', start)) {
      value += '$';
      index = start + 1;
      continue;
    }
    const end = text.indexOf('}', start + 2);
    if (end < 0) return { ok: false, message: `unclosed reference; ${REFERENCE_RULE}` };
    const body = text.slice(start + 2, end);
    const separator = body.indexOf(':-');
    const name = separator < 0 ? body : body.slice(0, separator);
    const fallback = separator < 0 ? undefined : body.slice(separator + 2);
    if (!NAME.test(name)) return { ok: false, message: `malformed reference; ${REFERENCE_RULE}` };
    if (fallback?.includes('${') === true) return { ok: false, message: `nested reference in the default of \${${name}}; ${REFERENCE_RULE}` };
    const fromEnv = env[name];
    if (fromEnv !== undefined && (fromEnv !== '' || fallback === undefined)) {
      value += fromEnv;
      substituted.push(fromEnv);
    } else if (fallback !== undefined) {
      value += fallback;
    } else {
      return { ok: false, message: `environment variable ${name} is not set; set it, or give a default with \${${name}:-default}` };
    }
    index = end + 1;
  }
  return { ok: true, value, substituted };
}

/** A reference that could not be resolved, at a value of the document. */
export interface InterpolationFailure {
  /** Path of the value in the document. */
  path: (string | number)[];
  /** Source offset of the value, when the node has one. */
  offset: number | null;
  message: string;
}

export interface DocumentInterpolation {
  failures: InterpolationFailure[];
  /** Paths of the values that had references and were resolved. */
  resolved: (string | number)[][];
  /** Every value taken from the environment, so callers can keep them out of messages. */
  substituted: string[];
}

/**
 * Resolves references in every string value of the document, in place. Map keys are left as
 * written. Every failure is reported, not only the first.
 */
export function interpolateDocument(document: Document, env: NodeJS.ProcessEnv): DocumentInterpolation {
  const failures: InterpolationFailure[] = [];
  const resolved: (string | number)[][] = [];
  const substituted: string[] = [];
  visit(document, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = interpolateString(node.value, env);
      if (result.ok) {
        if (result.value !== node.value) resolved.push(pathOf(ancestors, node));
        node.value = result.value;
        substituted.push(...result.substituted);
      } else {
        failures.push({ path: pathOf(ancestors, node), offset: node.range?.[0] ?? null, message: result.message });
      }
    },
  });
  return { failures, resolved, substituted };
}

/** The document path of `node`, from the visitor's ancestor chain (document, maps, pairs, sequences). */
function pathOf(ancestors: readonly (Document | Node | Pair)[], node: Node): (string | number)[] {
  const path: (string | number)[] = [];
  const chain: readonly (Document | Node | Pair)[] = [...ancestors, node];
  chain.forEach((ancestor, index) => {
    const child = chain[index + 1];
    if (child === undefined) return;
    if (isPair(ancestor)) {
      const key = ancestor.key;
      if (isScalar(key) && (typeof key.value === 'string' || typeof key.value === 'number')) path.push(key.value);
    } else if (isSeq(ancestor)) {
      path.push(ancestor.items.indexOf(child));
    }
  });
  return path;
}
