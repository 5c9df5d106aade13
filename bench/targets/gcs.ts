/**
 * Benchmark target for the GCS destination: ndjson+gzip batches into a bucket on the Firebase
 * Storage emulator's GCS JSON API (test/support/gcs-emulator.ts), the data-lake setup. Figures
 * measure terra-fanout and the emulator on one machine, not GCS.
 */
import { gunzipSync } from 'node:zlib';
import { Storage } from '@google-cloud/storage';
import { startGcsEmulator } from '../../test/support/gcs-emulator.js';
import type { BenchTarget } from '../bench-target.js';

export async function startGcsBenchTarget(): Promise<BenchTarget> {
  const emulator = await startGcsEmulator();
  const bucket = `bench-gcs-${process.pid}`;
  const storage = new Storage({ apiEndpoint: emulator.endpoint, projectId: 'demo-terra-fanout', retryOptions: { autoRetry: false } });
  return {
    label: 'lane -> gcs (emulator), ndjson+gzip',
    destination: {
      type: 'gcs',
      config: { bucket, apiEndpoint: emulator.endpoint, format: 'ndjson', gzip: true, concurrency: 8 },
      batch: { maxRecords: 1000, lingerMs: 50 },
    },
    async count() {
      const [files] = await storage.bucket(bucket).getFiles();
      let lines = 0;
      for (const file of files) {
        const [raw] = await file.download({ decompress: false });
        for (const byte of gunzipSync(raw)) if (byte === 0x0a) lines += 1;
      }
      return lines;
    },
    stop: () => emulator.stop(),
  };
}
