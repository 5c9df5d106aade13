import { gunzipSync } from 'node:zlib';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../../test/support/azurite.js';
import type { BenchTarget } from '../bench-target.js';

const CONTAINER = 'terra-bench';

/**
 * `lane -> azure_blob (Azurite), ndjson+gzip`: starts Azurite in memory on 127.0.0.1 (see
 * test/support/azurite.ts), creates the container, and counts delivered records as the lines of
 * every ndjson blob. Azurite keeps blobs in this machine's memory, so the figure is the lane's and
 * the SDK's cost plus a local HTTP round trip per blob, not Azure's latency.
 */
export async function startAzureBlobBenchTarget(): Promise<BenchTarget> {
  const azurite = await startAzurite();
  try {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(CONTAINER);
    await container.create();
    return {
      label: 'lane -> azure_blob (Azurite), ndjson+gzip',
      destination: {
        type: 'azure_blob',
        config: { container: CONTAINER, connectionString: azurite.connectionString, format: 'ndjson', gzip: true, prefix: 'bench' },
        batch: { maxRecords: 2000, maxBytes: '8MiB', lingerMs: 200 },
      },
      async count() {
        let lines = 0;
        for await (const blob of container.listBlobsFlat({ prefix: 'bench/' })) {
          const text = gunzipSync(await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
          lines += text.split('\n').filter((line) => line !== '').length;
        }
        return lines;
      },
      stop: () => azurite.stop(),
    };
  } catch (error) {
    await azurite.stop();
    throw error;
  }
}
