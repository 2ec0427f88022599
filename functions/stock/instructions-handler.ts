import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { kafkaHandler } from '../../layers/kafka/kafka-handler';
import { heldAcks } from '../../layers/participant/held-acks';
import { handleInstructions } from '../../layers/participant/participant-handler';
import { stockLedger } from './ledger';

const config = serviceConfig();
const acksHeldBack = heldAcks();

/** The stock participant: applies Prepare / Commit / Rollback for its shards, replies on the results topic. */
export const handler = kafkaHandler(config.secretPrefix, { stock: config.shards.stock }, (records, databases) =>
  handleInstructions(records, {
    service: 'stock',
    shards: required(databases, 'stock'),
    kafka: config.kafka,
    heldAcks: acksHeldBack,
    newLedger: stockLedger,
  }),
);
