import { startFirestoreEmulator } from '../../test/support/firestore-emulator.js';
import type { BenchTarget } from '../bench-target.js';

/**
 * `lane -> firestore (emulator), newest wins`: starts Google's Firestore emulator on 127.0.0.1
 * (see test/support/firestore-emulator.ts) and runs the default mode: transactions of 500 documents
 * that read each stored ordering timestamp before writing. Counts the activity documents. The
 * emulator is one local JVM with pessimistic locks, so the figure is the lane's, the SDK's and the
 * emulator's cost, not Firestore's latency or its write limits.
 */
export async function startFirestoreBenchTarget(): Promise<BenchTarget> {
  const emulator = await startFirestoreEmulator();
  const projectId = emulator.projectId();
  return {
    label: 'lane -> firestore (emulator), newest wins',
    destination: {
      type: 'firestore',
      config: { projectId, emulatorHost: emulator.host, newestWins: true, maxBatchWrites: 500, concurrency: 4 },
      batch: { maxRecords: 1000, lingerMs: 100 },
    },
    async count() {
      const result = await emulator.reader(projectId).collection('terra/2022-03-16/activity').count().get();
      return result.data().count;
    },
    stop: () => emulator.stop(),
  };
}
