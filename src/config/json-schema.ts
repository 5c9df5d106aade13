import { z } from 'zod';
import { tenantConfigSchema } from './tenant-schema.js';
import { workerConfigSchema } from './worker-schema.js';

/**
 * The JSON Schema files in config/, generated from the zod schemas (the input side, as
 * written in YAML) for editors. `npm run schema` writes them; a test checks they are fresh.
 * Draft-07, which YAML editors support best.
 */
export function generateJsonSchemas(): Record<'worker.schema.json' | 'tenant.schema.json', string> {
  return {
    'worker.schema.json': render(workerConfigSchema),
    'tenant.schema.json': render(tenantConfigSchema),
  };
}

function render(schema: z.ZodType): string {
  return `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', target: 'draft-07' }), null, 2)}\n`;
}
