/**
 * Benchmark target for the MongoDB destination: the mongodb-stand-in (an in-memory wire-protocol
 * server, so the figure is the lane, the connector and the driver, not a real storage engine), or
 * the real MongoDB at MONGODB_URL. Each run writes to its own database, dropped by stop().
 */
import { startMongoTarget } from '../../test/support/mongodb-stand-in.js';
import type { BenchTarget } from '../bench-target.js';

export async function startMongodbBenchTarget(): Promise<BenchTarget> {
  const target = await startMongoTarget();
  const database = target.database('tf_bench');
  return {
    label: `lane -> mongodb (${target.kind})`,
    destination: { type: 'mongodb', config: { url: target.url, database, writeConcern: { w: 1 } }, batch: { maxRecords: 1000 } },
    count: () => target.client.db(database).collection('activity').estimatedDocumentCount(),
    stop: () => target.stop(),
  };
}
