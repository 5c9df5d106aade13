import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import type { AcknowledgedProducer, OutboundMessage, TopicMessages } from '../kafka/kafka-client.js';

/**
 * Produces each accepted webhook and settles its promise only when Kafka acknowledged it.
 *
 * Requests that arrive while a produce request is in flight wait and go out together in the
 * next one (group commit), so the rate is not one round trip per webhook and an idle gateway
 * adds no linger. While Kafka is unreachable, requests are refused at once (`kafka_unavailable`)
 * instead of each waiting out its timeout, and a background loop reconnects; `ready` says which.
 */
export interface EventProducer {
  /**
   * Resolves once `message` is acknowledged by all in-sync replicas; rejects with a FanoutError
   * (`kafka_unavailable`, `kafka_message_too_large`, `kafka_refused`) within the produce timeout.
   */
  produce(topic: string, message: OutboundMessage): Promise<void>;
  /** True while connected to Kafka and the last produce did not fail. */
  readonly ready: boolean;
  /** Starts connecting in the background; until then `ready` is false. */
  start(): void;
  /** Refuses new produces, waits up to `timeoutMs` for the queued and in-flight ones, disconnects. */
  close(timeoutMs: number): Promise<void>;
}

export interface EventProducerOptions {
  produceTimeoutMs: number;
  logger: Logger;
  /** Called whenever `ready` may have changed (for a gauge). */
  onReadyChange?: (ready: boolean) => void;
  /** Most messages per produce request. Default 500. */
  maxBatchMessages?: number;
  /**
   * Most value bytes per produce request (a larger message goes alone). Default 512 KiB: Kafka's
   * max.message.bytes limits a whole record batch, and its default is about 1 MB.
   */
  maxBatchBytes?: number;
}

interface Pending {
  topic: string;
  message: OutboundMessage;
  bytes: number;
  deadline: number;
  /** Send in a request of its own: its batch was refused, and one message must not fail the others. */
  alone: boolean;
  resolve: () => void;
  reject: (error: FanoutError) => void;
}

/** Reconnect attempts back off from the first to the last delay. */
const RECONNECT_DELAYS_MS = [0, 250, 500, 1000, 2000, 5000];

/** Waits for `work` to settle, but no longer than `ms`; never rejects, leaves no timer behind. */
async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}

/** Messages grouped by topic, each topic's in arrival order. */
function byTopic(batch: readonly Pending[]): TopicMessages[] {
  const topics = new Map<string, OutboundMessage[]>();
  for (const entry of batch) {
    const messages = topics.get(entry.topic);
    if (messages === undefined) topics.set(entry.topic, [entry.message]);
    else messages.push(entry.message);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

export function createEventProducer(port: AcknowledgedProducer, options: EventProducerOptions): EventProducer {
  const { produceTimeoutMs, logger } = options;
  const maxBatchMessages = options.maxBatchMessages ?? 500;
  const maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
  const queue: Pending[] = [];
  let sending: Promise<void> | undefined;
  let reconnecting: Promise<void> | undefined;
  let started = false;
  let closed = false;
  let lastReady = false;
  /** Cuts the reconnect loop's back-off short on close. */
  const closing = new AbortController();

  const noteReady = (): void => {
    const ready = port.connected;
    if (ready === lastReady) return;
    lastReady = ready;
    options.onReadyChange?.(ready);
    if (ready) logger.info('Ingest producer connected to Kafka.');
  };

  const reconnect = (): void => {
    if (reconnecting !== undefined || closed || !started) return;
    reconnecting = (async () => {
      for (let attempt = 0; !closed && !port.connected; attempt += 1) {
        await delay(RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)] ?? 5000, undefined, { signal: closing.signal }).catch(() => undefined);
        if (closed) break;
        try {
          await port.connect(produceTimeoutMs);
        } catch (error) {
          const failure = toFanoutError(error);
          if (attempt === 0 || attempt % 10 === 0) logger.warn({ code: failure.code, attempt, err: failure }, 'Kafka is unreachable; ingest requests are answered 503 until it is back.');
        }
      }
    })().finally(() => {
      reconnecting = undefined;
      noteReady();
    });
  };

  const failAll = (entries: readonly Pending[], error: FanoutError): void => {
    for (const entry of entries) entry.reject(error);
  };

  const pump = (): void => {
    if (sending !== undefined || queue.length === 0) return;
    const now = Date.now();
    const batch: Pending[] = [];
    let bytes = 0;
    while (queue.length > 0 && batch.length < maxBatchMessages) {
      const next = queue[0];
      if (next === undefined || (batch.length > 0 && (next.alone || bytes + next.bytes > maxBatchBytes))) break;
      queue.shift();
      if (next.deadline <= now) {
        next.reject(new FanoutError('kafka_unavailable', `The event waited ${produceTimeoutMs} ms for Kafka without being sent.`, { detail: { timeoutMs: produceTimeoutMs } }));
        continue;
      }
      batch.push(next);
      bytes += next.bytes;
      if (next.alone) break;
    }
    if (batch.length === 0) return;
    const timeoutMs = Math.max(1, Math.min(...batch.map((entry) => entry.deadline)) - now);
    sending = port.send(byTopic(batch), timeoutMs).then(
      () => {
        for (const entry of batch) entry.resolve();
      },
      (error: unknown) => {
        const failure = toFanoutError(error);
        if (failure.code === 'kafka_unavailable') {
          // The next requests would meet the same broker: refuse them now rather than at their timeout.
          failAll(batch, failure);
          failAll(queue.splice(0), failure);
          reconnect();
        } else if (batch.length > 1) {
          // Refused for good (too large, not authorized...): find out which, one message per request.
          for (const entry of batch) entry.alone = true;
          queue.unshift(...batch);
        } else {
          failAll(batch, failure);
        }
      },
    );
    void sending.finally(() => {
      sending = undefined;
      noteReady();
      pump();
    });
  };

  return {
    get ready() {
      return !closed && port.connected;
    },
    start() {
      if (started) return;
      started = true;
      reconnect();
    },
    produce(topic, message) {
      if (closed) return Promise.reject(new FanoutError('ingest_overloaded', 'The gateway is shutting down.'));
      if (!port.connected) {
        reconnect();
        return Promise.reject(new FanoutError('kafka_unavailable', 'Kafka is not connected; reconnecting.'));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ topic, message, bytes: message.value?.length ?? 0, deadline: Date.now() + produceTimeoutMs, alone: false, resolve, reject });
        pump();
      });
    },
    async close(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (sending !== undefined && Date.now() < deadline) await waitAtMost(sending, deadline - Date.now());
      closed = true;
      closing.abort();
      failAll(queue.splice(0), new FanoutError('kafka_unavailable', 'The gateway stopped before this event was sent.'));
      if (reconnecting !== undefined) await waitAtMost(reconnecting, deadline - Date.now());
      await port.close(Math.max(0, deadline - Date.now()));
      noteReady();
    },
  };
}
