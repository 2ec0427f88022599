import type { Admin, Kafka } from 'kafkajs';
import { type CheckoutSecond, mergeSeconds, readCheckoutStats } from '../../layers/coordinator/checkout-stats';
import type { ShardSet } from '../../layers/db/shards';
import { type SlotMap, slotsOwnedBy } from '../../layers/sharding/slots';
import { type Unacknowledged, type Undecided, readCoordinatorShard } from './coordinator-view';
import { type ConsumerGroup, DEAD_LETTER_READER, type DeadLetter, deadLetterRanges, listConsumerGroups, type PartitionLag, readConsumerLag, readGroupHolders, readLatestDeadLetters } from './kafka-view';
import { percentileMs } from './latency';
import { type FunctionInstance, localInstances } from './local-instances';
import { decidedLongAgo, type ParticipantShardFigures, readParticipantShard } from './participant-view';
import { logger } from '../../layers/logging/logger';

export interface OpsDeps {
  readonly orders: ShardSet;
  readonly stock: ShardSet;
  readonly payment: ShardSet;
  readonly kafka: { readonly client: Kafka; admin(): Promise<Admin>; readonly groupPrefix: string };
  /** The local stack's pid folder; undefined on AWS. */
  readonly pidDir: string | undefined;
}

/** How far back the per-second series goes. */
export const SERIES_WINDOW_MS = 5 * 60_000;
/** How many undecided and unacknowledged transactions, and dead letters, are listed. */
const LISTED = 10;
/** How long a participant shard's figures are kept: summing its balances reads its whole table. */
const SHARD_FIGURES_MAX_AGE_MS = 10_000;
/** How long a decision may be on its way to a participant before the shard counts as disagreeing. */
const DECISION_GRACE_MS = 20_000;

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
  readonly service: 'order' | 'stock' | 'payment';
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
  readonly slotMaps: Record<'order' | 'stock' | 'payment', SlotMapSummary>;
  readonly instances: FunctionInstance[] | null;
  /** What could not be read this time, each naming the part; the rest of the summary stands. */
  readonly errors: string[];
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** How long one part of the summary may take: a shard or broker that hangs (frozen, cut off) is named in `errors`, the rest is served. */
const PART_TIMEOUT_MS = 1_500;

