import { kafkaOutHeader } from '../../../connectors/kafka/encode.js';
import { uniqueName, type ConsumedMessage, type KafkaTestBroker } from '../../support/kafka.js';

/**
 * Reads messages from several topics through one new consumer group (one 3 s join on the mock)
 * until `expected` have arrived or `timeoutMs` passed; returns what arrived.
 */
export async function readTopics(broker: KafkaTestBroker, topics: readonly string[], expected: number, timeoutMs = 20_000): Promise<ConsumedMessage[]> {
  return broker.consumeAll(topics, { groupId: uniqueName('reader'), expected, timeoutMs });
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
