import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { recordLocation } from '../shared/sql-rows/encode-rows.js';
import { createSupabaseClients, type SupabaseClients } from './client.js';
import { supabaseConfigSchema, supabaseLayout, type SupabaseConfig } from './config.js';
import { createSupabaseDestination } from './destination.js';
import { createMemorySupabasePort } from './memory-client.js';

/** `type: supabase`: the same rows as `sql`, through Supabase's API with the service-role key. */
export const supabaseConnector: ConnectorDefinition<SupabaseConfig, SupabaseClients> = {
  type: 'supabase',
  description:
    'Upserts each record into a Supabase project\'s tables through its API (supabase-js, service-role key), laid out like Terra\'s Supabase destination with the payload in the row and the newest copy winning; optionally also stores each payload in a Storage bucket through its S3 endpoint.',
  configSchema: supabaseConfigSchema,
  unit: () => 'record',
  locate: (config, record) => recordLocation(supabaseLayout(config), record),
  createClient: (config, context) => createSupabaseClients(config, context),
  createDestination: (config, client, context) => createSupabaseDestination(config, client, context),
  contract: {
    exampleConfig: () =>
      supabaseConfigSchema.parse({
        url: 'https://contract-project.supabase.co',
        serviceRoleKey: 'contract-service-role-key',
        schema: 'typed',
        storage: { region: 'eu-central-1', credentials: { accessKeyId: 'contract-storage-key-id', secretAccessKey: 'contract-storage-secret-key' } },
      }),
    memoryPort: (config) => createMemorySupabasePort(config),
  },
};
