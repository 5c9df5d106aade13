/**
 * The MongoDB server the MongoDB tests run against.
 *
 * No real MongoDB can be installed on these machines (shared/reference/local-services.md, section
 * 6), so by default the tests start the **mongodb-stand-in**: a small wire-protocol server
 * (test/support/mongodb-stand-in/) that speaks OP_MSG to the official driver unchanged and keeps
 * documents in memory. It implements only the commands the connector and its tests send, answers
 * any other command with CommandNotFound, and answers an upsert whose filter does not match but
 * whose `_id` exists with E11000, as a real server does. It is a stand-in, not MongoDB: no
 * replication, no real authentication (every SASL attempt fails with code 18), no sort, no
 * aggregation, no update operators.
 *
 * With `MONGODB_URL` set (e.g. `mongodb://127.0.0.1:27017`), the same test files run against that
 * real server instead; each file uses its own database(s), dropped at the end.
 */
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { uniqueName } from './kafka.js';
import { freePort, startServerProcess, useServer, type UsedServer } from './server-process.js';

export interface MongoStandIn {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const standInMain = fileURLToPath(new URL('./mongodb-stand-in/main.js', import.meta.url));

async function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts the mongodb-stand-in as a child process on 127.0.0.1 and a free port. */
export async function startMongoStandIn(): Promise<MongoStandIn> {
  const port = await freePort();
  const server = await startServerProcess({
    name: 'mongodb-stand-in',
    command: process.execPath,
    args: [standInMain, '--port', String(port)],
    ready: () => acceptsTcp(port),
    startTimeoutMs: 10_000,
  });
  return { url: `mongodb://127.0.0.1:${port}`, pid: server.pid, stop: () => server.stop() };
}

/** A MongoDB to test against: the stand-in, or the real server at MONGODB_URL. */
export interface MongoTarget {
  /** The connection string, without a database. */
  url: string;
  kind: 'stand-in' | 'real';
  /** A client of the test itself, for reading back what the connector wrote. */
  client: MongoClient;
  /** A new database name for this file; dropped by stop(). */
  database(prefix?: string): string;
  /** Drops the databases handed out, closes the client, stops the stand-in. */
  stop(): Promise<void>;
}

export async function startMongoTarget(): Promise<MongoTarget> {
  const realUrl = process.env['MONGODB_URL'];
  const standIn = realUrl === undefined || realUrl === '' ? await startMongoStandIn() : undefined;
  const url = standIn?.url ?? realUrl ?? '';
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
  const databases: string[] = [];
  return {
    url,
    kind: standIn === undefined ? 'real' : 'stand-in',
    client,
    database(prefix = 'tf') {
      const name = uniqueName(prefix).replace(/-/g, '_');
      databases.push(name);
      return name;
    },
    async stop() {
      try {
        for (const name of databases) await client.db(name).dropDatabase();
      } finally {
        await client.close();
        await standIn?.stop();
      }
    },
  };
}

/** A MongoTarget started in before() and stopped in after() of the calling file or suite. */
export function useMongoTarget(): UsedServer<MongoTarget> {
  return useServer(() => startMongoTarget());
}
