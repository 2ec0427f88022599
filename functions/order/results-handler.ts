import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { decodeOrPark } from '../../layers/kafka/dead-letters';
import { kafkaHandler } from '../../layers/kafka/kafka-handler';
import { type Outbox, sendOutbox } from '../../layers/kafka/producer';
import { decodeResults, isMalformed } from '../../layers/twopc/messages';
import { applyResultsWhereOwned, queueDecisionsTogether, queueInstructions } from '../../layers/coordinator/decision-sends';
import { heldCommits } from '../../layers/coordinator/held-commits';
import { describe, logger } from '../../layers/logging/logger';

const config = serviceConfig();
const commitsHeldBack = heldCommits();

/** A result whose shard does not know its transaction is routed by a newer order map at most this many times. */
const REROUTES = 3;

/**
 * The coordinator's Kafka handler for votes and acknowledgements: each order shard's share of
 * the batch is applied in one local transaction (decisions written before they are sent), then
 * the batch's rollbacks go out in one request; its commits are held back a moment, to go out
 * with the next ones to the same participants in one record each (`HeldCommits`).
 *
 * A shard that does not know a result's transaction may have handed the order's slot on, or this
 * container's map may be older than the checkout's: such results follow newer maps
 * (`applyResultsWhereOwned`).
 */
export const handler = kafkaHandler(config.secretPrefix, { order: config.shards.order }, async (records, databases) => {
  const orders = required(databases, 'order');
  const outbox: Outbox = new Map();
  const results = decodeOrPark(outbox, records, (record) => decodeResults(record.value), isMalformed).flat();
  const { sends, violations, unknown } = await applyResultsWhereOwned(orders, results, REROUTES);
  commitsHeldBack.hold(sends.filter((decision) => decision.kind === 'commit'));
  queueInstructions(
    outbox,
    sends.filter((decision) => decision.kind !== 'commit'),
  );
  for (const violation of violations) logger.error('protocol violation', { violation });
  for (const result of unknown) logger.error('result for an unknown transaction', { txnId: result.txnId, result });
  await sendOutbox(config.kafka, outbox);
  commitsHeldBack.sendLater(
    (commits) => {
      const held: Outbox = new Map();
      queueDecisionsTogether(held, commits);
      return sendOutbox(config.kafka, held);
    },
    (error) => logger.warn('commits left to the resolver for now', { error: describe(error) }),
  );
});
