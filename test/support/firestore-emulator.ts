/**
 * Google's Cloud Firestore emulator (the gcloud component, a Java jar; see
 * shared/reference/local-services.md) on 127.0.0.1 and a free port, started straight from its jar
 * so the PID is the java process itself. Any project id works against it: give each test its own
 * (`projectId()`) instead of resetting between tests.
 *
 *   const emulator = useServer(() => startFirestoreEmulator());
 *   it('...', async () => { const projectId = emulator.current.projectId(); ... });
 */
import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { freePort, startServerProcess } from './server-process.js';

/** Where the apt package google-cloud-cli-firestore-emulator puts the jar; FIRESTORE_EMULATOR_JAR overrides. */
export const firestoreEmulatorJar =
  process.env['FIRESTORE_EMULATOR_JAR'] ?? '/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar';

export interface FirestoreEmulator {
  /** `127.0.0.1:<port>`, the destination's `emulatorHost`. */
  host: string;
  /** A fresh project id (`demo-<hex>`): an empty database for one test. */
  projectId(): string;
  /** A Firestore client on the emulator for reading back what tests wrote. Terminated by stop(). */
  reader(projectId: string, databaseId?: string): Firestore;
  /** Deletes every document of a project's database. */
  reset(projectId: string, databaseId?: string): Promise<void>;
  /** Terminates the readers, then stops the emulator. */
  stop(): Promise<void>;
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return (await response.text()).trim() === 'Ok';
  } catch {
    return false;
  }
}

export async function startFirestoreEmulator(): Promise<FirestoreEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'firestore-emulator',
    command: 'java',
    args: [
      '-Duser.language=en',
      '-cp',
      firestoreEmulatorJar,
      'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
      'start',
      '--host=127.0.0.1',
      `--port=${port}`,
      '--project_id=demo-terra-fanout',
    ],
    ready: () => answersOk(`http://${host}/`),
    startTimeoutMs: 60_000,
  });
  const readers: Firestore[] = [];
  return {
    host,
    projectId: () => `demo-${randomUUID().slice(0, 12)}`,
    reader(projectId, databaseId = '(default)') {
      const reader = new Firestore({ projectId, databaseId, host, ssl: false, preferRest: false, universeDomain: 'googleapis.com' });
      readers.push(reader);
      return reader;
    },
    async reset(projectId, databaseId = '(default)') {
      const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}/databases/${databaseId}/documents`, { method: 'DELETE' });
      if (!response.ok) throw new Error(`firestore emulator reset answered ${response.status}`);
    },
    async stop() {
      await Promise.all(readers.splice(0).map((reader) => reader.terminate()));
      await server.stop();
    },
  };
}
