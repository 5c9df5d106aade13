import { kafkaOutHeader } from '../../../connectors/kafka/encode.js';
import { decodeHeaders, uniqueName, type ConsumedMessage, type KafkaTestBroker } from '../../support/kafka.js';

/**
 * Reads messages from several topics through one new consumer group (one 3 s join on the mock)
 * until `expected` have arrived or `timeoutMs` passed; returns what arrived.
 */
export async function readTopics(broker: KafkaTestBroker, topics: readonly string[], expected: number, timeoutMs = 20_000): Promise<ConsumedMessage[]> {
  const consumer = broker.consumer(uniqueName('reader'));
  const received: ConsumedMessage[] = [];
  let done = (): void => {};
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  const timer = setTimeout(done, timeoutMs);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        received.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers: decodeHeaders(message.headers),
        });
        if (received.length >= expected) done();
      },
    });
    await enough;
    return received;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** Per message key, the values of `pick` in partition order (offsets): what a consumer of each key sees. */
export function sequenceByKey(messages: readonly ConsumedMessage[], pick: (message: ConsumedMessage) => string = (message) => String(message.headers[kafkaOutHeader.recordIdentity])): Map<string, string[]> {
  const sorted = [...messages].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || Number(a.offset) - Number(b.offset));
  const byKey = new Map<string, string[]>();
  for (const message of sorted) {
    const key = message.key ?? '(none)';
    byKey.set(key, [...(byKey.get(key) ?? []), pick(message)]);
  }
  return byKey;
}
