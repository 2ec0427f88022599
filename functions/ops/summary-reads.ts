/**
 * Reads what the live view's summary is made of, each part within its time bound and named in
 * `errors` when it fails; `summarise.ts` makes the summary of it.
 */
import type { Admin, Kafka } from 'kafkajs';
import { readCheckoutStats } from '../../layers/coordinator/checkout-stats';
import type { ShardSet } from '../../layers/db/shards';
import { slotsOwnedBy } from '../../layers/sharding/slots';
import { readCoordinatorShard } from './coordinator-view';
import {
  DEAD_LETTER_READER,
  type DeadLetter,
  deadLetterRanges,
  listConsumerGroups,
  readConsumerLag,
  readGroupHolders,
  readLatestDeadLetters,
} from './kafka-view';
import { localInstances } from './local-instances';
import { type Replication, readReplication } from './replication-view';
import { decidedLongAgo, type ParticipantShardFigures, readParticipantShard } from './participant-view';
import { type CoordinatorRead, DECISION_GRACE_MS, LISTED, type OpsSummary, type ParticipantRead, summarise } from './summarise';
import { logger } from '../../layers/logging/logger';

export type { OpsSummary } from './summarise';

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
/** How long a participant shard's figures are kept: summing its balances reads its whole table. */
const SHARD_FIGURES_MAX_AGE_MS = 10_000;

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

/** Kept between invocations of one container: what is slow to read is read now and then. */
class SlowReads {
  private readonly shardFigures = new Map<string, { at: number; figures: Promise<ParticipantShardFigures> }>();
  private deadLetters: { count: number; letters: Promise<DeadLetter[]> } | undefined;

  async figures(
    name: string,
    read: () => Promise<ParticipantShardFigures>,
    now: number,
  ): Promise<{ at: number; figures: ParticipantShardFigures }> {
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
  const coordinatorReads = deps.orders.indexes.map(async (shard): Promise<CoordinatorRead> => {
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
    return shards.indexes.map(async (shard): Promise<ParticipantRead> => {
      const name = `${service}-${shard}`;
      const slots = slotsOwnedBy(shards.map, shard).length;
      try {
        const { at, figures } = await within(
          name,
          slow.figures(name, () => readParticipantShard(shards.at(shard), service), now),
        );
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
      const latest = slow.latestDeadLetters(dead.count, () =>
        readLatestDeadLetters(deps.kafka.client, deps.kafka.groupPrefix, dead.ranges, LISTED),
      );
      if (latest.error) errors.push(`dead letters: ${latest.error}`);
      return { lag, holders, deadLetters: { count: dead.count, latest: latest.letters, ...(latest.error ? { error: latest.error } : {}) } };
    } catch (error) {
      errors.push(`kafka: ${describe(error)}`);
      return { lag: null, holders: null, deadLetters: { count: null, latest: [], error: describe(error) } };
    }
  })();

  // Errors of their own would repeat the shard's: a shard that cannot be read shows no replication.
  const replicationReads = (['order', 'stock', 'payment'] as const).flatMap((service) => {
    const shards = deps[service === 'order' ? 'orders' : service];
    return shards.indexes.map(async (shard) => {
      const replication = await within(`${service}-${shard}`, readReplication(shards.at(shard))).catch(() => undefined);
      return [`${service}-${shard}` as string, replication] as const;
    });
  });

  const [coordinators, participants, kafka, replicationRead] = await Promise.all([
    Promise.all(coordinatorReads),
    Promise.all(participantReads),
    kafkaRead,
    Promise.all(replicationReads),
  ]);
  const replication = new Map(replicationRead.filter((read): read is readonly [string, Replication] => read[1] !== undefined));

  // A participant disagrees with its coordinators when it still holds prepared a transaction they decided long ago.
  const prepared = participants.flatMap((participant) => ('figures' in participant ? participant.figures!.prepared : []));
  const stale = new Set<string>();
  await Promise.all(
    deps.orders.indexes.map(async (shard) => {
      const sql = deps.orders.at(shard);
      try {
        for (const txnId of await within(`order-${shard}`, decidedLongAgo(sql, { txnIds: prepared, graceMs: DECISION_GRACE_MS })))
          stale.add(txnId);
      } catch (error) {
        errors.push(`order-${shard}: ${describe(error)}`);
      }
    }),
  );

  for (const error of errors) logger.warn('ops summary part unreadable', { error });
  return summarise({
    now,
    coordinators,
    participants,
    kafka: { deadLetters: kafka.deadLetters, consumerLag: kafka.lag, consumerGroups: kafka.holders },
    stale,
    maps: { order: deps.orders.map, stock: deps.stock.map, payment: deps.payment.map },
    instances: localInstances(deps.pidDir),
    replication,
    errors,
  });
}
