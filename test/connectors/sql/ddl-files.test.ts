import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { shippedDdlFiles } from '../../../connectors/shared/sql-rows/ddl-files.js';
import { ddlObjects, renderDdlFile } from '../../../connectors/shared/sql-rows/ddl.js';
import { defaultTableNames, tableLayout } from '../../../connectors/shared/sql-rows/tables.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const fix = 'run `npx tsc -p tsconfig.json && node dist/test/connectors/sql/write-ddl-files.js` and commit the result';

describe('shipped DDL files', () => {
  for (const file of shippedDdlFiles()) {
    it(`${file.path} is what autoCreate runs`, async () => {
      const onDisk = await readFile(join(root, file.path), 'utf8').catch(() => '(missing)');
      assert.ok(onDisk === file.content, `${file.path} differs from the code: ${fix}`);
    });
  }

  it('every .sql file in the ddl folders is one of the generated ones', async () => {
    const expected = new Set(shippedDdlFiles().map((file) => file.path));
    for (const folder of ['connectors/sql/ddl/postgres', 'connectors/sql/ddl/mysql', 'connectors/supabase/ddl']) {
      for (const name of await readdir(join(root, folder))) if (name.endsWith('.sql')) assert.ok(expected.has(`${folder}/${name}`), `${folder}/${name} is not generated`);
    }
  });

  it('the files hold the same statements the code creates, for every table of the typed layout', () => {
    const layout = tableLayout({ layout: 'typed', namespace: 'terra', tables: defaultTableNames });
    const objects = ddlObjects('postgres', layout.all);
    const [terraFile, typedFile] = shippedDdlFiles().filter((file) => file.path.startsWith('connectors/sql/ddl/postgres/'));
    for (const object of objects) {
      assert.ok(`${terraFile?.content}${typedFile?.content}`.includes(`${object.sql};`), `${object.kind} ${object.name} is in a shipped file`);
    }
    assert.match(renderDdlFile(['x'], objects), /^-- x\n\nCREATE SCHEMA IF NOT EXISTS "terra";\n\nCREATE TABLE IF NOT EXISTS "terra"\."terra_users"/);
  });

  it('MySQL indexes are created inline; the ALTER TABLE form is only for tables that lack them', () => {
    const objects = ddlObjects('mysql', tableLayout({ layout: 'terra', namespace: null, tables: defaultTableNames }).all);
    const index = objects.find((object) => object.kind === 'index');
    assert.equal(index?.inFile, false);
    assert.match(index?.sql ?? '', /^ALTER TABLE `terra_users` ADD INDEX `terra_users_reference_id_idx` \(`reference_id`\)$/);
    assert.match(objects.find((object) => object.name === 'terra_users')?.sql ?? '', /INDEX `terra_users_reference_id_idx` \(`reference_id`\)\n\) ENGINE=InnoDB/);
  });
});
