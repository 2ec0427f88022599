/**
 * Which members of a consumer group get its partitions. On AWS an event source mapping has one
 * poller that fetches a topic's partitions and invokes whichever function instance is free; here
 * every serverless-offline instance is a member of every group, and kafkajs' round robin would
 * give each a share of every topic. On a small machine that doubles the fetches, heartbeats and
 * offset commits and halves every batch, so each group's partitions go to a few members only
 * (one by default) and the others stand by: when an active member leaves or dies, the rebalance
 * that follows hands its partitions to one of them. Different groups prefer different instances,
 * so the work of several event sources still spreads over the instances.
 */
import { AssignerProtocol, type Assigner, type GroupMember, type PartitionAssigner } from 'kafkajs';

export const ASSIGNER_NAME = 'OfflineKafkaActiveMembers';

/** What a member tells the group's leader about itself when it joins. */
export interface MemberInfo {
  readonly memberId: string;
  /** The process the member lives in; members of one instance rank together. */
  readonly instance: string;
  /** Since when (ms since the epoch) the member has held partitions of the group, if it does. */
  readonly ownedSince?: number;
}

/** A stable number for a text (FNV-1a, 32 bits): the same group prefers the same instance on every rebalance. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/**
 * The members that get partitions, at most `count` of them. Those that hold partitions keep them,
 * the most recent holder first (one that froze and came back after its partitions moved holds an
 * older claim than the member that took them over): a rebalance then moves nothing, and an
 * instance that restarts stands by instead of taking its groups back while still cold. Otherwise
 * instances in name order, rotated by the group's hash so that groups start at different instances.
 */
export function chooseActiveMembers(groupId: string, members: readonly MemberInfo[], count: number): string[] {
  const instances = [...new Set(members.map((member) => member.instance))].sort();
  if (instances.length === 0) return [];
  const first = hashOf(groupId) % instances.length;
  const rank = (instance: string) => (instances.indexOf(instance) - first + instances.length) % instances.length;
  const held = (member: MemberInfo) => member.ownedSince ?? -Infinity;
  return [...members]
    .sort(
      (a, b) =>
        held(b) - held(a) || rank(a.instance) - rank(b.instance) || (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0),
    )
    .slice(0, Math.max(1, count))
    .map((member) => member.memberId);
}

/** Spreads partitions round robin over the chosen members, in that order. */
export function spreadPartitions(
  chosen: readonly string[],
  partitions: readonly { readonly topic: string; readonly partition: number }[],
): Map<string, Record<string, number[]>> {
  const assignment = new Map<string, Record<string, number[]>>(chosen.map((memberId) => [memberId, {}]));
  partitions.forEach(({ topic, partition }, index) => {
    const topics = assignment.get(chosen[index % chosen.length]!)!;
    topics[topic] ??= [];
    topics[topic].push(partition);
  });
  return assignment;
}

function decodeMember(member: GroupMember): MemberInfo {
  const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
  let instance = member.memberId;
  let ownedSince: number | undefined;
  try {
    const declared = JSON.parse(metadata?.userData?.toString('utf8') || '{}') as { instance?: unknown; ownedSince?: unknown };
    if (typeof declared.instance === 'string' && declared.instance !== '') instance = declared.instance;
    if (typeof declared.ownedSince === 'number' && Number.isFinite(declared.ownedSince)) ownedSince = declared.ownedSince;
  } catch {
    // A member that says nothing ranks as an instance of its own, holding nothing.
  }
  return { memberId: member.memberId, instance, ...(ownedSince === undefined ? {} : { ownedSince }) };
}

/**
 * The kafkajs assigner: `count` active members per group, this member declaring `instance` and,
 * while it holds partitions of the group, since when (`ownedSince`).
 */
export function activeMembersAssigner(
  instance: string,
  count: number,
  ownedSince: () => number | undefined = () => undefined,
): PartitionAssigner {
  return ({ cluster, groupId }): Assigner => ({
    name: ASSIGNER_NAME,
    version: 0,
    async assign({ members, topics }) {
      const chosen = chooseActiveMembers(groupId, members.map(decodeMember), count);
      const partitions = topics.flatMap((topic) =>
        cluster.findTopicPartitionMetadata(topic).map(({ partitionId }) => ({ topic, partition: partitionId })),
      );
      // Standby members get an empty assignment: they stay in the group, heartbeat, and fetch nothing.
      const assignment = spreadPartitions(chosen, partitions);
      return members.map(({ memberId }) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: assignment.get(memberId) ?? {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: ASSIGNER_NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 0,
          topics,
          userData: Buffer.from(JSON.stringify({ instance, ownedSince: ownedSince() })),
        }),
      };
    },
  });
}
