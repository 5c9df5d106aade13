import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupHasMembersError, moveGroupOffsets } from '../../src/kafka/move-group-offsets.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { waitFor } from '../support/worker-files.js';

const kafka = useKafkaBroker();
const options = { sessionTimeoutMs: 6_000, timeoutMs: 60_000 };

async function committed(groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = kafka.client().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((offsets?.partitions ?? []).map(({ partition, offset }) => [partition, offset]));
  } finally {
    await admin.disconnect();
  }
}

describe('moveGroupOffsets against the local broker (it has no DescribeGroups: membership is read by joining)', () => {
  it('commits the offsets of an empty group, and a consumer of the group then starts there', async () => {
    const topic = uniqueName('move');
    const groupId = uniqueName('group');
    await kafka.produce(topic, Array.from({ length: 10 }, (_, index) => ({ key: 'k', value: `m${index}`, partition: 0 })));
    const moved = await moveGroupOffsets(kafka.client(), groupId, [{ topic, partition: 0, offset: '7' }], { ...options, force: false });
    assert.equal(moved.otherMembers, 0);
    assert.equal((await committed(groupId, topic)).get(0), '7');
    const read = await kafka.consumeAll(topic, { groupId, expected: 3, timeoutMs: 60_000 });
    assert.deepEqual(read.filter((message) => message.partition === 0).map((message) => message.value), ['m7', 'm8', 'm9']);
  });

  it('refuses while another member is in the group and leaves its offsets alone; force commits anyway', async () => {
    const topic = uniqueName('move-busy');
    const groupId = uniqueName('group');
    await kafka.produce(topic, Array.from({ length: 4 }, (_, index) => ({ key: 'k', value: `m${index}`, partition: 0 })));
    const member = kafka.consumer(groupId);
    let joined = false;
    member.on(member.events.GROUP_JOIN, () => {
      joined = true;
    });
    await member.connect();
    try {
      await member.subscribe({ topics: [topic], fromBeginning: true });
      await member.run({ autoCommit: false, eachMessage: async () => undefined });
      assert.ok(await waitFor(() => joined, 60_000), 'the other member joined');
      await assert.rejects(moveGroupOffsets(kafka.client(), groupId, [{ topic, partition: 0, offset: '3' }], { ...options, force: false }), (error: unknown) => {
        assert.ok(error instanceof GroupHasMembersError);
        assert.ok(error.otherMembers >= 1);
        return true;
      });
      assert.notEqual((await committed(groupId, topic)).get(0), '3', 'nothing was committed');
      const forced = await moveGroupOffsets(kafka.client(), groupId, [{ topic, partition: 0, offset: '3' }], { ...options, force: true });
      assert.ok(forced.otherMembers >= 1);
      assert.equal((await committed(groupId, topic)).get(0), '3');
    } finally {
      await member.disconnect();
    }
  });
});
