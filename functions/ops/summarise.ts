/**
 * The live view's summary made of what `summary-reads.ts` read: pure, so that every rule of how
 * the shards' figures add up (totals, the per-second series, the oldest undecided and
 * unacknowledged transactions, whether a participant agrees with its coordinators) is tested
 * without a stack.
 */
import { type CheckoutSecond, mergeSeconds, type readCheckoutStats } from '../../layers/coordinator/checkout-stats';
import { type SlotMap, slotsOwnedBy } from '../../layers/sharding/slots';
import type { readCoordinatorShard, Unacknowledged, Undecided } from './coordinator-view';
import type { ConsumerGroup, DeadLetter, PartitionLag } from './kafka-view';
import { percentileMs } from './latency';
import type { FunctionInstance } from './local-instances';
import type { ParticipantShardFigures } from './participant-view';
import type { Replication } from './replication-view';
import type { ParticipantService, ShardedService } from '../../layers/config/services';

/** How many undecided and unacknowledged transactions, and dead letters, are listed. */
export const LISTED = 10;
/** How long a decision may be on its way to a participant before the shard counts as disagreeing. */
export const DECISION_GRACE_MS = 20_000;

export interface SecondFigures {
  readonly at: number;
  readonly committed: number;
  readonly refused: number;
  readonly aborted: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface ShardSummary {
  readonly name: string;
  readonly service: ShardedService;
  readonly up: boolean;
  readonly error?: string;
  /** order shards: transactions undecided and unacknowledged here */
  readonly inFlight?: number;
  readonly unacknowledged?: number;
  /** stock and payment shards: rows, free and held balances, as of `figuresAt` */
  readonly rows?: number;
  readonly free?: string;
  readonly held?: string;
  readonly figuresAt?: number;
  /** the hash slots the slot map gives it */
  readonly slots?: number;
  /** what its primary says of its standbys, when that could be read */
  readonly replication?: Replication;
  /** Whether the shard agrees with its coordinators: what it holds is what its prepared transactions hold, and none of those was decided long ago. */
  readonly agrees?: boolean;
  readonly disagreements?: string[];
}

export interface SlotMapSummary {
  readonly version: number;
  readonly slotCount: number;
  readonly retired: readonly string[];
  readonly pending: { readonly kind: 'add' | 'remove'; readonly shard: string } | null;
}

export interface OpsSummary {
  readonly at: number;
  readonly committed: number;
  readonly refused: number;
  readonly aborted: number;
  readonly perSecond: SecondFigures[];
  readonly inFlight: number;
  readonly oldestUndecidedMs: number | null;
  readonly undecided: Undecided[];
  readonly unacknowledged: number;
  readonly oldestUnacknowledged: Unacknowledged[];
  readonly deadLetters: { readonly count: number | null; readonly latest: DeadLetter[]; readonly error?: string };
  readonly consumerLag: PartitionLag[] | null;
  /** Each consumer group's holders: which instance does its work (the others stand by). */
  readonly consumerGroups: ConsumerGroup[] | null;
  readonly shards: ShardSummary[];
  /** The stock and payment slot maps: version, slot count, retired shards, and the shard being added or removed, if one is. */
  readonly slotMaps: Record<ShardedService, SlotMapSummary>;
  readonly instances: FunctionInstance[] | null;
  /** What could not be read this time, each naming the part; the rest of the summary stands. */
  readonly errors: string[];
}

/** One order shard as read: its checkout figures and its part of the 2PC log, or why it could not be read. */
export type CoordinatorRead =
  | {
      readonly shard: number;
      readonly stats: Awaited<ReturnType<typeof readCheckoutStats>>;
      readonly view: Awaited<ReturnType<typeof readCoordinatorShard>>;
    }
  | { readonly shard: number; readonly error: string };

/** One stock or payment shard as read (its figures as of `figuresAt`), or why it could not be read. */
export type ParticipantRead =
  | {
      readonly name: string;
      readonly service: ParticipantService;
      readonly slots: number;
      readonly figures: ParticipantShardFigures;
      readonly figuresAt: number;
    }
  | { readonly name: string; readonly service: ParticipantService; readonly slots: number; readonly error: string };

/** Everything one summary is made of. */
export interface SummaryReads {
  readonly now: number;
  readonly coordinators: readonly CoordinatorRead[];
  readonly participants: readonly ParticipantRead[];
  readonly kafka: Pick<OpsSummary, 'deadLetters' | 'consumerLag' | 'consumerGroups'>;
  /** Transactions some participant still holds prepared that their coordinator decided over `DECISION_GRACE_MS` ago. */
  readonly stale: ReadonlySet<string>;
  readonly maps: Readonly<Record<ShardedService, SlotMap>>;
  readonly instances: FunctionInstance[] | null;
  /** Each shard's replication, by name (`order-0`), where it could be read. */
  readonly replication: ReadonlyMap<string, Replication>;
  readonly errors: readonly string[];
}

const figuresOf = (second: CheckoutSecond): SecondFigures => ({
  at: second.at,
  committed: second.committed,
  refused: second.refused,
  aborted: second.aborted,
  p50Ms: percentileMs(second.latency, 0.5),
  p99Ms: percentileMs(second.latency, 0.99),
});

export function summarise({
  now,
  coordinators,
  participants,
  kafka,
  stale,
  maps,
  instances,
  replication,
  errors,
}: SummaryReads): OpsSummary {
  const totals = { committed: 0, refused: 0, aborted: 0 };
  const seconds: CheckoutSecond[] = [];
  const undecided: Undecided[] = [];
  const unacknowledged: Unacknowledged[] = [];
  let inFlight = 0;
  let unacknowledgedCount = 0;
  const shards: ShardSummary[] = [];
  for (const read of coordinators) {
    const name = `order-${read.shard}`;
    if ('error' in read) {
      shards.push({ name, service: 'order', up: false, error: read.error, slots: slotsOwnedBy(maps.order, read.shard).length });
      continue;
    }
    totals.committed += read.stats.totals.committed;
    totals.refused += read.stats.totals.refused;
    totals.aborted += read.stats.totals.aborted;
    seconds.push(...read.stats.seconds);
    undecided.push(...read.view.undecided);
    unacknowledged.push(...read.view.oldestUnacknowledged);
    inFlight += read.view.inFlight;
    unacknowledgedCount += read.view.unacknowledged;
    shards.push({
      name,
      service: 'order',
      up: true,
      slots: slotsOwnedBy(maps.order, read.shard).length,
      inFlight: read.view.inFlight,
      unacknowledged: read.view.unacknowledged,
    });
  }
  for (const read of participants) {
    if ('error' in read) {
      shards.push({ name: read.name, service: read.service, up: false, error: read.error, slots: read.slots });
      continue;
    }
    const { rows, free, held, heldByPrepared } = read.figures;
    const disagreements = [
      ...(held === heldByPrepared ? [] : [`holds ${held} in its rows, but its prepared transactions hold ${heldByPrepared}`]),
      ...read.figures.prepared
        .filter((txnId) => stale.has(txnId))
        .map((txnId) => `still holds ${txnId}, decided over ${DECISION_GRACE_MS / 1000} s ago`),
    ];
    const { figuresAt } = read;
    shards.push({
      name: read.name,
      service: read.service,
      up: true,
      rows,
      free,
      held,
      figuresAt,
      slots: read.slots,
      agrees: disagreements.length === 0,
      disagreements,
    });
  }

  undecided.sort((a, b) => b.ageMs - a.ageMs);
  unacknowledged.sort((a, b) => b.decidedAgoMs - a.decidedAgoMs);
  return {
    at: now,
    ...totals,
    perSecond: mergeSeconds(seconds).map(figuresOf),
    inFlight,
    oldestUndecidedMs: undecided[0]?.ageMs ?? null,
    undecided: undecided.slice(0, LISTED),
    unacknowledged: unacknowledgedCount,
    oldestUnacknowledged: unacknowledged.slice(0, LISTED),
    ...kafka,
    shards: shards.map((shard) => (replication.has(shard.name) ? { ...shard, replication: replication.get(shard.name) } : shard)),
    slotMaps: {
      order: slotMapSummary('order', maps.order),
      stock: slotMapSummary('stock', maps.stock),
      payment: slotMapSummary('payment', maps.payment),
    },
    instances,
    errors: [...errors],
  };
}

function slotMapSummary(service: ShardedService, map: SlotMap): SlotMapSummary {
  return {
    version: map.version,
    slotCount: map.slotCount,
    retired: map.retired.map((shard) => `${service}-${shard}`),
    pending: map.pending ? { kind: map.pending.kind, shard: `${service}-${map.pending.shard}` } : null,
  };
}
