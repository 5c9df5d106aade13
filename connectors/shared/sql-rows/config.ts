/** Config fields the relational destinations (`sql`, `supabase`) share: layout and table names. */
import { z } from 'zod';
import { strictObject } from '../../../src/config/strict-object.js';
import { SQL_IDENTIFIER, defaultTableNames, type TableNames } from './tables.js';

const IDENTIFIER_RULE = 'expected a SQL identifier: a letter or _, then letters, digits or _, at most 63 characters';

export function identifierSchema(description: string, example: string) {
  return z.string().regex(SQL_IDENTIFIER, IDENTIFIER_RULE).meta({ description, examples: [example] });
}

export const layoutSchema = z
  .enum(['terra', 'typed'])
  .default('terra')
  .meta({
    description:
      'terra: Terra\'s tables (terra_users, terra_data_payloads, terra_other_payloads) with the payload JSON in each row. typed: the same, plus one table per common data type (activity, daily, sleep, body, nutrition) with the most queried fields as real columns beside the JSON; those types are written there instead of terra_data_payloads.',
    examples: ['terra', 'typed'],
  });

export const tableNamesSchema = strictObject({
    users: identifierSchema('Users table: one row per Terra user, with its lifecycle state.', defaultTableNames.users).default(defaultTableNames.users),
    dataPayloads: identifierSchema('Data table: one row per data record (activity, sleep, daily...).', defaultTableNames.dataPayloads).default(defaultTableNames.dataPayloads),
    otherPayloads: identifierSchema('Table for every other event (auth, deauth, user_reauth, Teams events...).', defaultTableNames.otherPayloads).default(defaultTableNames.otherPayloads),
    typedPrefix: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,40}$/, 'expected letters, digits or _, starting with a letter or _, at most 41 characters')
      .default(defaultTableNames.typedPrefix)
      .meta({ description: 'schema: typed only: typed tables are named <typedPrefix><data type>, e.g. terra_activity.', examples: [defaultTableNames.typedPrefix] }),
  })
  .prefault({})
  .meta({ description: 'Table names. Defaults are Terra\'s own.' });

export type TableNamesInput = z.output<typeof tableNamesSchema>;

/** The table names with typed input narrowed to the layout's interface. */
export function tableNames(input: TableNamesInput): TableNames {
  return { users: input.users, dataPayloads: input.dataPayloads, otherPayloads: input.otherPayloads, typedPrefix: input.typedPrefix };
}
