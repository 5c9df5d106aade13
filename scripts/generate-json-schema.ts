import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateJsonSchemas } from '../src/config/json-schema.js';

/** Writes config/*.schema.json from the zod schemas. Run with `npm run schema`. */

const configDir = fileURLToPath(new URL('../../config/', import.meta.url));

for (const [name, text] of Object.entries(generateJsonSchemas())) {
  const path = join(configDir, name);
  await writeFile(path, text);
  console.log(`wrote ${path}`);
}
