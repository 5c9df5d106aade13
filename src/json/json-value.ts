/** Small helpers for parsed JSON and YAML values, shared by config loading and Terra decoding. */

/** A non-null, non-array object: what JSON.parse gives for `{...}`. */
export function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['destinations', 0, 'config', 'url']` -> `destinations[0].config.url`; odd keys are quoted; `[]` -> ``. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${typeof segment === 'string' ? JSON.stringify(segment) : String(segment)}]`;
  }
  return text;
}
