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

/** A string holding a `${VAR}` reference: valid wherever a number or boolean is (load-config reads it as one). */
const REFERENCE = { type: 'string', pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}', description: 'A ${VAR} reference read as the number or boolean the field wants.' };

function render(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-07',
    override: ({ jsonSchema }) => {
      const type = jsonSchema.type;
      if (type !== 'number' && type !== 'integer' && type !== 'boolean') return;
      // { type, minimum, ... } becomes { anyOf: [{ type, minimum, ... }, REFERENCE] }, keeping the
      // documentation (description, examples, default) at the top for editors to show.
      const { description, examples, default: fallback, title, ...rules } = jsonSchema;
      for (const key of Object.keys(jsonSchema)) Reflect.deleteProperty(jsonSchema, key);
      Object.assign(jsonSchema, { ...(title === undefined ? {} : { title }), ...(description === undefined ? {} : { description }), anyOf: [rules, REFERENCE], ...(examples === undefined ? {} : { examples }), ...(fallback === undefined ? {} : { default: fallback }) });
    },
  });
  return `${JSON.stringify(json, null, 2)}\n`;
}
