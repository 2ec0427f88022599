/** The services whose data is sharded: each owns its databases, one per shard, and its slot map. */
export const SHARDED_SERVICES = ['order', 'stock', 'payment'] as const;
export type ShardedService = (typeof SHARDED_SERVICES)[number];

/** The services that take part in a checkout's two-phase commit; the order service coordinates. */
export type ParticipantService = Exclude<ShardedService, 'order'>;
