import type { Logger } from 'pino';
import type { InboundMessage, KafkaClient } from '../kafka/kafka-client.js';

/**
 * Reads a dead-letter topic from where a consumer group stands up to the high watermarks seen at
 * start, then stops: records parked meanwhile (including those a redrive parks again) are left for
 * the next pass. With `commit`, the group's offset moves after each message is handled, so a pass
 * that is stopped or killed resumes after the last handled message; without it, nothing is
 * committed and the group (a throwaway one) leaves no trace.
 */
export interface ScanOptions {
  kafka: KafkaClient;
  topic: string;
  groupId: string;
  commit: boolean;
  logger: Logger;
  /** Stops the pass after the message being handled (SIGTERM, a cancelled job). */
  signal?: AbortSignal | undefined;
  /** Fails the pass when no message arrives for this long while some partition has not reached its end. */
  idleTimeoutMs: number;
}

export type HandleResult = 'continue' | 'stop';

/** Handles one dead letter. `heartbeat` keeps the group membership alive during a long handling. */
export type DeadLetterHandler = (message: InboundMessage, heartbeat: () => Promise<void>) => Promise<HandleResult>;

export interface ScanResult {
  /** Messages handed to the handler. */
  read: number;
  /** Why the pass ended. */
  ended: 'end_of_topic' | 'stopped' | 'aborted' | 'empty_topic';
}

const SCAN_LIMITS = { maxBytes: 8 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024 };

export class ScanError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScanError';
  }
}

function isUnknownTopic(error: unknown): boolean {
  return error instanceof Error && (error.name === 'KafkaJSUnknownTopicOrPartition' || /does not host this topic-partition|unknown topic/i.test(error.message));
}

/** The end of each partition (high watermark) and where the pass starts (committed offset or earliest). */
async function partitionRanges(options: ScanOptions): Promise<Map<number, { next: bigint; end: bigint }>> {
  const admin = options.kafka.createAdmin();
  try {
    let offsets;
    try {
      offsets = await admin.topicOffsets(options.topic);
    } catch (error) {
      if (isUnknownTopic(error)) return new Map();
      throw new ScanError(`Cannot read the offsets of dead-letter topic ${options.topic}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const committed = new Map<number, bigint>();
    if (options.commit) {
      for (const { partition, offset } of await admin.groupOffsets(options.groupId, [options.topic])) {
        if (/^\d+$/.test(offset)) committed.set(partition, BigInt(offset));
      }
    }
    const ranges = new Map<number, { next: bigint; end: bigint }>();
    for (const { partition, low, high } of offsets) {
      const start = committed.get(partition) ?? BigInt(low);
      const next = start < BigInt(low) ? BigInt(low) : start;
      if (next < BigInt(high)) ranges.set(partition, { next, end: BigInt(high) });
    }
    return ranges;
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export async function scanDeadLetters(options: ScanOptions, handle: DeadLetterHandler): Promise<ScanResult> {
  const ranges = await partitionRanges(options);
  if (ranges.size === 0) return { read: 0, ended: 'empty_topic' };
  if (options.signal?.aborted === true) return { read: 0, ended: 'aborted' };

  const consumer = options.kafka.createScanConsumer(options.groupId, options.topic, SCAN_LIMITS);
  const remaining = new Set(ranges.keys());
  // `handling` is true while a message is with the handler: the pass ends only after its commit.
  const state: { read: number; ended: ScanResult['ended'] | null; failure: Error | null; handling: boolean; lastActivityMs: number } = {
    read: 0,
    ended: null,
    failure: null,
    handling: false,
    lastActivityMs: Date.now(),
  };
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const over = (): boolean => state.ended !== null || state.failure !== null;
  const end = (why: ScanResult['ended'], error?: Error): void => {
    if (over()) return;
    if (error !== undefined) state.failure = error;
    else state.ended = why;
    if (!state.handling) finish();
  };
  const atEnd: Array<{ topic: string; partition: number }> = [];
  const partitionDone = (partition: number): void => {
    remaining.delete(partition);
    atEnd.push({ topic: options.topic, partition });
    consumer.setPaused({ all: false, partitions: [...atEnd] });
    if (remaining.size === 0) end('end_of_topic');
  };
  const onAbort = (): void => end('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const watchdog = setInterval(() => {
    if (!state.handling && Date.now() - state.lastActivityMs > options.idleTimeoutMs) {
      const partitions = [...remaining].sort((a, b) => a - b).join(', ');
      end('stopped', new ScanError(`Dead-letter topic ${options.topic}: partition(s) ${partitions} gave no message for ${options.idleTimeoutMs} ms before reaching the end seen at start.`));
    }
  }, Math.min(1000, options.idleTimeoutMs));
  consumer.onCrash((error) => end('stopped', new ScanError(`The dead-letter consumer failed: ${error.message}`, { cause: error })));

  try {
    await consumer.start(async (batch, controls) => {
      const range = ranges.get(batch.partition);
      for (const message of batch.messages) {
        if (over() || !controls.isActive()) return;
        const offset = BigInt(message.offset);
        if (range === undefined || offset >= range.end) {
          partitionDone(batch.partition);
          return;
        }
        if (offset < range.next) continue;
        state.handling = true;
        try {
          const result = await handle(message, () => controls.heartbeat());
          state.read += 1;
          if (result === 'stop') {
            end('stopped');
            return;
          }
          if (options.commit) await consumer.commit([{ topic: message.topic, partition: message.partition, offset: String(offset + 1n) }]);
          controls.resolveOffset(message.offset);
          range.next = offset + 1n;
        } catch (error) {
          end('stopped', error instanceof Error ? error : new Error(String(error)));
          return;
        } finally {
          state.handling = false;
          state.lastActivityMs = Date.now();
          if (over()) finish();
        }
        if (range.next >= range.end) {
          partitionDone(batch.partition);
          return;
        }
      }
    });
    await finished;
  } catch (error) {
    end('stopped', error instanceof Error ? error : new Error(String(error)));
  } finally {
    clearInterval(watchdog);
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.stop().catch((error: unknown) => options.logger.warn({ err: error }, 'Leaving the dead-letter consumer group failed.'));
  }
  if (state.failure !== null) throw state.failure;
  return { read: state.read, ended: state.ended ?? 'stopped' };
}
