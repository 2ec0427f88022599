import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { decodeByShard } from '../../layers/kafka/dead-letters';
import { kafkaHandler } from '../../layers/kafka/kafka-handler';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { decodeResult, isMalformed } from '../../layers/twopc/messages';
import { applyResults, queueInstructions } from '../../layers/coordinator/coordination';
import { logger } from '../../layers/logging/logger';

const config = serviceConfig();

/**
 * The coordinator's Kafka handler for votes and acknowledgements: each order shard's share of
 * the batch is applied in one local transaction (decisions written before they are sent), then
 * every decision of the batch goes out in one request.
 */
export const handler = kafkaHandler(config.secretPrefix, { order: config.shards.order }, async (records, databases) => {
  const orders = required(databases, 'order');
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
  const applied = await Promise.all([...byShard].map(([shard, { values }]) => applyResults(orders.at(shard), values)));
  for (const { sends, violations, unknown } of applied) {
    queueInstructions(outbox, sends);
    for (const violation of violations) logger.error('protocol violation', { violation });
    for (const result of unknown) logger.error('result for an unknown transaction', { txnId: result.txnId, result });
  }
  await sendOutbox(config.kafka, outbox);
});
