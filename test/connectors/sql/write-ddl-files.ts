/**
 * Writes the shipped DDL files (connectors/sql/ddl/, connectors/supabase/ddl/) from the code:
 *   npx tsc -p tsconfig.json && node dist/test/connectors/sql/write-ddl-files.js
 * ddl-files.test.ts fails while a file differs from what this writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shippedDdlFiles } from '../../../connectors/shared/sql-rows/ddl-files.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

for (const file of shippedDdlFiles()) {
  const path = join(root, file.path);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, file.content);
  console.log(`wrote ${file.path}`);
}
