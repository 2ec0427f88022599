/**
 * The checkout's ports bound to the real things: the order's shard in PostgreSQL (by the order
 * map the use case's route names), Kafka, the shard's decision announcements, the slot maps.
 */
import { randomUUID } from 'node:crypto';
import type { ShardSet } from '../../layers/db/shards';
import type { SlotMapCache } from '../../layers/db/slot-map-cache';
import type { KafkaConnection } from '../../layers/config/kafka';
import type { ClaimOrRead } from '../../layers/coordinator/claims-per-turn';
import type { DecisionWaiter } from '../../layers/coordinator/decision-waiter';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { describe, logger } from '../../layers/logging/logger';
import { abortIfUndecided, queueInstructions } from '../../layers/coordinator/decision-sends';
import { readTransaction } from '../../layers/coordinator/transactions';
import { announcementOf } from '../../layers/coordinator/announcements';
import { type LearnedMaps, readLearnedMaps } from '../../layers/coordinator/learned-maps';
import type { ParticipantService } from '../../layers/config/services';
import type { ParticipantMaps } from '../../layers/twopc/routing';
import type { CheckoutPorts } from './checkout-use-case';

export interface CheckoutDeps {
  readonly orders: ShardSet;
  /** The participants' slot maps (Secrets Manager, kept a few seconds). */
  readonly slotMaps: SlotMapCache;
  readonly kafka: KafkaConnection;
  readonly waiter: DecisionWaiter;
  /** how long a transaction may stay undecided before it is aborted */
  readonly timeoutMs: number;
  /** reads an order and claims it if it is free (`claimsPerTurn`) */
  readonly claimOrRead: ClaimOrRead;
}

export function checkoutPorts(deps: CheckoutDeps, orderId: string): CheckoutPorts<ShardSet> {
  const shardOf = (orders: ShardSet) => orders.forId(orderId);
  const read = (orders: ShardSet, txnId: string) => readTransaction(shardOf(orders), txnId);
  const send = (instructions: Parameters<typeof queueInstructions>[1]) => {
    const outbox: Outbox = new Map();
    queueInstructions(outbox, instructions);
    return sendOutbox(deps.kafka, outbox);
  };
  // A participant that refused a key as moved left its own map on the order's shard: newer than
  // the published one while a mover holds maps back, or died before publishing them.
  const newerMaps = async (orders: ShardSet, used: ParticipantMaps): Promise<ParticipantMaps> => {
    const learned = await readLearnedMaps(shardOf(orders)).catch((): LearnedMaps => ({}));
    const newer = async (service: ParticipantService) => {
      const published = await deps.slotMaps.newerThan(service, used[service].version);
      const copy = learned[service];
      return copy && copy.version > published.version ? deps.slotMaps.learned(service, copy) : published;
    };
    return { stock: await newer('stock'), payment: await newer('payment') };
  };
  return {
    routing: {
      current: async () => ({
        orders: deps.orders,
        maps: { stock: await deps.slotMaps.current('stock'), payment: await deps.slotMaps.current('payment') },
      }),
      newer: async (route, moved) =>
        moved === 'order'
          ? { ...route, orders: await route.orders.newer() }
          : { ...route, maps: await newerMaps(route.orders, route.maps) },
    },
    log: {
      claimOrRead: (orders, id, txnId, maps) => deps.claimOrRead(shardOf(orders), { orderId: id, txnId, slot: orders.slotOf(id), maps }),
      read,
      abortIfUndecided: async (orders, txnId) => {
        const { sends, settled } = await abortIfUndecided(shardOf(orders), [txnId]);
        return { settled: settled.get(txnId), rollbacks: sends };
      },
    },
    outbox: { send },
    decisions: {
      until: (orders, txnId, timeoutMs, stage, options) =>
        deps.waiter.untilReached(
          shardOf(orders),
          txnId,
          timeoutMs,
          stage,
          async () => {
            const txn = await read(orders, txnId);
            return txn ? announcementOf(txn) : 'gone';
          },
          options,
        ),
    },
    newTxnId: randomUUID,
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    report: (message, { error, ...fields }) => logger.error(message, { orderId, ...fields, error: describe(error) }),
  };
}