function within<T>(what: string, work: Promise<T>, ms = PART_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const figuresOf = (second: CheckoutSecond): SecondFigures => ({
  at: second.at,
  committed: second.committed,
  refused: second.refused,
  aborted: second.aborted,
  p50Ms: percentileMs(second.latency, 0.5),
  p99Ms: percentileMs(second.latency, 0.99),
});

/** Kept between invocations of one container: what is slow to read is read now and then. */
class SlowReads {
  private readonly shardFigures = new Map<string, { at: number; figures: Promise<ParticipantShardFigures> }>();
  private deadLetters: { count: number; letters: Promise<DeadLetter[]> } | undefined;

  async figures(name: string, read: () => Promise<ParticipantShardFigures>, now: number): Promise<{ at: number; figures: ParticipantShardFigures }> {
    let kept = this.shardFigures.get(name);
    if (!kept || now - kept.at >= SHARD_FIGURES_MAX_AGE_MS) {
      const figures = read();
      kept = { at: now, figures };
      this.shardFigures.set(name, kept);
      figures.catch(() => this.shardFigures.delete(name));
    }
    return { at: kept.at, figures: await kept.figures };
  }

  private latestRead: DeadLetter[] = [];
  private lastError: string | undefined;

  /**
   * The latest dead letters, read again only when their count has changed. Reading takes a
   * consumer's join (seconds), so a summary does not wait for it: it shows the last list read,
   * and the new one once it is in.
   */
  latestDeadLetters(count: number, read: () => Promise<DeadLetter[]>): { letters: DeadLetter[]; error?: string } {
    if (this.deadLetters?.count !== count) {
      const letters = read();
      this.deadLetters = { count, letters };
      letters.then(
        (list) => (this.latestRead = list),
        (error: unknown) => {
          this.deadLetters = undefined;
          this.lastError = describe(error);
        },
      );
    }
    const error = this.lastError;
    this.lastError = undefined;
    return { letters: this.latestRead, ...(error ? { error } : {}) };
  }
}

const slow = new SlowReads();

/** The summary of the running shop (`GET /ops/summary`); every part that fails is named in `errors`, the others stand. */
export async function opsSummary(deps: OpsDeps, now = Date.now()): Promise<OpsSummary> {
  const errors: string[] = [];
  const coordinatorReads = deps.orders.indexes.map(async (shard) => {
    const sql = deps.orders.at(shard);
    try {
      const [stats, view] = await within(
        `order-${shard}`,
        Promise.all([readCheckoutStats(sql, { sinceMs: SERIES_WINDOW_MS }), readCoordinatorShard(sql, { listed: LISTED })]),
      );
      return { shard, stats, view };
    } catch (error) {
      errors.push(`order-${shard}: ${describe(error)}`);
      return { shard, error: describe(error) };
    }
  });

  const participantReads = (['stock', 'payment'] as const).flatMap((service) => {
    const shards = service === 'stock' ? deps.stock : deps.payment;
    return shards.indexes.map(async (shard) => {
      const name = `${service}-${shard}`;
      const slots = slotsOwnedBy(shards.map, shard).length;
      try {
        const { at, figures } = await within(name, slow.figures(name, () => readParticipantShard(shards.at(shard), service), now));
        return { name, service, slots, figures, figuresAt: at };
      } catch (error) {
        errors.push(`${name}: ${describe(error)}`);
        return { name, service, slots, error: describe(error) };
      }
    });
  });

  const kafkaRead = (async () => {
    try {
      const [lag, holders, dead] = await within(
        'Kafka',
        (async () => {
          const admin = await deps.kafka.admin();
          const groups = (await listConsumerGroups(admin)).filter((group) => !group.includes(DEAD_LETTER_READER));
          return Promise.all([readConsumerLag(admin, groups), readGroupHolders(admin, groups), deadLetterRanges(admin)]);
        })(),
      );
      const latest = slow.latestDeadLetters(dead.count, () => readLatestDeadLetters(deps.kafka.client, deps.kafka.groupPrefix, dead.ranges, LISTED));
      if (latest.error) errors.push(`dead letters: ${latest.error}`);
      return { lag, holders, deadLetters: { count: dead.count, latest: latest.letters, ...(latest.error ? { error: latest.error } : {}) } };
    } catch (error) {
      errors.push(`kafka: ${describe(error)}`);
      return { lag: null, holders: null, deadLetters: { count: null, latest: [], error: describe(error) } };
    }
  })();

  const [coordinators, participants, kafka] = await Promise.all([Promise.all(coordinatorReads), Promise.all(participantReads), kafkaRead]);

  // A participant disagrees with its coordinators when it still holds prepared a transaction they decided long ago.
  const prepared = participants.flatMap((participant) => ('figures' in participant ? participant.figures!.prepared : []));
  const stale = new Set<string>();
  await Promise.all(
    deps.orders.indexes.map(async (shard) => {
      const sql = deps.orders.at(shard);
      try {
        for (const txnId of await within(`order-${shard}`, decidedLongAgo(sql, { txnIds: prepared, graceMs: DECISION_GRACE_MS }))) stale.add(txnId);
      } catch (error) {
        errors.push(`order-${shard}: ${describe(error)}`);
      }
    }),
  );

  const totals = { committed: 0, refused: 0, aborted: 0 };
  const seconds: CheckoutSecond[] = [];
  const undecided: Undecided[] = [];
  const unacknowledged: Unacknowledged[] = [];
  let inFlight = 0;
  let unacknowledgedCount = 0;
  const shards: ShardSummary[] = [];
  for (const read of coordinators) {
    const name = `order-${read.shard}`;
    if (!('view' in read) || !read.view || !read.stats) {
      shards.push({ name, service: 'order', up: false, error: read.error ?? 'unreadable', slots: slotsOwnedBy(deps.orders.map, read.shard).length });
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
    shards.push({ name, service: 'order', up: true, slots: slotsOwnedBy(deps.orders.map, read.shard).length, inFlight: read.view.inFlight, unacknowledged: read.view.unacknowledged });
  }
  for (const read of participants) {
    if (!('figures' in read) || !read.figures) {
      shards.push({ name: read.name, service: read.service, up: false, error: read.error ?? 'unreadable', slots: read.slots });
      continue;
    }
    const { rows, free, held, heldByPrepared } = read.figures;
    const disagreements = [
      ...(held === heldByPrepared ? [] : [`holds ${held} in its rows, but its prepared transactions hold ${heldByPrepared}`]),
      ...read.figures.prepared.filter((txnId) => stale.has(txnId)).map((txnId) => `still holds ${txnId}, decided over ${DECISION_GRACE_MS / 1000} s ago`),
    ];
    const figuresAt = read.figuresAt!;
    shards.push({ name: read.name, service: read.service, up: true, rows, free, held, figuresAt, slots: read.slots, agrees: disagreements.length === 0, disagreements });
  }

  for (const error of errors) logger.warn('ops summary part unreadable', { error });
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
    deadLetters: kafka.deadLetters,
    consumerLag: kafka.lag,
    consumerGroups: kafka.holders,
    shards,
    slotMaps: { order: slotMapSummary('order', deps.orders.map), stock: slotMapSummary('stock', deps.stock.map), payment: slotMapSummary('payment', deps.payment.map) },
    instances: localInstances(deps.pidDir),
    errors,
  };
}

function slotMapSummary(service: 'order' | 'stock' | 'payment', map: SlotMap): SlotMapSummary {
  return {
    version: map.version,
    slotCount: map.slotCount,
    retired: map.retired.map((shard) => `${service}-${shard}`),
    pending: map.pending ? { kind: map.pending.kind, shard: `${service}-${map.pending.shard}` } : null,
  };
}
