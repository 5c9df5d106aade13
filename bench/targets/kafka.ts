import type { BenchTarget } from '../bench-target.js';
import { startKafkaTestBroker, uniqueName } from '../../test/support/kafka.js';

/** Partitions of the output topic: the mock keeps 5 MiB per partition, so 64 hold 320 MiB. */
const OUTPUT_PARTITIONS = 64;

/**
 * Kafka out: a lane producing to its own local Kafka-protocol broker (a second librdkafka mock
 * cluster, one broker), with the destination's defaults: acks=all, idempotent producer, keyed by
 * user id, inline payloads, no compression. `count()` sums the output topic's high watermarks
 * (every message appended, even once the mock's retention dropped it).
 */
export async function startKafkaBenchTarget(): Promise<BenchTarget> {
  const topic = uniqueName('bench-out');
  const broker = await startKafkaTestBroker({ brokers: 1, topics: [{ name: topic, partitions: OUTPUT_PARTITIONS }] });
  const admin = broker.client('terra-fanout-bench-count').admin();
  let connected = false;
  return {
    label: 'lane -> kafka (own mock cluster), acks=all, idempotent, key user_id',
    destination: {
      type: 'kafka',
      config: { brokers: broker.brokers, topic, healthcheckTopic: `${topic}.health` },
      batch: { maxRecords: 1000, lingerMs: 50 },
    },
    async count() {
      if (!connected) {
        await admin.connect();
        connected = true;
      }
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
    },
    async stop() {
      if (connected) await admin.disconnect();
      await broker.stop();
    },
  };
}
