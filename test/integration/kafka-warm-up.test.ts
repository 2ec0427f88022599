import type { Admin } from 'kafkajs';
import { WARM_UP_TOPIC, warmBroker } from '../../infra/kafka/warm-up';
import { kafkaBrokers, kafkaClient, stackConfig } from './support/stack';

let admin: Admin;

beforeAll(async () => {
  admin = kafkaClient('warm-up-test').admin();
  await admin.connect();
});

afterAll(() => admin.disconnect());

async function leftovers(): Promise<string[]> {
  const [topics, { groups }] = await Promise.all([admin.listTopics(), admin.listGroups()]);
  return [...topics, ...groups.map((group) => group.groupId)].filter((name) => name.startsWith(WARM_UP_TOPIC));
}

describe("the broker's warm-up before the gateway opens", () => {
  it('left neither its topic nor its consumer group behind when the stack started', async () => {
    expect(await leftovers()).toEqual([]);
  });

  it('produces and consumes on its own topic, then deletes the topic and the group, the shop topics untouched', async () => {
    const shopTopics = (await admin.listTopics()).filter((topic) => topic !== WARM_UP_TOPIC).sort();

    const warmed = await warmBroker(kafkaBrokers[0]!, { durationMs: 1_500, partitions: stackConfig.kafkaPartitions });

    expect(warmed.produced).toBeGreaterThan(0);
    expect(warmed.consumed).toBeGreaterThan(0);
    expect(await leftovers()).toEqual([]);
    expect((await admin.listTopics()).sort()).toEqual(shopTopics);
  });

  it('uses, then deletes, the topic and a group that a start stopped while warming left behind', async () => {
    const staleGroup = `${WARM_UP_TOPIC}-1-1`;
    // A client of its own: one that has touched the topic keeps asking for its metadata after it is deleted.
    const interrupted = kafkaClient('warm-up-test-interrupted').admin();
    await interrupted.connect();
    try {
      await interrupted.createTopics({ topics: [{ topic: WARM_UP_TOPIC, numPartitions: 1 }], waitForLeaders: true });
      // Committed offsets with no member: what a consumer interrupted by Ctrl-C leaves.
      await interrupted.setOffsets({ groupId: staleGroup, topic: WARM_UP_TOPIC, partitions: [{ partition: 0, offset: '0' }] });
    } finally {
      await interrupted.disconnect();
    }
    expect(await leftovers()).toEqual(expect.arrayContaining([WARM_UP_TOPIC, staleGroup]));

    const warmed = await warmBroker(kafkaBrokers[0]!, { durationMs: 1_500, partitions: stackConfig.kafkaPartitions });

    expect(warmed.consumed).toBeGreaterThan(0);
    expect(await leftovers()).toEqual([]);
  });
});
