import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { connectorRegistry } from '../../connectors/registry.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('connector READMEs', () => {
  for (const connector of connectorRegistry) {
    it(`${connector.type}: README lists every config field of the schema, and no others`, async () => {
      const readme = await readFile(`${root}connectors/${connector.type}/README.md`, 'utf8');
      const schema = z.toJSONSchema(connector.configSchema, { io: 'input' }) as { properties?: Record<string, unknown> };
      const fields = Object.keys(schema.properties ?? {}).sort();
      const documented = [...readme.matchAll(/^\| `([A-Za-z][A-Za-z0-9_]*)` \|/gm)].map((match) => match[1] ?? '').sort();
      assert.ok(fields.length > 0);
      assert.deepEqual(documented, fields, 'the README field table matches the zod schema');
    });
  }
});
