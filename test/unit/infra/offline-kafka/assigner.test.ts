import { AssignerProtocol, type Cluster } from 'kafkajs';
import { ASSIGNER_NAME, activeMembersAssigner, chooseActiveMembers, spreadPartitions } from '../../../../infra/offline-kafka/assigner';

const members = (...instances: string[]) => instances.map((instance, index) => ({ memberId: `member-${index}`, instance }));

describe('chooseActiveMembers', () => {
  it('gives a group to one member by default, the same one whatever order the members joined in', () => {
    const joined = members('offline-0', 'offline-1', 'offline-2');
    const chosen = chooseActiveMembers('shop-local-orderResults', joined, 1);
    expect(chosen).toHaveLength(1);
    expect(chooseActiveMembers('shop-local-orderResults', [...joined].reverse(), 1)).toEqual(chosen);
  });

  it('spreads different groups over the instances', () => {
    const joined = members('offline-0', 'offline-1');
    const groups = ['orderResults', 'stockInstructions', 'paymentInstructions', 'kafkaProbe'].map((name) => `shop-local-${name}`);
    const owners = new Set(groups.map((group) => chooseActiveMembers(group, joined, 1)[0]));
    expect(owners).toEqual(new Set(['member-0', 'member-1']));
  });

  it('hands the group to a survivor when its member is gone', () => {
    const joined = members('offline-0', 'offline-1');
    const [owner] = chooseActiveMembers('shop-local-stockInstructions', joined, 1);
    const survivors = joined.filter((member) => member.memberId !== owner);
    expect(chooseActiveMembers('shop-local-stockInstructions', survivors, 1)).toEqual([survivors[0]!.memberId]);
  });

  it('leaves the group with the member that holds it when its preferred instance comes back (restarted, still cold)', () => {
    const joined = members('offline-0', 'offline-1');
    const [preferred] = chooseActiveMembers('shop-local-stockInstructions', joined, 1);
    const holder = joined.find((member) => member.memberId !== preferred)!;
    const withHolder = joined.map((member) => (member === holder ? { ...member, ownedSince: 1_000 } : member));
    expect(chooseActiveMembers('shop-local-stockInstructions', withHolder, 1)).toEqual([holder.memberId]);
  });

  it('prefers the most recent holder: a member that froze and came back holds an older claim than the one that took over', () => {
    const [stale, current] = members('offline-0', 'offline-1');
    const joined = [
      { ...stale!, ownedSince: 1_000 },
      { ...current!, ownedSince: 5_000 },
    ];
    expect(chooseActiveMembers('shop-local-stockInstructions', joined, 1)).toEqual([current!.memberId]);
    expect(chooseActiveMembers('shop-local-orderResults', joined, 1)).toEqual([current!.memberId]);
  });

  it('takes as many members as asked for, never more than there are, and at least one', () => {
    const joined = members('offline-0', 'offline-1', 'offline-2');
    expect(chooseActiveMembers('g', joined, 2)).toHaveLength(2);
    expect(new Set(chooseActiveMembers('g', joined, 5))).toEqual(new Set(['member-0', 'member-1', 'member-2']));
    expect(chooseActiveMembers('g', joined, 0)).toHaveLength(1);
    expect(chooseActiveMembers('g', [], 1)).toEqual([]);
  });
});

describe('spreadPartitions', () => {
  it('gives every partition to exactly one chosen member, round robin', () => {
    const partitions = [0, 1, 2, 3, 4].map((partition) => ({ topic: 't', partition }));
    expect(spreadPartitions(['a'], partitions)).toEqual(new Map([['a', { t: [0, 1, 2, 3, 4] }]]));
    expect(spreadPartitions(['a', 'b'], partitions)).toEqual(
      new Map([
        ['a', { t: [0, 2, 4] }],
        ['b', { t: [1, 3] }],
      ]),
    );
  });
});

describe('activeMembersAssigner', () => {
  const cluster = { findTopicPartitionMetadata: () => [0, 1, 2, 3].map((partitionId) => ({ partitionId })) } as unknown as Cluster;
  const assignerOf = (instance: string) =>
    activeMembersAssigner(instance, 1)({ cluster, groupId: 'shop-local-orderResults', logger: undefined as never });

  it('declares its instance when joining, and as the leader gives all partitions to one member and none to the others', async () => {
    const joined = ['offline-0', 'offline-1'].map((instance, index) => ({
      memberId: `member-${index}`,
      memberMetadata: assignerOf(instance).protocol({ topics: ['t'] }).metadata,
    }));
    const leader = assignerOf('offline-1');
    expect(leader.name).toBe(ASSIGNER_NAME);
    const assignments = (await leader.assign({ members: joined, topics: ['t'] })).map(({ memberId, memberAssignment }) => ({
      memberId,
      partitions: AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment.t ?? [],
    }));
    expect(assignments).toHaveLength(2);
    const [owner] = chooseActiveMembers('shop-local-orderResults', members('offline-0', 'offline-1'), 1);
    for (const { memberId, partitions } of assignments) expect(partitions).toEqual(memberId === owner ? [0, 1, 2, 3] : []);
  });

  it('tells the leader since when a member holds partitions, and the leader leaves them there', async () => {
    const [preferred] = chooseActiveMembers('shop-local-orderResults', members('offline-0', 'offline-1'), 1);
    const holderInstance = preferred === 'member-0' ? 'offline-1' : 'offline-0';
    const joined = ['offline-0', 'offline-1'].map((instance, index) => ({
      memberId: `member-${index}`,
      memberMetadata: activeMembersAssigner(instance, 1, () => (instance === holderInstance ? 1_000 : undefined))({
        cluster,
        groupId: 'shop-local-orderResults',
        logger: undefined as never,
      }).protocol({ topics: ['t'] }).metadata,
    }));
    const assignments = await assignerOf('offline-0').assign({ members: joined, topics: ['t'] });
    const holder = `member-${holderInstance === 'offline-0' ? 0 : 1}`;
    for (const { memberId, memberAssignment } of assignments) {
      expect({ memberId, partitions: AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment.t ?? [] }).toEqual({
        memberId,
        partitions: memberId === holder ? [0, 1, 2, 3] : [],
      });
    }
  });

  it('ranks a member whose metadata carries no instance as an instance of its own', async () => {
    const silent = {
      memberId: 'member-x',
      memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['t'], userData: Buffer.from('not json') }),
    };
    const assignments = await assignerOf('offline-0').assign({ members: [silent], topics: ['t'] });
    expect(AssignerProtocol.MemberAssignment.decode(assignments[0]!.memberAssignment)?.assignment.t).toEqual([0, 1, 2, 3]);
  });
});
