import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import type { ShardSet } from '../../layers/db/shards';
import { decodeByShard } from '../../layers/kafka/dead-letters';
import { kafkaHandler } from '../../layers/kafka/kafka-handler';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { decodeResult, isMalformed, type Result } from '../../layers/twopc/messages';
import { applyResults, queueInstructions } from '../../layers/coordinator/coordination';
import { logger } from '../../layers/logging/logger';
import { groupByShard } from '../../layers/sharding/shard';

const config = serviceConfig();

/** A result whose shard does not know its transaction is routed by a newer order map at most this many times. */
const REROUTES = 3;

/**
 * The coordinator's Kafka handler for votes and acknowledgements: each order shard's share of
 * the batch is applied in one local transaction (decisions written before they are sent), then
 * every decision of the batch goes out in one request.
 *
 * A shard that does not know a result's transaction may have handed the order's slot on (the
 * transaction moved with it, `moveSlot`): such results are applied where a newer map routes them.
 */
export const handler = kafkaHandler(config.secretPrefix, { order: config.shards.order }, async (records, databases) => {
  let orders = required(databases, 'order');
  const outbox: Outbox = new Map();
  const byShard = decodeByShard(
    outbox,
    records,
    (record) => {
      const result = decodeResult(record.value);
      return { value: result, shard: orders.ownerOf(result.orderId) };
    },
    isMalformed,
  );
  let unknown = await applyByShard(orders, outbox, new Map([...byShard].map(([shard, { values }]) => [shard, values])));
  for (let reroute = 1; unknown.length > 0 && reroute <= REROUTES; reroute++) {
    const newer = await orders.newer();
    const moved = unknown.filter((result) => newer.ownerOf(result.orderId) !== orders.ownerOf(result.orderId));
    if (moved.length === 0) break;
    unknown = [...unknown.filter((result) => !moved.includes(result)), ...(await applyByShard(newer, outbox, groupByShard(moved, (result) => result.orderId, newer.ownerOf)))];
    orders = newer;
  }
  for (const result of unknown) logger.error('result for an unknown transaction', { txnId: result.txnId, result });
  await sendOutbox(config.kafka, outbox);
});

/** Applies each shard's results, queues the decisions they lead to, and returns the results whose transaction the shard does not know. */
async function applyByShard(orders: ShardSet, outbox: Outbox, byShard: ReadonlyMap<number, readonly Result[]>): Promise<Result[]> {
  const applied = await Promise.all([...byShard].map(([shard, results]) => applyResults(orders.at(shard), results)));
  const unknown: Result[] = [];
  for (const { sends, violations, unknown: notFound } of applied) {
    queueInstructions(outbox, sends);
    for (const violation of violations) logger.error('protocol violation', { violation });
    unknown.push(...notFound);
  }
  return unknown;
}
