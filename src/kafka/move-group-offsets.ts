import { PartitionAssigners, type Kafka, type PartitionAssigner } from 'kafkajs';

/** One committed offset to set: the next offset the group will read from that partition. */
export interface OffsetMove {
  topic: string;
  partition: number;
  offset: string;
}

export interface MoveGroupOffsetsOptions {
  /** Commit even when other members are in the group (they may overwrite it with their own commits). */
  force: boolean;
  sessionTimeoutMs: number;
  /** Bound on joining the group and committing. */
  timeoutMs: number;
}

/** Raised when the group has members besides the one that joined to move the offsets. */
export class GroupHasMembersError extends Error {
  constructor(
    readonly groupId: string,
    readonly otherMembers: number,
  ) {
    super(`Consumer group ${groupId} has ${otherMembers} other member(s).`);
    this.name = 'GroupHasMembersError';
  }
}

/**
 * Moves a consumer group's committed offsets the way a member of the group would: join it (with
 * the assignor the lanes use, so a group that has members accepts the join), look at who else is
 * in it, commit, leave. Kafka's own tools use DescribeGroups and a commit with generation -1
 * instead; joining needs only the APIs every consumer uses, so it works on every broker the lanes
 * work on (the local mock broker has no DescribeGroups).
 *
 * Who else is in the group: when another member leads it, there is another member; when this one
 * leads, the assignor is handed every member. Joining makes the group rebalance once, which is why
 * the caller first drains its own lane and, without `force`, refuses when others are there.
 */
export async function moveGroupOffsets(kafka: Kafka, groupId: string, moves: readonly OffsetMove[], options: MoveGroupOffsetsOptions): Promise<{ otherMembers: number }> {
  const topics = [...new Set(moves.map((move) => move.topic))];
  if (topics.length === 0) return { otherMembers: 0 };
  let membersSeen = 0;
  const countingRoundRobin: PartitionAssigner = (config) => {
    const base = PartitionAssigners.roundRobin(config);
    return {
      ...base,
      async assign(group) {
        membersSeen = group.members.length;
        return base.assign(group);
      },
    };
  };
  const consumer = kafka.consumer({
    groupId,
    partitionAssigners: [countingRoundRobin],
    sessionTimeout: options.sessionTimeoutMs,
    allowAutoTopicCreation: false,
    retry: { retries: 2 },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Could not join consumer group ${groupId} within ${options.timeoutMs} ms to move its offsets.`)), options.timeoutMs);
  });
  try {
    const joined = new Promise<{ isLeader: boolean }>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => resolve({ isLeader: payload.isLeader }));
    });
    const crashed = new Promise<never>((_, reject) => {
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
    });
    // A crash after the last race (while leaving) is not this call's failure any more.
    crashed.catch(() => undefined);
    await Promise.race([consumer.connect(), timedOut]);
    await consumer.subscribe({ topics });
    // Nothing is processed and nothing is committed by run() itself: the batches it may fetch
    // before the pause takes effect are left unresolved.
    await Promise.race([consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined }), timedOut]);
    consumer.pause(topics.map((topic) => ({ topic })));
    const { isLeader } = await Promise.race([joined, crashed, timedOut]);
    // Not the leader: at least the leader is another member (how many more, only it knows).
    const otherMembers = isLeader ? Math.max(0, membersSeen - 1) : Math.max(1, membersSeen - 1);
    if (otherMembers > 0 && !options.force) throw new GroupHasMembersError(groupId, otherMembers);
    await Promise.race([consumer.commitOffsets(moves.map(({ topic, partition, offset }) => ({ topic, partition, offset }))), crashed, timedOut]);
    return { otherMembers };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
}
