import type { Logger } from 'pino';
import type { KafkaAdmin } from '../kafka/kafka-client.js';
import { GroupHasMembersError, type OffsetMove } from '../kafka/move-group-offsets.js';
import { LaneBusyError, type OffsetTarget } from './worker-control.js';

/**
 * Moves a lane's committed offsets on every partition of its topics to `target` (the earliest or
 * latest offset, or the first at or after a time). The lane must be stopped wherever it runs:
 * in this process (one worker) or in every worker process (`run --processes`, from the primary).
 * Throws LaneBusyError when the group still has members (another replica runs the lane), unless
 * `force`.
 */
export async function moveLaneOffsets(options: { admin: KafkaAdmin; lane: string; groupId: string; topics: readonly string[]; target: OffsetTarget; force: boolean; by: string; logger: Logger }): Promise<void> {
  const { admin, lane, groupId, force, by, logger } = options;
  const moves: OffsetMove[] = [];
  for (const topic of options.topics) for (const { partition, offset } of await offsetsFor(admin, topic, options.target)) moves.push({ topic, partition, offset });
  try {
    const { otherMembers } = await admin.moveGroupOffsets(groupId, moves, { force });
    logger.warn({ lane, by, moves, otherMembers }, 'Moved a lane\'s committed offsets.');
  } catch (error) {
    if (error instanceof GroupHasMembersError) throw new LaneBusyError(lane, error.otherMembers);
    throw error;
  }
}

async function offsetsFor(admin: KafkaAdmin, topic: string, target: OffsetTarget): Promise<Array<{ partition: number; offset: string }>> {
  if (target.to === 'time') return admin.offsetsAtTime(topic, target.timestampMs);
  const offsets = await admin.topicOffsets(topic);
  return offsets.map(({ partition, low, high }) => ({ partition, offset: target.to === 'earliest' ? low : high }));
}
