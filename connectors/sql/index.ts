import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { recordLocation } from '../shared/sql-rows/encode-rows.js';
import { createSqlClient, type SqlPort } from './client.js';
import { sqlConfigSchema, sqlLayout, type SqlConfig } from './config.js';
import { createSqlDestination } from './destination.js';
import { createMemorySqlPort } from './memory-client.js';

/** `type: sql`: one row per record in PostgreSQL, MySQL or MariaDB, newest copy wins. */
export const sqlConnector: ConnectorDefinition<SqlConfig, SqlPort> = {
  type: 'sql',
  description:
    'Upserts each record into PostgreSQL, MySQL or MariaDB tables laid out like Terra\'s SQL destination (terra_users, terra_data_payloads, terra_other_payloads), with the payload in the row and the newest copy winning.',
  configSchema: sqlConfigSchema,
  unit: () => 'record',
  locate: (config, record) => recordLocation(sqlLayout(config), record),
  createClient: (config) => createSqlClient(config),
  createDestination: (config, client, context) => createSqlDestination(config, client, context),
  contract: {
    exampleConfig: () =>
      sqlConfigSchema.parse({
        dialect: 'postgres',
        url: 'postgres://terra@127.0.0.1:5432/contract-db',
        password: 'contract-db-password',
        schema: 'typed',
      }),
    memoryPort: (config) => createMemorySqlPort(config),
  },
};
