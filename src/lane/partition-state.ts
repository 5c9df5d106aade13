import type { InboundMessage } from '../kafka/kafka-client.js';

/** A message a lane has taken from Kafka, with the bytes it holds in the budgets. */
export interface HeldMessage {
  message: InboundMessage;
  bytes: number;
}

/**
 * What a lane knows about one assigned partition. Messages of a partition are settled in offset
 * order; while one of them waits for its `s3_payload` to be fetched (`fetching`), later ones of
 * the same partition queue in `backlog`, and every other partition keeps flowing.
 */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The next offset this lane has not taken yet; null before the first message. */
  nextOffset: bigint | null = null;
  /** The offset this lane last committed (the next to read); null until it commits. */
  committed: bigint | null = null;
  /** Last high watermark seen (from a fetched batch or the lag timer). */
  highWatermark: bigint | null = null;
  /** The message whose pointer is being fetched (or retried); later messages wait in `backlog`. */
  fetching: HeldMessage | null = null;
  readonly backlog: HeldMessage[] = [];
  /** True while the lane paused this partition in Kafka because its pointer fetch is retrying. */
  pausedForRetry = false;
  /** False once the partition was revoked: its fetch and backlog are abandoned. */
  assigned = true;
  /** When the lane last saw this partition with nothing uncommitted. */
  lastCaughtUpMs: number;

  constructor(topic: string, partition: number, nowMs: number) {
    this.topic = topic;
    this.partition = partition;
    this.lastCaughtUpMs = nowMs;
  }

  get blocked(): boolean {
    return this.fetching !== null || this.backlog.length > 0;
  }
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
