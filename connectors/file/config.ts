import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { timeoutMsField } from '../shared/timeout-field.js';
import { keyPrefixSchema, keyTemplateSchema } from '../shared/object-key.js';

/** The `config:` block of a `type: file` destination. */
export const fileConfigSchema = strictObject({
  directory: z
    .string()
    .min(1)
    .meta({ description: 'Directory the files are written under. Created when missing; must be writable.', examples: ['./data/terra', '/var/lib/terra-fanout/out'] }),
  fsync: z
    .boolean()
    .default(true)
    .meta({
      description:
        'true: fsync each file and its folder before the record counts as written (survives power loss). false: the rename is still atomic for readers and safe across a process crash, and writes are much faster, but an operating-system crash can lose the last writes.',
      examples: [true, false],
    }),
  timeoutMs: timeoutMsField(
    'Longest time writing one batch of files (or the start-up probe) may take. On a file system that stops answering (a hung network mount) the batch fails as destination_timeout (retried) and none of its files is renamed into place later.', 30_000,
  ),
  prefix: keyPrefixSchema.optional(),
  keyTemplate: keyTemplateSchema.optional(),
  unit: z
    .enum(['record', 'event'])
    .default('record')
    .meta({
      description: 'record: one file per data item, as Terra stores data in buckets. event: one file per event exactly as received.',
      examples: ['record', 'event'],
    }),
}).meta({ description: 'Settings of a file destination: where files go and how they are named. See connectors/file/README.md.' });

export type FileConfig = z.infer<typeof fileConfigSchema>;
