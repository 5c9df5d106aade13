/**
 * Builds test/fixtures/terra/openapi-examples/<type>.json: one Terra data event per type the FHIR
 * and FIT formats map (activity, body, daily, sleep), every field filled from the `examples` Terra
 * publishes in its OpenAPI schemas (tryterra/openapi `schemas/`, Apache-2.0; a copy is in
 * shared/reference/terra-openapi/). The format tests encode and validate these as "Terra's
 * published examples". Run after the schemas change:
 *   npm run build && node dist/scripts/generate-openapi-examples.js <path to schemas/>
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

type Schema = Readonly<Record<string, unknown>>;

const schemasDir = process.argv[2];
if (schemasDir === undefined) throw new Error('usage: generate-openapi-examples <schemas dir>');
const outDir = fileURLToPath(new URL('../../test/fixtures/terra/openapi-examples/', import.meta.url));
const MAX_DEPTH = 12;

function load(file: string): Schema {
  return parse(readFileSync(join(schemasDir ?? '', file), 'utf8')) as Schema;
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An example value for a schema: its first published example, else one built from its parts. */
function example(schema: Schema, depth: number, inherited?: unknown): unknown {
  if (depth > MAX_DEPTH) return undefined;
  const ref = schema['$ref'];
  // Local refs (#/$defs/RecordFloat: free-form maps) get an empty object; file refs are followed.
  if (typeof ref === 'string') return ref.startsWith('#') ? {} : example(load(ref), depth + 1, inherited);
  const examples = schema['examples'];
  if (Array.isArray(examples) && examples.length > 0 && schema['properties'] === undefined) return examples[0];
  if ('const' in schema) return schema['const'];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    const branch = branches.find((candidate) => isSchema(candidate) && candidate['type'] !== 'null');
    if (isSchema(branch)) return example(branch, depth + 1, inherited ?? (Array.isArray(examples) ? examples[0] : undefined));
  }
  if (inherited !== undefined) return inherited;
  const properties = schema['properties'];
  if (isSchema(properties)) {
    const result: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(properties)) {
      if (!isSchema(property)) continue;
      const value = example(property, depth + 1);
      if (value !== undefined) result[name] = value;
    }
    return result;
  }
  const items = schema['items'];
  if (schema['type'] === 'array' && isSchema(items)) {
    const first = example(items, depth + 1);
    return first === undefined ? [] : [first];
  }
  return undefined;
}

mkdirSync(outDir, { recursive: true });
const user = example(load('TerraUser.yaml'), 0);
for (const [type, file] of [
  ['activity', 'Activity.yaml'],
  ['body', 'Body.yaml'],
  ['daily', 'Daily.yaml'],
  ['sleep', 'Sleep.yaml'],
] as const) {
  const event = { type, user, version: '2022-03-16', data: [example(load(file), 0)] };
  writeFileSync(join(outDir, `${type}.json`), `${JSON.stringify(event, null, 2)}\n`);
  process.stdout.write(`${type}.json\n`);
}
