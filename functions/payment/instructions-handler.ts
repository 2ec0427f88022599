import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { kafkaHandler } from '../../layers/kafka/kafka-handler';
import { heldAcks } from '../../layers/participant/held-acks';
import { handleInstructions } from '../../layers/participant/participant-handler';
import { paymentLedger } from './ledger';

const config = serviceConfig();
const acksHeldBack = heldAcks();

/** The payment participant: applies Prepare / Commit / Rollback for its shards, replies on the results topic. */
export const handler = kafkaHandler(config.secretPrefix, { payment: config.shards.payment }, (records, databases) =>
  handleInstructions(records, {
    service: 'payment',
    shards: required(databases, 'payment'),
    kafka: config.kafka,
    heldAcks: acksHeldBack,
    newLedger: paymentLedger,
  }),
);
