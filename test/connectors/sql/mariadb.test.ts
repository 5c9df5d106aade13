/** The sql destination (dialect mysql) against a real MariaDB started for this file (test/support/mariadb.ts). */
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { makeRecord } from '../../support/records.js';
import { useMariaDb } from '../../support/mariadb.js';
import { describeSqlDestination } from './sql-suite.js';

const mariadb = useMariaDb();

describeSqlDestination({
  dialect: 'mysql',
  server: mariadb,
  // user_id is VARCHAR(255): a longer one is refused in strict mode (ER_DATA_TOO_LONG).
  poison: () => makeRecord({ userId: 'u'.repeat(300), summaryId: 'poison' }),
  runSqlFile: async (url, sql) => {
    const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
  },
  userWithoutRights: async (url) => {
    const name = `no_rights_${randomUUID().slice(0, 8)}`;
    const database = new URL(url).pathname.slice(1);
    await mariadb.current.query(`CREATE USER '${name}'@'%' IDENTIFIED BY 'pw'`);
    await mariadb.current.query(`GRANT SELECT ON \`${database}\`.* TO '${name}'@'%'`);
    const parsed = new URL(url);
    parsed.username = name;
    parsed.password = 'pw';
    return parsed.toString();
  },
  lockRow: async (url, table, payloadId) => {
    const connection = await mysql.createConnection({ uri: url });
    await connection.beginTransaction();
    await connection.query(`SELECT 1 FROM \`${table}\` WHERE payload_id = ? FOR UPDATE`, [payloadId]);
    return async () => {
      await connection.rollback();
      await connection.end();
    };
  },
});
