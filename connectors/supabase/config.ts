import { z } from 'zod';
import { secretString } from '../../src/config/secret-schema.js';
import { identifierSchema, layoutSchema, tableNamesSchema, tableNames } from '../shared/sql-rows/config.js';
import { tableLayout, type TableLayout } from '../shared/sql-rows/tables.js';

/** The `config:` block of a `type: supabase` destination. */
export const supabaseConfigSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .refine((url) => {
        if (!URL.canParse(url)) return true; // reported by the url check itself
        const parsed = new URL(url);
        return parsed.username === '' && parsed.password === '';
      }, 'Put the key in serviceRoleKey, not in the URL.')
      .meta({ description: 'The project URL (Project Settings > API), e.g. https://abcd1234.supabase.co.', examples: ['https://abcd1234.supabase.co'] }),
    serviceRoleKey: secretString('The project\'s service-role key (Project Settings > API). It bypasses row level security; keep it server-side.', '${SUPABASE_SERVICE_ROLE_KEY}'),
    schema: layoutSchema,
    namespace: identifierSchema('The database schema the tables are in. It must be exposed to the API (Project Settings > API > Exposed schemas).', 'public').default('public'),
    tables: tableNamesSchema,
    timeoutMs: z.number().int().min(100).max(300_000).default(30_000).meta({ description: 'How long one API request may take before it counts as a timeout (retried). Milliseconds.', examples: [30_000] }),
    maxRowsPerRequest: z.number().int().min(1).max(5000).default(500).meta({ description: 'Most rows in one upsert request; a batch is split into requests of this size.', examples: [500] }),
  })
  .meta({ description: 'Settings of a Supabase destination: project URL and service-role key, table layout. See connectors/supabase/README.md.' });

export type SupabaseConfig = z.infer<typeof supabaseConfigSchema>;

/** The tables this destination writes. */
export function supabaseLayout(config: SupabaseConfig): TableLayout {
  return tableLayout({ layout: config.schema, namespace: config.namespace, tables: tableNames(config.tables) });
}
