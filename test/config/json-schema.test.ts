import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectorRegistry } from '../../connectors/registry.js';
import { generateJsonSchemas } from '../../src/config/json-schema.js';
import { repoRoot } from './config-files.js';

const generated = generateJsonSchemas();

/** Every property schema in a JSON Schema, with its path, however deeply nested. */
function properties(schema: unknown, path = '#'): { path: string; schema: unknown }[] {
  if (typeof schema !== 'object' || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap((item, index) => properties(item, `${path}[${index}]`));
  const found: { path: string; schema: unknown }[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      for (const [name, property] of Object.entries(value)) {
        found.push({ path: `${path}.${name}`, schema: property });
        found.push(...properties(property, `${path}.${name}`));
      }
    } else if (key !== 'examples' && key !== 'default' && key !== 'enum' && key !== 'const') {
      found.push(...properties(value, `${path}/${key}`));
    }
  }
  return found;
}

function hasDescription(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const description: unknown = Reflect.get(schema, 'description');
  return typeof description === 'string' && description.trim() !== '';
}

describe('generated JSON Schema', () => {
  for (const [name, text] of Object.entries(generated)) {
    it(`config/${name} is fresh`, async () => {
      const onDisk = await readFile(join(repoRoot, 'config', name), 'utf8').catch(() => '(missing)');
      assert.ok(onDisk === text, `config/${name} is stale: run \`npm run schema\` and commit the result`);
    });

    it(`every property in ${name} has a description`, () => {
      const schema: unknown = JSON.parse(text);
      const all = properties(schema);
      assert.ok(all.length > 10, 'expected to find the properties');
      const missing = all.filter((property) => !hasDescription(property.schema)).map((property) => property.path);
      assert.deepEqual(missing, [], `properties without a description (add .meta({ description, examples })):\n${missing.join('\n')}`);
    });
  }

  it('describes YAML as written: byte sizes with units, one schema per connector type', () => {
    const worker = JSON.stringify(JSON.parse(generated['worker.schema.json']));
    assert.match(worker, /"default":"256MiB"/);
    const tenant = JSON.stringify(JSON.parse(generated['tenant.schema.json']));
    for (const connector of connectorRegistry) assert.ok(tenant.includes(`"const":"${connector.type}"`), `no schema for ${connector.type}`);
  });
});
